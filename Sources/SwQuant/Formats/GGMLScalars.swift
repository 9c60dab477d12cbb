#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The scalar conversions of ggml's reference quantizers (ggml-quants.c, ggml-impl.h), bit for bit. Every
// function is total: a value a C cast would leave undefined (NaN, out of range) gets the result x86-64
// gives it, never a trap.

/// ggml's `nearest_int`: round to nearest even through the float mantissa trick. Exact for
/// |f| ≤ 4194303; beyond that it returns what ggml's release build returns.
@inline(__always)
func _nearestInt(_ f: Float) -> Int32 {
    let biased = f + 12582912
    return Int32(bitPattern: biased.bitPattern & 0x7F_FFFF) - 0x40_0000
}

/// `v` clamped to `low...high`, branch-free (a trial scale sends codes past the ends unpredictably, and a
/// mispredicted branch per value costs more than the arithmetic). Exact while `v - low` and `v - high`
/// fit 32 bits, which holds for every `_nearestInt` result against ggml's small grids.
@inline(__always)
func _clamp(_ v: Int32, _ low: Int32, _ high: Int32) -> Int32 {
    let below = v &- low
    let atLeastLow = v &- (below & (below >> 31))
    let above = atLeastLow &- high
    return high &+ (above & (above >> 31))
}

/// A C `(int)f` as x86-64 executes it (`cvttss2si`): truncation toward zero, and `INT32_MIN` for NaN
/// and values outside the int32 range.
@inline(__always)
func _truncatedInt32(_ f: Float) -> Int32 {
    guard f > -2147483904, f < 2147483648 else { return .min }
    return Int32(f)
}

/// A C `(int8_t)f`: the low byte of the truncated int32.
@inline(__always)
func _truncatedInt8(_ f: Float) -> Int8 { Int8(truncatingIfNeeded: _truncatedInt32(f)) }

/// `GGML_FP32_TO_FP16`: round to nearest even, NaN as 0x7E00 with the sign kept.
@inline(__always)
func _halfBits(_ f: Float) -> UInt16 {
    if f.isNaN { return UInt16(truncatingIfNeeded: f.bitPattern >> 16) & 0x8000 | 0x7E00 }
    return Float16(f).bitPattern
}

/// `GGML_FP16_TO_FP32`.
@inline(__always)
func _halfValue(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

/// ggml's `ggml_e8m0_to_fp32_half`: half of the E8M0 scale `2^(e - 127)`, as MXFP4's doubled values
/// expect (0xFF gives infinity, where the spec says NaN, as in ggml).
@inline(__always)
func _e8m0HalfValue(_ e: UInt8) -> Float {
    Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
}

/// ggml's `ggml_ue4m3_to_fp32`: an unsigned E4M3 block scale of NVFP4, halved for the doubled FP4
/// values; 0 and 0x7F decode to 0.
@inline(__always)
func _ue4m3HalfValue(_ x: UInt8) -> Float {
    if x == 0 || x == 0x7F { return 0 }
    let exponent = Int((x >> 3) & 0xF), mantissa = Float(x & 0x7)
    let raw = exponent == 0
        ? mantissa * 0x1p-9
        : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    return raw * 0.5
}

/// ggml's `ggml_fp32_to_ue4m3`: non-positive → 0; at most 448; the mantissa rounds half up on bit 19;
/// subnormals `(int)(x·512 + 0.5)` clamped to 1...7; exponents of 15 and more give 0x7E.
@inline(__always)
func _ue4m3(_ value: Float) -> UInt8 {
    guard value > 0 else { return 0 }
    let x = min(value, 448)
    let bits = x.bitPattern
    var exponent = Int((bits >> 23) & 0xFF) - 127 + 7
    if exponent <= 0 {
        let mantissa = _truncatedInt32(x * 512 + 0.5)
        return mantissa < 1 ? 0 : UInt8(min(mantissa, 7))
    }
    if exponent >= 15 { return 0x7E }
    var mantissa = Int((bits >> 20) & 0x7) + Int((bits >> 19) & 1)
    if mantissa > 7 {
        mantissa = 0
        exponent += 1
        if exponent >= 15 { return 0x7E }
    }
    return UInt8(exponent << 3 | mantissa)
}

/// `log2f` of the C library, which ggml's MXFP4 exponent is defined by.
@inline(__always)
func _log2(_ x: Float) -> Float { log2f(x) }

/// ggml's `GROUP_MAX_EPS`: a group whose largest magnitude is below it counts as all zero.
let _groupMaxEpsilon: Float = 1e-15

/// ggml's `best_index_int8`: the index of the value of the sorted table `values` nearest to `x`
/// (binary search; a tie goes to the upper one).
@inline(__always)
func _bestIndex(_ values: UnsafePointer<Int8>, _ n: Int, _ x: Float) -> Int {
    if x <= Float(values[0]) { return 0 }
    if x >= Float(values[n - 1]) { return n - 1 }
    var low = 0, high = n - 1
    while high - low > 1 {
        let middle = (low + high) / 2
        if x < Float(values[middle]) { high = middle } else { low = middle }
    }
    return x - Float(values[high - 1]) < Float(values[high]) - x ? high - 1 : high
}
