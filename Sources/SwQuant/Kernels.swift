// SIMD kernels over contiguous float spans. Every kernel computes exactly the scalar formula it
// documents (IEEE division, round half to even, clamp), so SIMD and scalar tails agree bit for bit.

/// 1.5 * 2^23: adding it to an integer-valued float below 2^22 in magnitude leaves the integer's
/// two's complement in the low mantissa bits, a conversion that vectorizes on every ISA.
@usableFromInline let _magicInteger: Float = 12_582_912

typealias _FloatVector = SIMD16<Float>

/// Lane-wise minimum as a compare and blend (one `minps`); the standard library's `pointwiseMin`
/// follows IEEE `minimum` NaN rules lane by lane and does not vectorize. Inputs here are NaN-free or
/// NaN-checked separately.
@inline(__always)
func _lanewiseMin(_ a: _FloatVector, _ b: _FloatVector) -> _FloatVector { a.replacing(with: b, where: b .< a) }

/// Lane-wise maximum as a compare and blend (one `maxps`); see `_lanewiseMin`.
@inline(__always)
func _lanewiseMax(_ a: _FloatVector, _ b: _FloatVector) -> _FloatVector { a.replacing(with: b, where: b .> a) }

/// The smallest lane, by halving with vector minimums (the standard library's `min()` is a scalar
/// NaN-aware loop).
@inline(__always)
func _horizontalMin(_ v: _FloatVector) -> Float {
    let eight = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .< v.lowHalf)
    let four = eight.lowHalf.replacing(with: eight.highHalf, where: eight.highHalf .< eight.lowHalf)
    let two = four.lowHalf.replacing(with: four.highHalf, where: four.highHalf .< four.lowHalf)
    return Swift.min(two[0], two[1])
}

/// Minimum, maximum and whether every element is finite, of `x[0..<count]`.
@inline(__always)
func _minMax(_ x: UnsafePointer<Float>, _ count: Int) -> (min: Float, max: Float, finite: Bool) {
    var low = _FloatVector(repeating: .infinity)
    var high = _FloatVector(repeating: -.infinity)
    var poison = _FloatVector()  // becomes NaN once a NaN or an infinity was multiplied by 0
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: _FloatVector.self)
        low = _lanewiseMin(low, v)
        high = _lanewiseMax(high, v)
        poison += v * 0
        i += 16
    }
    var lowest = _horizontalMin(low)
    var highest = -_horizontalMin(-high)
    var poisonSum = poison.sum()
    while i < count {
        let v = x[i]
        lowest = Swift.min(lowest, v)
        highest = Swift.max(highest, v)
        poisonSum += v * 0
        i += 1
    }
    return (lowest, highest, !poisonSum.isNaN)
}

/// Whether every element of `x[0..<count]` is finite.
@inline(__always)
func _allFinite(_ x: UnsafePointer<Float>, _ count: Int) -> Bool {
    _minMax(x, count).finite
}

/// Codes of `x[0..<count]` with one scale and zero point:
/// `code = clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax)`, stored as the low 8 bits of its
/// two's complement. Inputs must be finite.
@inline(__always)
func _quantizeSpan(
    _ x: UnsafePointer<Float>, _ count: Int, _ params: QuantParams, qmin: Int32, qmax: Int32,
    into codes: UnsafeMutablePointer<UInt8>
) {
    let scale = _FloatVector(repeating: params.scale)
    let zero = SIMD16<UInt32>(repeating: UInt32(bitPattern: params.zeroPoint))
    let low = _FloatVector(repeating: Float(qmin - params.zeroPoint))
    let high = _FloatVector(repeating: Float(qmax - params.zeroPoint))
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: _FloatVector.self)
        let q = _roundedCode(_lanewiseMax(_lanewiseMin(v / scale, high), low)) &+ zero
        UnsafeMutableRawPointer(codes + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: q), as: SIMD16<UInt8>.self)
        i += 16
    }
    while i < count {
        codes[i] = _quantizeScalar(x[i], params.scale, Float(params.zeroPoint), Float(qmin), Float(qmax))
        i += 1
    }
}

/// `_quantizeSpan` with one scale and zero point per element (per-column parameters).
@inline(__always)
func _quantizeSpan(
    _ x: UnsafePointer<Float>, _ count: Int, scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Float>,
    qmin: Int32, qmax: Int32, into codes: UnsafeMutablePointer<UInt8>
) {
    let low = _FloatVector(repeating: Float(qmin))
    let high = _FloatVector(repeating: Float(qmax))
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: _FloatVector.self)
        let scale = UnsafeRawPointer(scales + i).loadUnaligned(as: _FloatVector.self)
        let zero = UnsafeRawPointer(zeroPoints + i).loadUnaligned(as: _FloatVector.self)
        let q = _roundedCode(_lanewiseMax(_lanewiseMin(v / scale, high - zero), low - zero)) &+ _integerBits(zero)
        UnsafeMutableRawPointer(codes + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: q), as: SIMD16<UInt8>.self)
        i += 16
    }
    while i < count {
        codes[i] = _quantizeScalar(x[i], scales[i], zeroPoints[i], Float(qmin), Float(qmax))
        i += 1
    }
}

