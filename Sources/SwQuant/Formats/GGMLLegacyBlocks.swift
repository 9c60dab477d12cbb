// ggml's blocks of 32 with one scale (Q4_0, Q5_0, Q8_0) or a scale and a minimum (Q4_1, Q5_1):
// `quantize_row_*_ref` without an importance row, `quantize_row_*_impl` with one (ggml-quants.c).
//
// Q4_0 and Q5_0 compute their codes as `(int8_t)(x*id + 8.5f)`: two float roundings, as ggml-base
// compiles on x86-64 (no FMA contraction there). A build that fuses the two (ggml on arm64, or the
// `gguf` package's float64 emulation) can differ in a code where `x*id + 8.5` lands within half an ulp
// of an integer; docs/formats.md records how often on real weights.

/// Stores `value` little-endian at `offset`.
@inline(__always)
func _storeHalf(_ value: Float, _ block: UnsafeMutablePointer<UInt8>, _ offset: Int) {
    let bits = _halfBits(value)
    block[offset] = UInt8(truncatingIfNeeded: bits)
    block[offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
}

/// The float16 at `offset`.
@inline(__always)
func _loadHalf(_ block: UnsafePointer<UInt8>, _ offset: Int) -> Float {
    _halfValue(UInt16(block[offset]) | UInt16(block[offset + 1]) << 8)
}

/// ggml's whole-row variance term of the legacy importance quantizers: `Σx² / n`.
@inline(__always)
func _rowSigma2(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var sum: Float = 0
    for j in 0..<n { sum += x[j] * x[j] }
    return sum / Float(n)
}

/// `qw[j] · sqrt(sigma2 + x[j]²)` for the 32 values of one block.
@inline(__always)
func _importanceWeights(_ x: UnsafePointer<Float>, _ importance: UnsafePointer<Float>, sigma2: Float,
                        _ out: UnsafeMutablePointer<Float>, count: Int) {
    for j in 0..<count { out[j] = importance[j] * (sigma2 + x[j] * x[j]).squareRoot() }
}

/// The signed value of largest magnitude in `x[0..<n]` (the first wins a tie) and that magnitude.
@inline(__always)
func _signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> (value: Float, magnitude: Float) {
    var amax: Float = 0, value: Float = 0
    for j in 0..<n where amax < abs(x[j]) {
        amax = abs(x[j])
        value = x[j]
    }
    return (value, amax)
}

/// Packs 32 4-bit codes as ggml does: byte j holds code j (low nibble) and code j + 16 (high),
/// unmasked, as ggml's `L[j] | L[j+16] << 4`.
@inline(__always)
func _packNibbles32(_ codes: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
    for j in 0..<16 { out[j] = codes[j] | codes[j + 16] << 4 }
}

/// Packs 32 5-bit codes: the low nibbles as `_packNibbles32`, bit 4 of code j into bit j of a
/// little-endian u32.
@inline(__always)
func _packFiveBit32(_ codes: UnsafePointer<UInt8>, high: UnsafeMutablePointer<UInt8>, low: UnsafeMutablePointer<UInt8>) {
    var qh: UInt32 = 0
    for j in 0..<16 {
        low[j] = codes[j] & 0xF | (codes[j + 16] & 0xF) << 4
        qh |= UInt32((codes[j] & 0x10) >> 4) << UInt32(j)
        qh |= UInt32((codes[j + 16] & 0x10) >> 4) << UInt32(j + 16)
    }
    for b in 0..<4 { high[b] = UInt8(truncatingIfNeeded: qh >> UInt32(8 * b)) }
}

enum _GGMLLegacy {
    /// Q4_0 (`nmax` 8, 4 bits) and Q5_0 (16, 5 bits): `d = max/-nmax`, codes `(int8_t)(x·id + nmax + 0.5)`;
    /// with importance, `make_qx_quants` weighted by `qw·sqrt(sigma2 + x²)`.
    static func quantizeSymmetric(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>,
                                  _ importance: UnsafePointer<Float>?, nmax: Int32, blockBytes: Int) {
        let sigma2 = importance.map { _ in _rowSigma2(x, n) } ?? 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { codes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
                let codes = codes.baseAddress!, weights = weights.baseAddress!
                for block in 0..<(n / 32) {
                    let xb = x + 32 * block, out = y + blockBytes * block
                    let d: Float
                    if let importance {
                        _importanceWeights(xb, importance + 32 * block, sigma2: sigma2, weights, count: 32)
                        d = codes.withMemoryRebound(to: Int8.self, capacity: 32) {
                            _makeSymmetricCodes(32, nmax, xb, $0, weights: weights)
                        }
                    } else {
                        d = _signedAbsMax(xb, 32).value / Float(-nmax)
                        let id: Float = d != 0 ? 1 / d : 0
                        let offset = Float(nmax) + 0.5, top = Int(2 * nmax - 1)
                        for j in 0..<32 {
                            codes[j] = UInt8(truncatingIfNeeded: min(top, Int(_truncatedInt8(xb[j] * id + offset))))
                        }
                    }
                    _storeHalf(d, out, 0)
                    if nmax == 8 {
                        _packNibbles32(codes, out + 2)
                    } else {
                        _packFiveBit32(codes, high: out + 2, low: out + 6)
                    }
                }
            }
        }
    }

    /// Q4_1 (15) and Q5_1 (31): `d = (max - min)/nmax`, `m = min`, codes `(x - min)·id + 0.5` truncated
    /// (clamped to 15 for Q4_1 only, as in ggml); with importance, `make_qkx3_quants`.
    static func quantizeAffine(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>,
                               _ importance: UnsafePointer<Float>?, nmax: Int32, blockBytes: Int) {
        let sigma2 = importance.map { _ in _rowSigma2(x, n) } ?? 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { codes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
                let codes = codes.baseAddress!, weights = weights.baseAddress!
                for block in 0..<(n / 32) {
                    let xb = x + 32 * block, out = y + blockBytes * block
                    let d: Float, m: Float
                    if let importance {
                        _importanceWeights(xb, importance + 32 * block, sigma2: sigma2, weights, count: 32)
                        let fit = _makeAffineCodes(32, nmax, xb, weights, codes, codes + 32,
                                                   _AffineSearch(rmin: -0.9, rdelta: 0.05, steps: 36, useMAD: false))
                        (d, m) = (fit.scale, -fit.negativeMin)
                    } else {
                        var minValue = Float.greatestFiniteMagnitude, maxValue = -Float.greatestFiniteMagnitude
                        for j in 0..<32 {
                            if xb[j] < minValue { minValue = xb[j] }
                            if xb[j] > maxValue { maxValue = xb[j] }
                        }
                        d = (maxValue - minValue) / Float(nmax)
                        m = minValue
                        let id: Float = d != 0 ? 1 / d : 0
                        for j in 0..<32 {
                            let v = (xb[j] - minValue) * id + 0.5
                            codes[j] = nmax == 15
                                ? UInt8(truncatingIfNeeded: min(15, Int(_truncatedInt8(v))))
                                : UInt8(truncatingIfNeeded: _truncatedInt32(v))
                        }
                    }
                    _storeHalf(d, out, 0)
                    _storeHalf(m, out, 2)
                    if nmax == 15 {
                        _packNibbles32(codes, out + 4)
                    } else {
                        _packFiveBit32(codes, high: out + 4, low: out + 8)
                    }
                }
            }
        }
    }

    /// Q8_0: `d = amax/127`, codes `roundf(x·id)` (half away from zero); ggml ignores importance here.
    static func quantizeQ8_0(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>) {
        for block in 0..<(n / 32) {
            let xb = x + 32 * block, out = y + 34 * block
            var amax: Float = 0
            for j in 0..<32 { amax = amax > abs(xb[j]) ? amax : abs(xb[j]) }  // C's MAX
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            _storeHalf(d, out, 0)
            for j in 0..<32 {
                out[2 + j] = UInt8(truncatingIfNeeded: _truncatedInt32((xb[j] * id).rounded(.toNearestOrAwayFromZero)))
            }
        }
    }

    /// Dequantizes Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0 blocks: `(q - offset)·d`, or `q·d + m`.
    static func dequantize(_ type: GGMLType, _ y: UnsafePointer<UInt8>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        let bytes = type.traits.blockBytes
        for block in 0..<(n / 32) {
            let b = y + bytes * block, o = out + 32 * block
            let d = _loadHalf(b, 0)
            switch type {
            case .q4_0:
                for j in 0..<16 {
                    o[j] = Float(Int(b[2 + j] & 0xF) - 8) * d
                    o[j + 16] = Float(Int(b[2 + j] >> 4) - 8) * d
                }
            case .q4_1:
                let m = _loadHalf(b, 2)
                for j in 0..<16 {
                    o[j] = Float(b[4 + j] & 0xF) * d + m
                    o[j + 16] = Float(b[4 + j] >> 4) * d + m
                }
            case .q5_0, .q5_1:
                let affine = type == .q5_1
                let m = affine ? _loadHalf(b, 2) : 0
                let high = b + (affine ? 4 : 2), low = high + 4
                let qh = UInt32(high[0]) | UInt32(high[1]) << 8 | UInt32(high[2]) << 16 | UInt32(high[3]) << 24
                for j in 0..<16 {
                    let h0 = UInt8(truncatingIfNeeded: (qh >> UInt32(j)) << 4) & 0x10
                    let h1 = UInt8(truncatingIfNeeded: qh >> UInt32(j + 12)) & 0x10
                    let q0 = Int(low[j] & 0xF | h0), q1 = Int(low[j] >> 4 | h1)
                    if affine {
                        o[j] = Float(q0) * d + m
                        o[j + 16] = Float(q1) * d + m
                    } else {
                        o[j] = Float(q0 - 16) * d
                        o[j + 16] = Float(q1 - 16) * d
                    }
                }
            default:  // .q8_0
                for j in 0..<32 { o[j] = Float(Int8(bitPattern: b[2 + j])) * d }
            }
        }
    }
}
