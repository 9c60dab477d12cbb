/// Element types of tensors that swquant reads or writes; raw values match the C ABI's `swq_dtype`.
@frozen
public enum ElementType: Int32, Sendable, CaseIterable {
    case float32 = 0
    case float16 = 1
    case bfloat16 = 2

    /// Bytes per element.
    @inlinable
    public var byteCount: Int { self == .float32 ? 4 : 2 }
}

/// A bfloat16 value: the upper 16 bits of an IEEE binary32, as LLM weights often ship.
///
/// Conversion from `Float` rounds to nearest even; NaN stays NaN.
@frozen
public struct BFloat16: Sendable, Hashable {
    public var bitPattern: UInt16

    @inlinable
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    @inlinable
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        } else {
            let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
            bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
        }
    }

    /// The exact `Float` value.
    @inlinable
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}

/// Element types that quantization can read directly: `Float`, `Float16` and `BFloat16`.
public protocol QuantizationInput: Sendable {
    static var elementType: ElementType { get }
}

extension Float: QuantizationInput {
    public static var elementType: ElementType { .float32 }
}

extension Float16: QuantizationInput {
    public static var elementType: ElementType { .float16 }
}

extension BFloat16: QuantizationInput {
    public static var elementType: ElementType { .bfloat16 }
}
