/// llama.cpp's choice of each tensor's type for a preset (`llama_tensor_get_type` and its helpers in
/// llama-quant.cpp), for the presets of `LlamaPreset`: which tensors are quantized, the mixture rules
/// (more bits for some `attn_v` and `ffn_down` layers, the output tensor in Q6_K), and the fallback for
/// rows that the type's block does not divide. The choice depends on the order tensors are visited in
/// (counters of `attn_v` and `ffn_down` tensors), which is `LlamaTypeRules.order`.
public struct LlamaTypeRules: Sendable {
    /// The model facts the rules read from the GGUF metadata.
    public struct Model: Sendable {
        public var architecture: String
        public var layerCount: Int
        /// Query heads per key-value head (`n_gqa`).
        public var groupedQueryRatio: Int
        public var expertCount: Int
        public var hasImportance: Bool

        /// The facts of a GGUF file's metadata (`<arch>.block_count`, `.attention.head_count(_kv)`,
        /// `.expert_count`).
        public init(metadata: [(key: String, value: GGUFValue)], hasImportance: Bool = false) {
            func integer(_ key: String) -> Int? {
                guard let value = metadata.first(where: { $0.key == key })?.value else { return nil }
                if case .array(_, let elements) = value { return elements.first?.integerValue }
                return value.integerValue
            }
            architecture = metadata.first { $0.key == "general.architecture" }?.value.stringValue ?? ""
            layerCount = integer("\(architecture).block_count") ?? 0
            let heads = integer("\(architecture).attention.head_count") ?? 1
            let kvHeads = integer("\(architecture).attention.head_count_kv") ?? heads
            groupedQueryRatio = kvHeads > 0 ? heads / kvHeads : 1
            expertCount = max(1, integer("\(architecture).expert_count") ?? 0)
            self.hasImportance = hasImportance
        }
    }

    enum Category { case output, tokenEmbedding, attentionQKV, attentionKVB, attentionV, attentionK, attentionQ, attentionOutput, ffnUp, ffnGate, ffnDown, other }

    public let preset: LlamaPreset
    public let model: Model
    private var tiedEmbeddings = true
    private var attentionVCount = 0
    private var attentionVSeen = 0
    private var ffnDownSeen = 0

    /// Rules for `names`, the tensors of the model (counted for the layer-dependent choices).
    public init(preset: LlamaPreset, model: Model, names: [String]) {
        self.preset = preset
        self.model = model
        for name in names {
            let category = Self.category(name)
            if Self.isAttentionV(category) { attentionVCount += 1 }
            if category == .output { tiedEmbeddings = false }
        }
    }

    /// llama.cpp's tensor order (its loader's `weight_name_comparer`): by the layer number of
    /// `blk.N.` (others first), then by name.
    public static func order(_ a: String, _ b: String) -> Bool {
        let (la, lb) = (layer(a), layer(b))
        if la != lb { return la < lb }
        return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }

    /// The layer of a `blk.N.` name as `sscanf(name, "blk.%d.")` reads it, else -1.
    static func layer(_ name: String) -> Int {
        let utf8 = Array(name.utf8)
        guard utf8.starts(with: Array("blk.".utf8)) else { return -1 }
        var i = 4, sign = 1, value = 0, digits = 0
        if i < utf8.count, utf8[i] == UInt8(ascii: "-") || utf8[i] == UInt8(ascii: "+") {
            sign = utf8[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
        }
        while i < utf8.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[i]), value < 1 << 31 {
            value = value * 10 + Int(utf8[i] - UInt8(ascii: "0"))
            i += 1
            digits += 1
        }
        return digits > 0 ? sign * value : -1
    }

