/// One tensor of a GGUF file: its name, ggml type, dimensions in ggml order (`ne[0]`, the contiguous
/// row length, first) and where its bytes are.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml's `ne`: `dims[0]` is the row length; numpy's shape is the reverse.
    public let dims: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    /// Elements in all.
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A parsed GGUF header (versions 2 and 3): metadata in file order, tensor infos, alignment and where
/// the data section starts. Every count, size and offset is checked against `FileLimits` and the
/// bytes at hand before use; a bad file throws `.invalidArgument` with the byte offset of the fault.
public struct GGUFHeader: Sendable {
    public let version: UInt32
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int

    /// The value of `key`.
    public subscript(key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    /// Parses the header of the GGUF file whose whole contents are `bytes`, and checks that every
    /// tensor lies inside them, aligned, without overlapping another.
    public init(parsing bytes: UnsafeRawBufferPointer, limits: FileLimits = FileLimits()) throws(QuantError) {
        var cursor = _Cursor(bytes, what: "GGUF")
        let magic = try cursor.integer(UInt32.self, "magic")
        guard magic == 0x4655_4747 else { throw cursor.error("not a GGUF file (magic bytes are not \"GGUF\")", at: 0) }
        version = try cursor.integer(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw cursor.error(version & 0xFFFF == 0 ? "version \(version) looks byte-swapped (a big-endian file)"
                               : "version \(version) is not supported (2 and 3 are)", at: 4)
        }
        let tensorCount = try cursor.integer(Int64.self, "tensor count")
        let keyCount = try cursor.integer(Int64.self, "key-value count")
        guard (0...Int64(limits.maxTensorCount)).contains(tensorCount) else {
            throw cursor.error("tensor count \(tensorCount) is outside 0...\(limits.maxTensorCount)", at: 8)
        }
        guard (0...Int64(limits.maxKeyCount)).contains(keyCount) else {
            throw cursor.error("key-value count \(keyCount) is outside 0...\(limits.maxKeyCount)", at: 16)
        }
        var metadata: [(key: String, value: GGUFValue)] = []
        var keys = Set<String>()
        for _ in 0..<Int(keyCount) {
            let start = cursor.offset
            let key = try cursor.string(limit: limits.maxStringBytes, "key")
            guard keys.insert(key).inserted else { throw cursor.error("duplicate key \"\(key)\"", at: start) }
            let rawType = try cursor.integer(UInt32.self, "value type of \(key)")
            metadata.append((key, try Self.value(&cursor, rawType, limits: limits, depth: 0, key: key)))
            guard cursor.offset <= limits.maxHeaderBytes else { throw cursor.error("header exceeds \(limits.maxHeaderBytes) bytes") }
        }
        self.metadata = metadata
        try Self.checkKnownKeys(metadata)

        var alignment = 32
        if let entry = metadata.first(where: { $0.key == "general.alignment" }) {
            guard case .uint32(let value) = entry.value, value > 0, value & (value - 1) == 0 else {
                throw cursor.error("general.alignment must be a UINT32 power of two, got \(entry.value)")
            }
            alignment = Int(value)
        }
        self.alignment = alignment

        var infos: [(name: String, type: GGMLType, dims: [Int], offset: UInt64, byteCount: Int, at: Int)] = []
        var names = Set<String>()
        for _ in 0..<Int(tensorCount) {
            let start = cursor.offset
            let name = try cursor.string(limit: limits.maxNameBytes, "tensor name")
            guard names.insert(name).inserted else { throw cursor.error("duplicate tensor name \"\(name)\"", at: start) }
            let dimCount = try cursor.integer(UInt32.self, "dimension count of \(name)")
            guard (1...4).contains(dimCount) else {
                throw cursor.error("tensor \(name) has \(dimCount) dimensions, not 1 to 4 (ggml's GGML_MAX_DIMS)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<Int(dimCount) {
                let ne = try cursor.integer(Int64.self, "dimension of \(name)")
                guard ne >= 0 else { throw cursor.error("tensor \(name) has a negative dimension \(ne)") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(ne))
                guard !overflow else { throw cursor.error("the dimensions of tensor \(name) overflow 64 bits") }
                elements = product
                dims.append(Int(ne))
            }
            let rawType = try cursor.integer(Int32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else { throw cursor.error("tensor \(name) has unknown ggml type \(rawType)") }
            let traits = type.traits
            guard dims[0] % traits.blockLength == 0 else {
                throw cursor.error("tensor \(name) rows of \(dims[0]) are not whole \(traits.name) blocks of \(traits.blockLength)")
            }
            let rowsInAll = dims[0] == 0 ? 0 : elements / dims[0]
            let (rowBytes, o1) = (dims[0] / traits.blockLength).multipliedReportingOverflow(by: traits.blockBytes)
            let (byteCount, o2) = rowBytes.multipliedReportingOverflow(by: rowsInAll)
            guard !o1, !o2 else { throw cursor.error("the size of tensor \(name) overflows 64 bits") }
            let offset = try cursor.integer(UInt64.self, "data offset of \(name)")
            guard offset % UInt64(alignment) == 0 else {
                throw cursor.error("tensor \(name) data offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            infos.append((name, type, dims, offset, byteCount, start))
            guard cursor.offset <= limits.maxHeaderBytes else { throw cursor.error("header exceeds \(limits.maxHeaderBytes) bytes") }
        }
        let padding = (alignment - cursor.offset % alignment) % alignment
        dataOffset = tensorCount > 0 ? cursor.offset + padding : cursor.offset
        guard dataOffset <= bytes.count else { throw cursor.error("the data section starts past the end of the file") }
        let dataBytes = bytes.count - dataOffset
        var tensors: [GGUFTensorInfo] = []
        for info in infos {
            guard info.offset <= UInt64(dataBytes), info.byteCount <= dataBytes - Int(info.offset) else {
                throw cursor.error("tensor \(info.name) (\(info.byteCount) bytes at data offset \(info.offset)) runs past the end of the file", at: info.at)
            }
            tensors.append(GGUFTensorInfo(name: info.name, type: info.type, dims: info.dims,
                                          fileOffset: dataOffset + Int(info.offset), byteCount: info.byteCount))
        }
        let sorted = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset && a.byteCount > 0 && b.byteCount > 0 {
            throw cursor.error("tensors \(a.name) and \(b.name) overlap", at: a.fileOffset)
        }
        self.tensors = tensors
    }

    /// The types llama.cpp's loader relies on for keys it reads without checking (a tokenizer array of
    /// the wrong element type or length has taken loaders down): refused here, with the key named.
    static let knownKeyTypes: [(key: String, type: GGUFValueType, element: GGUFValueType?)] = [
        ("general.architecture", .string, nil), ("general.quantization_version", .uint32, nil),
        ("tokenizer.ggml.model", .string, nil), ("tokenizer.ggml.tokens", .array, .string),
        ("tokenizer.ggml.merges", .array, .string), ("tokenizer.ggml.scores", .array, .float32),
        ("tokenizer.ggml.token_type", .array, .int32),
    ]

    private static func checkKnownKeys(_ metadata: [(key: String, value: GGUFValue)]) throws(QuantError) {
        var lengths: [String: Int] = [:]
        for (key, type, element) in knownKeyTypes {
            guard let value = metadata.first(where: { $0.key == key })?.value else { continue }
            var matches = value.type == type
            if case .array(let elementType, let elements) = value {
                matches = matches && elementType == element
                lengths[key] = elements.count
            }
            guard matches else {
                throw QuantError(.invalidArgument, "GGUF: key \(key) must be \(element.map { "an ARRAY of \($0.name)" } ?? type.name)")
            }
        }
        if let tokens = lengths["tokenizer.ggml.tokens"] {
            for key in ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"] where lengths[key].map({ $0 != tokens }) ?? false {
                throw QuantError(.invalidArgument, "GGUF: \(key) has \(lengths[key]!) entries for \(tokens) tokens")
            }
        }
    }

    private static func value(_ cursor: inout _Cursor, _ rawType: UInt32, limits: FileLimits, depth: Int,
                              key: String) throws(QuantError) -> GGUFValue {
        let start = cursor.offset
        guard let type = GGUFValueType(rawValue: rawType) else { throw cursor.error("key \(key) has unknown value type \(rawType)", at: start - 4) }
        switch type {
        case .uint8: return .uint8(try cursor.integer(UInt8.self, key))
        case .int8: return .int8(try cursor.integer(Int8.self, key))
        case .uint16: return .uint16(try cursor.integer(UInt16.self, key))
        case .int16: return .int16(try cursor.integer(Int16.self, key))
        case .uint32: return .uint32(try cursor.integer(UInt32.self, key))
        case .int32: return .int32(try cursor.integer(Int32.self, key))
        case .uint64: return .uint64(try cursor.integer(UInt64.self, key))
        case .int64: return .int64(try cursor.integer(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try cursor.integer(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try cursor.integer(UInt64.self, key)))
        case .bool:
            let byte = try cursor.integer(UInt8.self, key)
            guard byte <= 1 else { throw cursor.error("key \(key) holds BOOL value \(byte), not 0 or 1", at: start) }
            return .bool(byte == 1)
        case .string: return .string(try cursor.string(limit: limits.maxStringBytes, "string value of \(key)"))
        case .array:
            guard depth < limits.maxNesting else { throw cursor.error("arrays of key \(key) nest deeper than \(limits.maxNesting)", at: start) }
            let rawElementType = try cursor.integer(UInt32.self, "array element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawElementType) else {
                throw cursor.error("array of key \(key) has unknown element type \(rawElementType)", at: start)
            }
            let count = try cursor.integer(UInt64.self, "array length of \(key)")
            // The smallest encoding of one element bounds the count by the bytes left.
            let minimumBytes = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            guard count <= UInt64(limits.maxArrayCount), Int(count) <= cursor.remaining / minimumBytes else {
                throw cursor.error("array of key \(key) claims \(count) elements, more than the limit or the bytes left", at: start)
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                elements.append(try value(&cursor, rawElementType, limits: limits, depth: depth + 1, key: key))
            }
            return .array(elementType, elements)
        }
    }
}

/// A GGUF file mapped read-only: the parsed header and zero-copy views of its tensors.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let header: GGUFHeader

    public init(path: String, limits: FileLimits = FileLimits()) throws(QuantError) {
        file = try MappedFile(path: path)
        do {
            header = try GGUFHeader(parsing: file.bytes, limits: limits)
        } catch {
            throw QuantError(error.status, "\(path): \(error.message)")
        }
    }

    /// The bytes of `tensor` inside the mapping (valid while this object lives).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }
}
