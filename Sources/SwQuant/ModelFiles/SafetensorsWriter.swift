/// Writes a safetensors file, tensor by tensor, atomically, in the two ways `GGUFWriter` offers
/// (`declareTensor` then `writeTensorData` in order, or `addTensor` with the data kept in a scratch
/// file until `commit()`). Tensors are laid out contiguously in the order added; the header is
/// compact JSON with `__metadata__` first, space-padded to a multiple of 8 as the reference writer pads it.
public final class SafetensorsWriter {
    public let path: String
    private let output: AtomicFile
    private var metadata: [(key: String, value: String)] = []
    private var tensors: [(name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int)] = []
    private var names: Set<String> = ["__metadata__"]
    private var spool: _SpoolFile?
    private var declared = false
    private var headerWritten = false
    private var nextToWrite = 0

    public init(path: String) throws(QuantError) {
        self.path = path
        output = try AtomicFile(path: path)
    }

    public func setMetadata(_ key: String, _ value: String) throws(QuantError) {
        guard !headerWritten else { throw QuantError(.invalidArgument, "metadata must be set before tensor data is written") }
        guard !metadata.contains(where: { $0.key == key }) else { throw QuantError(.invalidArgument, "duplicate metadata key \"\(key)\"") }
        metadata.append((key, value))
    }

    private func register(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int]) throws(QuantError) -> Int {
        guard !name.isEmpty, names.insert(name).inserted else {
            throw QuantError(.invalidArgument, "tensor name \"\(name)\" is empty, reserved or a duplicate")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { names.remove(name); throw QuantError(.shape, "tensor \(name) has a bad shape \(shape)") }
            elements = p
        }
        guard let bytes = dtype.byteCount(elements: elements) else {
            names.remove(name)
            throw QuantError(.shape, "tensor \(name): \(elements) values of \(dtype.rawValue) do not fill whole bytes")
        }
        tensors.append((name, dtype, shape, bytes))
        return bytes
    }

    public func declareTensor(name: String, dtype: SafetensorsDType, shape: [Int]) throws(QuantError) {
        guard spool == nil, !headerWritten else {
            throw QuantError(.invalidArgument, "declareTensor must come before any tensor data and is not mixed with addTensor")
        }
        _ = try register(name, dtype, shape)
        declared = true
    }

    public func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws(QuantError) {
        guard declared, nextToWrite < tensors.count else {
            throw QuantError(.invalidArgument, "every declared tensor's data is already written")
        }
        let tensor = tensors[nextToWrite]
        guard bytes.count == tensor.byteCount else {
            throw QuantError(.shape, "tensor \(tensor.name) needs \(tensor.byteCount) bytes, got \(bytes.count)")
        }
        if !headerWritten { try writeHeader() }
        try output.write(bytes)
        nextToWrite += 1
    }

    public func addTensor(name: String, dtype: SafetensorsDType, shape: [Int], data: UnsafeRawBufferPointer) throws(QuantError) {
        guard !declared else { throw QuantError(.invalidArgument, "addTensor is not mixed with declareTensor") }
        let needed = try register(name, dtype, shape)
        guard data.count == needed else {
            tensors.removeLast()
            names.remove(name)
            throw QuantError(.shape, "tensor \(name) needs \(needed) bytes, got \(data.count)")
        }
        if spool == nil { spool = try _SpoolFile(beside: path) }
        try spool!.write(data)
    }

    public func commit() throws(QuantError) {
        guard nextToWrite == tensors.count || !declared else {
            throw QuantError(.invalidArgument, "\(tensors.count - nextToWrite) declared tensors have no data yet")
        }
        if !headerWritten { try writeHeader() }
        try spool?.copy(to: output)
        try output.commit()
    }

    private func writeHeader() throws(QuantError) {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty { members.append(("__metadata__", .object(metadata.map { ($0.key, .string($0.value)) }))) }
        var offset: Int64 = 0
        for t in tensors {
            let end = offset + Int64(t.byteCount)
            members.append((t.name, .object([("dtype", .string(t.dtype.rawValue)),
                                             ("shape", .array(t.shape.map { .integer(Int64($0)) })),
                                             ("data_offsets", .array([.integer(offset), .integer(end)]))])))
            offset = end
        }
        var text = JSONWriter.text(.object(members))
        text += String(repeating: " ", count: (8 - text.utf8.count % 8) % 8)
        var w = _ByteWriter()
        w.integer(UInt64(text.utf8.count))
        w.append(Array(text.utf8))
        try output.write(w.bytes)
        headerWritten = true
    }
}
