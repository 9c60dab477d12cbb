/// llama.cpp's quantization presets (`llama_ftype`, with its numbers, as `general.file_type` stores
/// them): the default block type of each and the name `llama-quantize` takes.
@frozen
public enum LlamaPreset: Int32, Sendable, CaseIterable {
    case allF32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 7, q5_0 = 8, q5_1 = 9, q2_K = 10
    case q3_K_S = 11, q3_K_M = 12, q3_K_L = 13, q4_K_S = 14, q4_K_M = 15, q5_K_S = 16, q5_K_M = 17, q6_K = 18
    case iq4_nl = 25, bf16 = 32, mxfp4_moe = 38

    /// The name `llama-quantize` takes: `"Q4_K_M"`, `"F32"`, `"MXFP4_MOE"`.
    public var name: String {
        switch self {
        case .allF32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q2_K: "Q2_K"
        case .q3_K_S: "Q3_K_S"
        case .q3_K_M: "Q3_K_M"
        case .q3_K_L: "Q3_K_L"
        case .q4_K_S: "Q4_K_S"
        case .q4_K_M: "Q4_K_M"
        case .q5_K_S: "Q5_K_S"
        case .q5_K_M: "Q5_K_M"
        case .q6_K: "Q6_K"
        case .iq4_nl: "IQ4_NL"
        case .mxfp4_moe: "MXFP4_MOE"
        }
    }

    /// The preset named `name`, any case.
    public init?(name: String) {
        guard let preset = LlamaPreset.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = preset
    }

    /// llama.cpp's `llama_ftype_get_default_type`.
    public var defaultType: GGMLType {
        switch self {
        case .allF32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q8_0: .q8_0
        case .q2_K: .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: .q3_K
        case .q4_K_S, .q4_K_M: .q4_K
        case .q5_K_S, .q5_K_M: .q5_K
        case .q6_K: .q6_K
        case .iq4_nl: .iq4_nl
        case .mxfp4_moe: .mxfp4
        }
    }
}
