/// Quantizes a GGUF model to one of llama.cpp's presets the way `llama-quantize` does (round to
/// nearest, no importance matrix): the same tensor types, tensor order, metadata and layout, so that
/// the output file is byte for byte `llama-quantize`'s.
///
/// The input's tensors are decoded to float32 (dequantized, or converted) one at a time and written
/// straight after the header, and each one's mapped pages are let go once it is written, so memory holds
/// about one tensor (and its blocks) whatever the model's size.
public enum GGUFRequantizer {
    /// One tensor of the output: its name, dims (ggml order), input and output types and sizes.
    public struct TensorReport: Sendable {
        public let name: String
        public let dims: [Int]
        public let sourceType: GGMLType
        public let type: GGMLType
        public let sourceBytes: Int
        public let bytes: Int
    }

    /// Writes `output` from `input` with `preset`; `progress` is called after each tensor with the
    /// tensors done and the total.
    @discardableResult
    public static func quantize(input: String, output: String, preset: LlamaPreset,
                                progress: ((Int, Int) -> Void)? = nil) throws(QuantError) -> [TensorReport] {
        let source = try GGUFFile(path: input)
        let header = source.header
        let tensors = header.tensors.sorted { LlamaTypeRules.order($0.name, $1.name) }
        var rules = LlamaTypeRules(preset: preset, model: LlamaTypeRules.Model(metadata: header.metadata),
                                   names: tensors.map(\.name))
        let plan = tensors.map { tensor in
            let dims = Self.trimmed(tensor.dims)
            return (tensor, dims, rules.type(name: tensor.name, dims: dims, source: tensor.type))
        }
        let writer = try GGUFWriter(path: output)
        for (key, value) in metadata(header.metadata, preset: preset) { try writer.setMetadata(key, value) }
        var reports: [TensorReport] = []
        for (tensor, dims, type) in plan {
            try writer.declareTensor(name: tensor.name, type: type, dims: dims)
        }
        for (index, (tensor, dims, type)) in plan.enumerated() {
            let bytes = source.bytes(of: tensor)
            var written = bytes.count
            if type == tensor.type || tensor.elementCount == 0 {
                try writer.writeTensorData(type == tensor.type ? bytes : UnsafeRawBufferPointer(start: nil, count: 0))
            } else {
                let blocks = try requantize(tensor, bytes, to: type)
                written = blocks.count
                let failure: QuantError? = blocks.withUnsafeBytes { raw in
                    _caught { () throws(QuantError) in try writer.writeTensorData(raw) }
                }
                if let failure { throw failure }
            }
            source.file.discard(tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount))
            reports.append(TensorReport(name: tensor.name, dims: dims, sourceType: tensor.type, type: type,
                                        sourceBytes: tensor.byteCount, bytes: written))
            progress?(index + 1, plan.count)
        }
        try writer.commit()
        return reports
    }

    /// ggml's `ggml_n_dims`: trailing dimensions of 1 do not count (one dimension at least).
    static func trimmed(_ dims: [Int]) -> [Int] {
        var dims = dims
        while dims.count > 1, dims.last == 1 { dims.removeLast() }
        return dims
    }

    /// The input's metadata as `llama-quantize` writes it: every key in order, then
    /// `general.quantization_version` and `general.file_type` moved to the end with their new values,
    /// and the split keys removed.
    static func metadata(_ input: [(key: String, value: GGUFValue)], preset: LlamaPreset) -> [(key: String, value: GGUFValue)] {
        let replaced: Set<String> = ["general.quantization_version", "general.file_type", "split.no", "split.count", "split.tensors.count"]
        return input.filter { !replaced.contains($0.key) }
            + [("general.quantization_version", .uint32(2)), ("general.file_type", .uint32(UInt32(preset.rawValue)))]
    }

    /// The tensor's values as float32 (decoded as ggml does) quantized to `type`.
    private static func requantize(_ tensor: GGUFTensorInfo, _ bytes: UnsafeRawBufferPointer, to type: GGMLType) throws(QuantError) -> [UInt8] {
        let cols = tensor.dims[0], rows = tensor.elementCount / max(cols, 1)
        let values = try _decode(ModelFile.tensor(tensor), bytes)
        let result: Result<[UInt8], QuantError> = values.withUnsafeBufferPointer { buffer in
            Result { () throws(QuantError) in try GGMLBlocks.quantize(TensorView(buffer, rows: rows, cols: cols), to: type) }
        }
        return try result.get()
    }
}
