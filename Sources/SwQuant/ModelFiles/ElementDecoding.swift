/// Plain (unblocked) element types of model files, decoded to float32: the integer, boolean and
/// float types of safetensors and GGUF.
enum _PlainElement {
    case f32, f16, bf16, f64, i8, u8, i16, u16, i32, u32, i64, u64, bool, f8e4m3, f8e5m2, f8e8m0

    init?(_ dtype: SafetensorsDType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .f64: self = .f64
        case .i8: self = .i8
        case .u8: self = .u8
        case .i16: self = .i16
        case .u16: self = .u16
        case .i32: self = .i32
        case .u32: self = .u32
        case .i64: self = .i64
        case .u64: self = .u64
        case .bool: self = .bool
        case .f8_e4m3: self = .f8e4m3
        case .f8_e5m2: self = .f8e5m2
        case .f8_e8m0: self = .f8e8m0
        default: return nil
        }
    }

    init?(_ type: GGMLType) {
        switch type {
        case .i8: self = .i8
        case .i16: self = .i16
        case .i32: self = .i32
        case .i64: self = .i64
        case .f64: self = .f64
        default: return nil
        }
    }

    /// Decodes `count` elements of `bytes` into `out` (integers rounded to the nearest float).
    func decode(_ bytes: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        @inline(__always) func each<T>(_: T.Type, _ convert: (T) -> Float) {
            for i in 0..<count { out[i] = convert(bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
        }
        switch self {
        case .f32: each(Float.self) { $0 }
        case .f16: each(UInt16.self) { Float(Float16(bitPattern: $0)) }
        case .bf16: each(UInt16.self) { BFloat16(bitPattern: $0).floatValue }
        case .f64: each(Double.self) { Float($0) }
        case .i8: each(Int8.self) { Float($0) }
        case .u8: each(UInt8.self) { Float($0) }
        case .i16: each(Int16.self) { Float($0) }
        case .u16: each(UInt16.self) { Float($0) }
        case .i32: each(Int32.self) { Float($0) }
        case .u32: each(UInt32.self) { Float($0) }
        case .i64: each(Int64.self) { Float($0) }
        case .u64: each(UInt64.self) { Float($0) }
        case .bool: each(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .f8e4m3: each(UInt8.self, _e4m3Value)
        case .f8e5m2: each(UInt8.self) { Float(Float16(bitPattern: UInt16($0) << 8)) }
        case .f8e8m0: each(UInt8.self) { $0 == 0xFF ? .nan : Float(sign: .plus, exponent: Int($0) - 127, significand: 1) }
        }
    }
}

/// FP8 E4M3 (the `fn` variant: bias 7, no infinities, S.1111.111 is NaN, 448 the largest value).
@inline(__always)
func _e4m3Value(_ byte: UInt8) -> Float {
    let sign: Float = byte & 0x80 != 0 ? -1 : 1
    let exponent = Int((byte >> 3) & 0xF), mantissa = Float(byte & 0x7)
    if exponent == 15 && byte & 0x7 == 7 { return .nan }
    if exponent == 0 { return sign * mantissa * 0x1p-9 }
    return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
}
