/// Writes a GGUF v3 file, tensor by tensor, atomically (see `AtomicFile`): nothing appears at `path`
/// until `commit()` succeeds.
///
/// Two ways to add tensors, not to be mixed:
/// - `declareTensor` for every tensor, then `writeTensorData` for each in the same order: the header
///   is written before the first tensor's data, which goes straight to the file (the way for a
///   pipeline that knows its plan).
/// - `addTensor` with the data: the data waits in an unlinked scratch file beside the output until
///   `commit()` writes the header and copies it after.
/// Either way no more than one tensor is held in memory, and metadata must be set before the first
/// tensor data is written. Tensors are padded to the alignment (`general.alignment`, else 32), the
/// last one too, as ggml writes them.
public final class GGUFWriter {
    public var path: String { stream.path }
    private let stream: _TensorDataStream
    private var metadata: [(key: String, value: GGUFValue)] = []
    private var tensors: [(name: String, type: GGMLType, dims: [Int], byteCount: Int)] = []
    private var names = Set<String>()

    public init(path: String) throws(QuantError) {
        stream = try _TensorDataStream(path: path)
    }

    private var alignment: Int {
        if case .uint32(let value)? = metadata.first(where: { $0.key == "general.alignment" })?.value { return Int(value) }
        return 32
    }

    /// Adds a metadata key; throws for a duplicate key, after tensor data was written, or for a
    /// `general.alignment` that is not a UINT32 power of two.
    public func setMetadata(_ key: String, _ value: GGUFValue) throws(QuantError) {
        try stream.checkMetadataIsOpen()
        guard !metadata.contains(where: { $0.key == key }) else { throw QuantError(.invalidArgument, "duplicate metadata key \"\(key)\"") }
        if key == "general.alignment" {
            guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0 else {
                throw QuantError(.invalidArgument, "general.alignment must be a UINT32 power of two")
            }
        }
        try Self.checkElements(value, key: key)
        metadata.append((key, value))
    }

    /// Throws unless every element of every array has the array's element type.
    private static func checkElements(_ value: GGUFValue, key: String) throws(QuantError) {
        guard case .array(let elementType, let elements) = value else { return }
        for element in elements {
            guard element.type == elementType else {
                throw QuantError(.invalidArgument, "array \(key) of \(elementType.name) holds a \(element.type.name) value")
            }
            try checkElements(element, key: key)
        }
    }

    private func register(_ name: String, _ type: GGMLType, _ dims: [Int]) throws(QuantError) -> Int {
        guard !name.isEmpty, name.utf8.count <= 63 else {
            throw QuantError(.invalidArgument, "tensor names must have 1 to 63 bytes (ggml's limit), got \"\(name)\"")
        }
        guard names.insert(name).inserted else { throw QuantError(.invalidArgument, "duplicate tensor name \"\(name)\"") }
        guard (1...4).contains(dims.count), dims.allSatisfy({ $0 >= 0 }) else {
            names.remove(name)
            throw QuantError(.shape, "tensor \(name) needs 1 to 4 non-negative dimensions, got \(dims)")
        }
        let traits = type.traits
        let elements = dims.reduce(into: (value: 1, overflow: false)) { acc, d in
            let (p, o) = acc.value.multipliedReportingOverflow(by: d)
            acc = (p, acc.overflow || o)
        }
        guard !elements.overflow, dims[0] % traits.blockLength == 0 else {
            names.remove(name)
            throw QuantError(.shape, "tensor \(name) of \(traits.name) needs rows of whole blocks of \(traits.blockLength) values, got dims \(dims)")
        }
        let rows = dims[0] == 0 ? 0 : elements.value / dims[0]
        let (bytes, overflow) = (dims[0] / traits.blockLength * traits.blockBytes).multipliedReportingOverflow(by: rows)
        guard !overflow else { names.remove(name); throw QuantError(.overflow, "tensor \(name) is too large") }
        tensors.append((name, type, dims, bytes))
        return bytes
    }

    /// Declares the next tensor: name, type and dims in ggml order (`dims[0]` the row length).
    public func declareTensor(name: String, type: GGMLType, dims: [Int]) throws(QuantError) {
        try stream.checkDeclareIsAllowed()
        stream.declare(name, byteCount: try register(name, type, dims))
    }

    /// Writes the data of the next declared tensor (exactly its byte count).
    public func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws(QuantError) {
        try stream.writeNext(bytes, padding: padding(bytes.count), header: header)
    }

    /// Adds a tensor with its data (exactly the type's size for `dims`), kept in the scratch file
    /// until `commit()`.
    public func addTensor(name: String, type: GGMLType, dims: [Int], data: UnsafeRawBufferPointer) throws(QuantError) {
        try stream.checkAddIsAllowed()
        let needed = try register(name, type, dims)
        guard data.count == needed else {
            tensors.removeLast()
            names.remove(name)
            throw QuantError(.shape, "tensor \(name) needs \(needed) bytes, got \(data.count)")
        }
        try stream.spool(data, padding: padding(data.count))
    }

    /// Writes what is still due and renames the file into place.
    public func commit() throws(QuantError) {
        try stream.commit(header: header)
    }

    private func padding(_ count: Int) -> Int { (alignment - count % alignment) % alignment }

    /// The header: magic, version, counts, metadata, tensor infos, padding to the alignment.
    private func header() -> [UInt8] {
        var w = _ByteWriter()
        w.append(Array("GGUF".utf8))
        w.integer(UInt32(3))
        w.integer(Int64(tensors.count))
        w.integer(Int64(metadata.count))
        for (key, value) in metadata {
            Self.string(key, &w)
            w.integer(value.type.rawValue)
            Self.value(value, &w)
        }
        var offset = 0
        for tensor in tensors {
            Self.string(tensor.name, &w)
            w.integer(UInt32(tensor.dims.count))
            for d in tensor.dims { w.integer(Int64(d)) }
            w.integer(tensor.type.rawValue)
            w.integer(UInt64(offset))
            offset += tensor.byteCount + padding(tensor.byteCount)
        }
        if !tensors.isEmpty { w.append([UInt8](repeating: 0, count: padding(w.bytes.count))) }
        return w.bytes
    }

    private static func string(_ s: String, _ w: inout _ByteWriter) {
        w.integer(UInt64(s.utf8.count))
        w.append(Array(s.utf8))
    }

    private static func value(_ value: GGUFValue, _ w: inout _ByteWriter) {
        switch value {
        case .uint8(let v): w.integer(v)
        case .int8(let v): w.integer(v)
        case .uint16(let v): w.integer(v)
        case .int16(let v): w.integer(v)
        case .uint32(let v): w.integer(v)
        case .int32(let v): w.integer(v)
        case .uint64(let v): w.integer(v)
        case .int64(let v): w.integer(v)
        case .float32(let v): w.f32(v)
        case .float64(let v): w.f64(v)
        case .bool(let v): w.u8(v ? 1 : 0)
        case .string(let s): string(s, &w)
        case .array(let elementType, let elements):
            w.integer(elementType.rawValue)
            w.integer(UInt64(elements.count))
            for e in elements { Self.value(e, &w) }
        }
    }
}