/// The code of `x` as a float, `clamp(roundHalfEven(x / scale) + zero, low, high)`: the one scalar
/// formula of quantization, which the span kernels vectorize and the searches of PTQ evaluate. Clamping
/// `x / scale` to the integer bounds `[low - zero, high - zero]` before rounding equals rounding before
/// clamping, and keeps the value small. NaN (a value another thread changed after the finiteness check)
/// clamps to `high`, so no conversion of the code can trap.
@inline(__always)
func _gridCode(_ x: Float, _ scale: Float, _ zero: Float, _ low: Float, _ high: Float) -> Float {
    let t = x / scale
    return (t < high - zero ? (t > low - zero ? t : low - zero) : high - zero).rounded(.toNearestOrEven) + zero
}

/// `_gridCode` as the code's low byte (its two's complement on a signed grid).
@inline(__always)
func _quantizeScalar(_ x: Float, _ scale: Float, _ zero: Float, _ low: Float, _ high: Float) -> UInt8 {
    UInt8(truncatingIfNeeded: Int32(_gridCode(x, scale, zero, low, high)))
}

/// Rounds values already clamped below 2^22 in magnitude half to even, returning the integers'
/// two's complement bits: adding 1.5 * 2^23 rounds in the FPU's default mode on every ISA (no
/// SSE4.1 `roundps` needed) and leaves the integer in the low mantissa bits.
@inline(__always)
func _roundedCode(_ t: _FloatVector) -> SIMD16<UInt32> {
    unsafeBitCast(t + _magicInteger, to: SIMD16<UInt32>.self) &- SIMD16<UInt32>(repeating: _magicInteger.bitPattern)
}

/// `q - zero` as floats for `q = clamp(roundHalfEven(v / scale) + zero, low, high)` (zero, low and high
/// integers): the fake-quantized values in units of the scale, exactly as the scalar formula gives them
/// (clamping before rounding, as `_quantizeScalar`; rounding by `_magicInteger`).
@inline(__always)
func _fakeQuantizedSteps(_ v: _FloatVector, scale: Float, zero: Float, low: Float, high: Float) -> _FloatVector {
    let t = _lanewiseMax(_lanewiseMin(v / _FloatVector(repeating: scale), _FloatVector(repeating: high - zero)),
                         _FloatVector(repeating: low - zero))
    return (t + _magicInteger) - _magicInteger
}

/// The two's complement bits of integer-valued floats below 2^22 in magnitude.
@inline(__always)
func _integerBits(_ v: _FloatVector) -> SIMD16<UInt32> { _roundedCode(v) }

/// The integer values of codes (low `bits` bits of each byte), sign-extended on a signed grid.
@inline(__always)
func _codeValues(_ codes: SIMD16<UInt8>, bits: Int, signed: Bool) -> SIMD16<Int32> {
    let wide = SIMD16<Int32>(truncatingIfNeeded: codes)
    guard signed else { return wide }
    let shift = SIMD16<Int32>(repeating: Int32(32 - bits))
    return (wide &<< shift) &>> shift
}

/// Int32 to Float for values below 2^22 in magnitude, through the magic-number identity.
@inline(__always)
func _exactFloat(_ v: SIMD16<Int32>) -> _FloatVector {
    let biased = unsafeBitCast(v &+ SIMD16<Int32>(repeating: Int32(bitPattern: _magicInteger.bitPattern)), to: _FloatVector.self)
    return biased - _magicInteger
}

/// Dequantizes `codes[0..<count]` with one scale and zero point: `x' = Float(code - zeroPoint) * scale`.
@inline(__always)
func _dequantizeSpan(
    _ codes: UnsafePointer<UInt8>, _ count: Int, _ params: QuantParams, bits: Int, signed: Bool,
    into out: UnsafeMutablePointer<Float>
) {
    let scale = _FloatVector(repeating: params.scale)
    let zero = SIMD16<Int32>(repeating: params.zeroPoint)
    var i = 0
    while i + 16 <= count {
        let c = UnsafeRawPointer(codes + i).loadUnaligned(as: SIMD16<UInt8>.self)
        let v = _exactFloat(_codeValues(c, bits: bits, signed: signed) &- zero) * scale
        UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: _FloatVector.self)
        i += 16
    }
    while i < count {
        out[i] = Float(_codeValue(codes[i], bits: bits, signed: signed) - params.zeroPoint) * params.scale
        i += 1
    }
}

/// `_dequantizeSpan` with one scale and zero point per element (per-column parameters).
@inline(__always)
func _dequantizeSpan(
    _ codes: UnsafePointer<UInt8>, _ count: Int, scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Int32>,
    bits: Int, signed: Bool, into out: UnsafeMutablePointer<Float>
) {
    var i = 0
    while i + 16 <= count {
        let c = UnsafeRawPointer(codes + i).loadUnaligned(as: SIMD16<UInt8>.self)
        let zero = UnsafeRawPointer(zeroPoints + i).loadUnaligned(as: SIMD16<Int32>.self)
        let scale = UnsafeRawPointer(scales + i).loadUnaligned(as: _FloatVector.self)
        let v = _exactFloat(_codeValues(c, bits: bits, signed: signed) &- zero) * scale
        UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: _FloatVector.self)
        i += 16
    }
    while i < count {
        out[i] = Float(_codeValue(codes[i], bits: bits, signed: signed) - zeroPoints[i]) * scales[i]
        i += 1
    }
}

@inline(__always)
func _codeValue(_ code: UInt8, bits: Int, signed: Bool) -> Int32 {
    let wide = Int32(code)
    guard signed else { return wide }
    let shift = Int32(32 - bits)
    return (wide << shift) >> shift
}
