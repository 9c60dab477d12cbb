/// ggml's tensor types, with ggml's numbers (`enum ggml_type`); removed numbers stay unused.
///
/// Every type has traits (name, block length, block bytes), so that files holding any of them can be
/// sized and checked; `GGMLType.codecs` says which ones swquant quantizes and dequantizes.
@frozen
public enum GGMLType: Int32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41, q2_0 = 42

    /// The type's row of the traits table.
    public var traits: GGMLTypeTraits { GGMLTypeTraits.byID[Int(rawValue)]! }

    /// The type named `name` (ggml's name, any case: `"Q4_K"`, `"q4_k"`, `"BF16"`).
    public init?(name: String) {
        let upper = name.uppercased()
        guard let type = GGMLType.allCases.first(where: { $0.traits.name == upper }) else { return nil }
        self = type
    }

    /// The bytes of one row of `cols` values; throws `.shape` when `cols` is not a positive multiple
    /// of the block length and `.overflow` when the size does not fit.
    public func rowBytes(cols: Int) throws(QuantError) -> Int {
        let t = traits
        guard cols > 0, cols % t.blockLength == 0 else {
            throw QuantError(.shape, "\(t.name) rows hold whole blocks of \(t.blockLength) values, got \(cols) values")
        }
        let (bytes, overflow) = (cols / t.blockLength).multipliedReportingOverflow(by: t.blockBytes)
        guard !overflow else { throw QuantError(.overflow, "a \(t.name) row of \(cols) values overflows") }
        return bytes
    }
}

/// One row of ggml's `type_traits`: the name, how many values a block holds and how many bytes it
/// takes, and whether swquant can quantize and dequantize it.
@frozen
public struct GGMLTypeTraits: Sendable {
    public let type: GGMLType
    /// ggml's name in upper case, as `llama-quantize` prints it: `"Q4_K"`, `"IQ4_NL"`, `"BF16"`.
    public let name: String
    public let blockLength: Int
    public let blockBytes: Int
    /// swquant quantizes float rows to this type and dequantizes it.
    public let hasCodec: Bool
    /// An importance row changes the codes (ggml's `quant_weights`); Q8_0, MXFP4, NVFP4 and the plain
    /// float types ignore it.
    public let usesImportance: Bool

    public static let table: [GGMLTypeTraits] = [
        .init(.f32, "F32", 1, 4, codec: true),
        .init(.f16, "F16", 1, 2, codec: true),
        .init(.q4_0, "Q4_0", 32, 18, codec: true, importance: true),
        .init(.q4_1, "Q4_1", 32, 20, codec: true, importance: true),
        .init(.q5_0, "Q5_0", 32, 22, codec: true, importance: true),
        .init(.q5_1, "Q5_1", 32, 24, codec: true, importance: true),
        .init(.q8_0, "Q8_0", 32, 34, codec: true),
        .init(.q8_1, "Q8_1", 32, 36),
        .init(.q2_K, "Q2_K", 256, 84, codec: true, importance: true),
        .init(.q3_K, "Q3_K", 256, 110, codec: true, importance: true),
        .init(.q4_K, "Q4_K", 256, 144, codec: true, importance: true),
        .init(.q5_K, "Q5_K", 256, 176, codec: true, importance: true),
        .init(.q6_K, "Q6_K", 256, 210, codec: true, importance: true),
        .init(.q8_K, "Q8_K", 256, 292),
        .init(.iq2_xxs, "IQ2_XXS", 256, 66),
        .init(.iq2_xs, "IQ2_XS", 256, 74),
        .init(.iq3_xxs, "IQ3_XXS", 256, 98),
        .init(.iq1_s, "IQ1_S", 256, 50),
        .init(.iq4_nl, "IQ4_NL", 32, 18, codec: true, importance: true),
        .init(.iq3_s, "IQ3_S", 256, 110),
        .init(.iq2_s, "IQ2_S", 256, 82),
        .init(.iq4_xs, "IQ4_XS", 256, 136),
        .init(.i8, "I8", 1, 1),
        .init(.i16, "I16", 1, 2),
        .init(.i32, "I32", 1, 4),
        .init(.i64, "I64", 1, 8),
        .init(.f64, "F64", 1, 8),
        .init(.iq1_m, "IQ1_M", 256, 56),
        .init(.bf16, "BF16", 1, 2, codec: true),
        .init(.tq1_0, "TQ1_0", 256, 54),
        .init(.tq2_0, "TQ2_0", 256, 66),
        .init(.mxfp4, "MXFP4", 32, 17, codec: true),
        .init(.nvfp4, "NVFP4", 64, 36, codec: true),
        .init(.q1_0, "Q1_0", 128, 18),
        .init(.q2_0, "Q2_0", 64, 18),
    ]

    /// `table` indexed by ggml type number (nil for the removed numbers).
    static let byID: [GGMLTypeTraits?] = {
        var byID = [GGMLTypeTraits?](repeating: nil, count: 43)
        for traits in table { byID[Int(traits.type.rawValue)] = traits }
        return byID
    }()

    init(_ type: GGMLType, _ name: String, _ blockLength: Int, _ blockBytes: Int, codec: Bool = false, importance: Bool = false) {
        self.type = type
        self.name = name
        self.blockLength = blockLength
        self.blockBytes = blockBytes
        self.hasCodec = codec
        self.usesImportance = importance
    }
}

extension GGMLType {
    /// The types swquant quantizes and dequantizes.
    public static var codecs: [GGMLType] { allCases.filter { $0.traits.hasCodec } }
}
