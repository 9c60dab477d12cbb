/// One tensor of a model, whichever file format holds it.
public struct ModelTensor: Sendable, Equatable {
    public let name: String
    /// The element type's name: a ggml type (`"Q4_K"`, `"F32"`) for GGUF, a safetensors dtype
    /// (`"BF16"`, `"F8_E4M3"`) otherwise.
    public let typeName: String
    /// The ggml type for GGUF tensors (nil for safetensors).
    public let ggmlType: GGMLType?
    /// The safetensors dtype (nil for GGUF).
    public let safetensorsDType: SafetensorsDType?
    /// Rows first, as numpy orders it (a GGUF tensor's ggml dims reversed).
    public let shape: [Int]
    public let byteCount: Int
    /// Which of the model's files holds it (`ModelFile.paths`).
    public let fileIndex: Int
    public let fileOffset: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A model opened for reading: a GGUF file, a safetensors file, or a Hugging Face model folder
/// (config.json with model.safetensors or a sharded model.safetensors.index.json).
///
/// Every file is mapped, not read: opening costs what the headers cost, and a tensor's pages are
/// read when its bytes are touched. Views stay valid while the object lives.
public final class ModelFile: @unchecked Sendable {
    public enum Format: Int32, Sendable {
        case gguf = 0
        case safetensors = 1
        case huggingFaceFolder = 2
    }

    public let format: Format
    public let paths: [String]
    public let tensors: [ModelTensor]
    /// GGUF: every key with its typed value (`GGUFValue.typedJSON`); safetensors: `__metadata__`;
    /// a folder: config.json (an empty object when it has none).
    public let metadata: JSONValue
    private let files: [MappedFile]
    private let byName: [String: Int]

    public init(path: String, limits: FileLimits = FileLimits()) throws(QuantError) {
        if _isDirectory(path) {
            format = .huggingFaceFolder
            (paths, files, tensors, metadata) = try Self.openFolder(path, limits)
        } else {
            let file = try MappedFile(path: path)
            let magic = file.bytes.count >= 4 ? file.bytes.loadUnaligned(as: UInt32.self) : 0
            paths = [path]
            files = [file]
            do {
                if magic == 0x4655_4747 {
                    format = .gguf
                    let header = try GGUFHeader(parsing: file.bytes, limits: limits)
                    tensors = header.tensors.map(Self.tensor)
                    metadata = .object(header.metadata.map { ($0.key, $0.value.typedJSON) })
                } else {
                    format = .safetensors
                    let header = try SafetensorsHeader(parsing: file.bytes, limits: limits)
                    tensors = header.tensors.map { Self.tensor($0, file: 0) }
                    metadata = .object(header.metadata.map { ($0.key, .string($0.value)) })
                }
            } catch {
                throw QuantError(error.status, "\(path): \(error.message)")
            }
        }
        var byName: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { byName[t.name] = i }
        self.byName = byName
    }

    /// The index of the tensor named `name`.
    public func index(of name: String) -> Int? { byName[name] }

    /// The bytes of `tensor` inside its file's mapping.
    public func bytes(of tensor: ModelTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: files[tensor.fileIndex].bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }

    /// The values of `tensor` as float32 (dequantized, or converted) into `output`, which holds at
    /// least `tensor.elementCount` values. Throws `.invalidArgument` for a type swquant cannot decode.
    public func floats(of tensor: ModelTensor, into output: UnsafeMutableBufferPointer<Float>) throws(QuantError) {
        try _decode(tensor, bytes(of: tensor), into: output)
    }

    /// `floats(of:into:)` into a new array.
    public func floats(of tensor: ModelTensor) throws(QuantError) -> [Float] {
        try _decode(tensor, bytes(of: tensor))
    }

    static func tensor(_ t: GGUFTensorInfo) -> ModelTensor {
        ModelTensor(name: t.name, typeName: t.type.traits.name, ggmlType: t.type, safetensorsDType: nil,
                    shape: t.dims.reversed(), byteCount: t.byteCount, fileIndex: 0, fileOffset: t.fileOffset)
    }

    private static func tensor(_ t: SafetensorsTensorInfo, file: Int) -> ModelTensor {
        ModelTensor(name: t.name, typeName: t.dtype.rawValue, ggmlType: nil, safetensorsDType: t.dtype,
                    shape: t.shape, byteCount: t.byteCount, fileIndex: file, fileOffset: t.fileOffset)
    }