    static func category(_ name: String) -> Category {
        if name == "output.weight" { return .output }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return .tokenEmbedding }
        let ordered: [(String, Category)] = [
            ("attn_qkv.weight", .attentionQKV), ("attn_kv_b.weight", .attentionKVB), ("attn_v.weight", .attentionV),
            ("attn_k.weight", .attentionK), ("attn_q.weight", .attentionQ), ("attn_output.weight", .attentionOutput),
            ("ffn_up", .ffnUp), ("ffn_gate", .ffnGate), ("ffn_down", .ffnDown),
        ]
        return ordered.first { _contains(name, $0.0) }?.1 ?? .other
    }

    static func isAttentionV(_ category: Category) -> Bool {
        category == .attentionV || category == .attentionQKV || category == .attentionKVB
    }

    /// llama.cpp's `tensor_allows_quantization` with default parameters: 2-D and 3-D tensors whose
    /// name ends in "weight", except norms, expert gates and the small tensors it lists.
    public static func allowsQuantization(name: String, dimensions: Int) -> Bool {
        guard dimensions >= 2, name.hasSuffix("weight") else { return false }
        let excluded = ["_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
                        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
                        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
                        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
                        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
                        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
                        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
                        "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"]
        return !excluded.contains { _contains(name, $0) } && name != "position_embd.weight" && name != "token_types.weight"
    }

    /// The type of the next tensor in `order`: `name`, ggml dims `dims` (row length first, trailing
    /// ones trimmed) and its type in the input.
    public mutating func type(name: String, dims: [Int], source: GGMLType) -> GGMLType {
        guard Self.allowsQuantization(name: name, dimensions: dims.count) else { return source }
        let base = preset.defaultType
        guard base.traits.blockLength > 1 else { return base }  // F32, F16, BF16: no mixture, no fallback
        return fallback(mixture(name: name, dims: dims, base: base), rowLength: dims[0])
    }

    private func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// llama.cpp's `llama_tensor_get_type_impl` for this preset's mixture.
    private mutating func mixture(name: String, dims: [Int], base: GGMLType) -> GGMLType {
        let category = Self.category(name)
        let falcon = model.architecture == "falcon"
        var type = base
        if category == .output || (tiedEmbeddings && category == .tokenEmbedding) {
            if preset == .mxfp4_moe || falcon || dims[0] % base.traits.blockLength != 0 {
                type = .q8_0
            } else if type != .q8_0 {
                type = .q6_K
            }
        } else if preset == .mxfp4_moe {
            type = dims.count > 2 && dims[2] > 1 && model.architecture != "bailingmoe3" ? .mxfp4 : .q8_0
        } else if category == .tokenEmbedding {
            // the presets here keep the default type
        } else if Self.isAttentionV(category) {
            switch preset {
            case .q2_K: type = model.groupedQueryRatio >= 4 ? .q4_K : .q3_K
            case .q3_K_M: type = attentionVSeen < 2 ? .q5_K : .q4_K
            case .q3_K_L: type = .q5_K
            case .iq4_nl where model.groupedQueryRatio >= 4: type = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(attentionVSeen, attentionVCount) { type = .q6_K }
            case .q4_K_S: if attentionVSeen < 4 { type = .q5_K }
            default: break
            }
            if model.architecture == "llama" && model.layerCount == 80 && (type == .q3_K || type == .q4_K) { type = .q5_K }
            if model.expertCount == 8 { type = .q8_0 }
            attentionVSeen += 1
        } else if category == .attentionK {
            if model.expertCount == 8 { type = .q8_0 }
        } else if category == .attentionQ {
            // only the IQ presets change it
        } else if category == .ffnDown {
            let (layer, layers) = model.expertCount > 1 ? (Self.layer(name), model.layerCount) : (ffnDownSeen, model.layerCount)
            switch preset {
            case .q2_K: type = .q3_K
            case .q3_K_M: type = layer < layers / 16 ? .q5_K : (!falcon || useMoreBits(layer, layers)) ? .q4_K : .q3_K
            case .q3_K_L: type = falcon ? .q4_K : .q5_K
            case .q4_K_M:
                if falcon { type = layer < layers / 16 ? .q6_K : useMoreBits(layer, layers) ? .q5_K : .q4_K }
                else if useMoreBits(layer, layers) { type = .q6_K }
            case .iq4_nl where layer < layers / 8 && !model.hasImportance: type = .q5_K
            case .q5_K_M where useMoreBits(layer, layers): type = .q6_K
            case .q4_K_S where !falcon && layer < layers / 8: type = .q5_K
            case .q4_0 where model.hasImportance && layer < layers / 8: type = .q4_1
            case .q5_0 where model.hasImportance && layer < layers / 8: type = .q5_1
            default: break
            }
            ffnDownSeen += 1
        } else if category == .attentionOutput {
            if !falcon {
                if model.expertCount == 8 {
                    if [.q2_K, .q3_K_S, .q3_K_M, .iq4_nl, .q4_K_S, .q4_K_M].contains(preset) { type = .q5_K }
                } else {
                    switch preset {
                    case .q2_K: type = .q3_K
                    case .q3_K_M: type = .q4_K
                    case .q3_K_L: type = .q5_K
                    default: break
                    }
                }
            } else if preset == .q3_K_L {
                type = .q4_K
            }
        }
        return type
    }

    /// llama.cpp's `tensor_type_fallback`: a type whose blocks do not divide the rows gives way to one of
    /// 32 (Q2_K/Q3_K to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0), and to F16 when that does not
    /// divide them either.
    private func fallback(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.traits.blockLength != 0 else { return type }
        let smaller: GGMLType = switch type {
        case .q2_K, .q3_K: .q4_0
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .q6_K: .q8_0
        default: type
        }
        return rowLength % smaller.traits.blockLength == 0 ? smaller : .f16
    }
}

/// Whether `text` holds `part` (as C++'s `std::string::find`, byte by byte).
func _contains(_ text: String, _ part: String) -> Bool {
    let haystack = Array(text.utf8), needle = Array(part.utf8)
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { start in haystack[start..<(start + needle.count)].elementsEqual(needle) }
}
