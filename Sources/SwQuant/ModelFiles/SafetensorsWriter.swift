/// Writes a safetensors file, tensor by tensor, atomically, in the two ways `GGUFWriter` offers
/// (`declareTensor` then `writeTensorData` in order, or `addTensor` with the data kept in a scratch
/// file until `commit()`). Tensors are laid out contiguously in the order added; the header is
/// compact JSON with `__metadata__` first, space-padded to a multiple of 8 as the reference writer pads it.
public final class SafetensorsWriter {
    public var path: String { stream.path }
    private let stream: _TensorDataStream
    private var metadata: [(key: String, value: String)] = []
    private var tensors: [(name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int)] = []
    private var names: Set<String> = ["__metadata__"]

    public init(path: String) throws(QuantError) {
        stream = try _TensorDataStream(path: path)
    }

    public func setMetadata(_ key: String, _ value: String) throws(QuantError) {
        try stream.checkMetadataIsOpen()
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
        try stream.checkDeclareIsAllowed()
        stream.declare(name, byteCount: try register(name, dtype, shape))
    }

    public func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws(QuantError) {
        try stream.writeNext(bytes, padding: 0, header: header)
    }

    public func addTensor(name: String, dtype: SafetensorsDType, shape: [Int], data: UnsafeRawBufferPointer) throws(QuantError) {
        try stream.checkAddIsAllowed()
        let needed = try register(name, dtype, shape)
        guard data.count == needed else {
            tensors.removeLast()
            names.remove(name)
            throw QuantError(.shape, "tensor \(name) needs \(needed) bytes, got \(data.count)")
        }
        try stream.spool(data, padding: 0)
    }

    public func commit() throws(QuantError) {
        try stream.commit(header: header)
    }

    /// The header: its length, then compact JSON space-padded to a multiple of 8.
    private func header() -> [UInt8] {
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
        return w.bytes
    }
}