    private static func openFolder(_ folder: String, _ limits: FileLimits) throws(QuantError)
        -> ([String], [MappedFile], [ModelTensor], JSONValue) {
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        var config = JSONValue.object([])
        if _isFile(base + "config.json") {
            let file = try MappedFile(path: base + "config.json")
            config = try JSONParser.parse(file.bytes, maxDepth: limits.maxNesting, context: base + "config.json")
        }
        var shardNames: [String]
        var expected: [(tensor: String, shard: String)] = []
        let indexPath = base + "model.safetensors.index.json"
        if _isFile(indexPath) {
            let file = try MappedFile(path: indexPath)
            let index = try JSONParser.parse(file.bytes, maxDepth: limits.maxNesting, context: indexPath)
            guard let map = index["weight_map"]?.objectValue else { throw QuantError(.invalidArgument, "\(indexPath): no weight_map object") }
            shardNames = []
            for (tensor, shard) in map {
                guard let name = shard.stringValue, !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
                    throw QuantError(.invalidArgument, "\(indexPath): tensor \(tensor) names a shard outside the folder")
                }
                if !shardNames.contains(name) { shardNames.append(name) }
                expected.append((tensor, name))
            }
        } else if _isFile(base + "model.safetensors") {
            shardNames = ["model.safetensors"]
        } else {
            throw QuantError(.invalidArgument, "\(folder) holds neither model.safetensors nor model.safetensors.index.json")
        }
        var paths: [String] = [], files: [MappedFile] = [], tensors: [ModelTensor] = []
        var shardOf: [String: String] = [:]
        for (i, shard) in shardNames.enumerated() {
            let path = base + shard
            let file = try MappedFile(path: path)
            let header: SafetensorsHeader
            do { header = try SafetensorsHeader(parsing: file.bytes, limits: limits) } catch {
                throw QuantError(error.status, "\(path): \(error.message)")
            }
            for t in header.tensors {
                guard shardOf.updateValue(shard, forKey: t.name) == nil else {
                    throw QuantError(.invalidArgument, "\(folder): tensor \(t.name) is in more than one shard")
                }
                tensors.append(tensor(t, file: i))
            }
            paths.append(path)
            files.append(file)
        }
        for (tensor, shard) in expected where shardOf[tensor] != shard {
            throw QuantError(.invalidArgument, "\(indexPath): tensor \(tensor) is not in \(shard)")
        }
        return (paths, files, tensors, config)
    }
}

/// The values of `tensor`, whose bytes are `source`, as float32 into `output` (at least
/// `tensor.elementCount` values): ggml blocks dequantized as ggml does, other types converted.
func _decode(_ tensor: ModelTensor, _ source: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(QuantError) {
    guard output.count >= tensor.elementCount else {
        throw QuantError(.bufferTooSmall, "output holds \(output.count) values, tensor \(tensor.name) has \(tensor.elementCount)")
    }
    let count = tensor.elementCount
    guard count > 0 else { return }
    if let type = tensor.ggmlType, type.traits.hasCodec {
        let cols = tensor.shape.last!
        try GGMLBlocks.dequantize(source, type: type, rows: count / cols, cols: cols, into: output)
    } else if let plain = tensor.ggmlType.flatMap(_PlainElement.init) ?? tensor.safetensorsDType.flatMap(_PlainElement.init) {
        plain.decode(source.baseAddress!, count, output.baseAddress!)
    } else {
        throw QuantError(.invalidArgument, "swquant cannot decode tensor \(tensor.name) of type \(tensor.typeName)")
    }
}

/// `_decode(_:_:into:)` into a new array.
func _decode(_ tensor: ModelTensor, _ source: UnsafeRawBufferPointer) throws(QuantError) -> [Float] {
    try _MemoryLimit.check(tensor.elementCount, elementBytes: 4, for: "tensor \(tensor.name)")
    var values = [Float](repeating: 0, count: tensor.elementCount)
    let failure: QuantError? = values.withUnsafeMutableBufferPointer { out in
        _caught { () throws(QuantError) in try _decode(tensor, source, into: out) }
    }
    if let failure { throw failure }
    return values
}
