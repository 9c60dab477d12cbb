// ggml's blocks whose codes index a table of values: IQ4_NL (a non-uniform 4-bit table with a float16
// scale), MXFP4 (FP4 E2M1 values with an E8M0 exponent per 32) and NVFP4 (E2M1 with a UE4M3 scale per
// 16). The tables hold ggml's doubled FP4 values, which its halved scales undo.

/// ggml's `kvalues_iq4nl`.
let _iq4nlValues: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

/// ggml's `kvalues_mxfp4`: twice the E2M1 values, sign in bit 3.
let _fp4DoubledValues: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

/// ggml's `best_index_mxfp4`: the first index whose value times `d` is nearest to `x` (a tie keeps the
/// lower index, so the smaller magnitude and +0 win).
@inline(__always)
func _nearestFP4(_ x: Float, _ d: Float, _ values: UnsafePointer<Int8>) -> UInt8 {
    var best = 0
    var bestError = abs(Float(values[0]) * d - x)
    for i in 1..<16 {
        let error = abs(Float(values[i]) * d - x)
        if error < bestError {
            best = i
            bestError = error
        }
    }
    return UInt8(best)
}

enum _GGMLTableBlocks {
    /// IQ4_NL as `quantize_iq4_nl` (the path `llama-quantize` takes, `ntry` 7), with or without
    /// importance: weights `qw·sqrt(sigma2 + x²)` or x², a least-squares scale refined over 15 trial
    /// inverse scales, codes from the final scale. (ggml's `quantize_row_iq4_nl_ref`, `ntry` -1, skips
    /// the search; its output is not what model files hold.)
    static func quantizeIQ4NL(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>, _ importance: UnsafePointer<Float>?) {
        _iq4nlValues.withUnsafeBufferPointer { table in
            let values = table.baseAddress!
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
                let weight = weights.baseAddress!
                for block in 0..<(n / 32) {
                    let xb = x + 32 * block, out = y + 18 * block
                    var sigma2: Float = 0
                    for j in 0..<32 { sigma2 += xb[j] * xb[j] }
                    sigma2 *= Float(2) / 32
                    if let importance {
                        for j in 0..<32 { weight[j] = importance[32 * block + j] * (sigma2 + xb[j] * xb[j]).squareRoot() }
                    } else {
                        for j in 0..<32 { weight[j] = xb[j] * xb[j] }
                    }
                    let (maxValue, amax) = _signedAbsMax(xb, 32)
                    var scale: Float = 0
                    if amax >= _groupMaxEpsilon {
                        scale = fitScale(xb, weight, values, maxValue: maxValue)
                    }
                    _storeHalf(scale, out, 0)
                    let id: Float = scale != 0 ? 1 / scale : 0
                    for j in 0..<16 {
                        let low = UInt8(_bestIndex(values, 16, id * xb[j]))
                        let high = UInt8(_bestIndex(values, 16, id * xb[j + 16]))
                        out[2 + j] = low | high << 4
                    }
                }
            }
        }
    }

    /// The search of ggml's `quantize_row_iq4_nl_impl` for one block with `ntry` 7.
    private static func fitScale(_ xb: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ values: UnsafePointer<Int8>,
                                 maxValue: Float) -> Float {
        @inline(__always) func sums(_ id: Float) -> (qx: Float, q2: Float) {
            var sumqx: Float = 0, sumq2: Float = 0
            for j in 0..<32 {
                let q = Float(values[_bestIndex(values, 16, id * xb[j])])
                let w = weight[j]
                sumqx += w * q * xb[j]
                sumq2 += w * q * q
            }
            return (sumqx, sumq2)
        }
        let d0 = -maxValue / Float(values[0])
        var (sumqx, sumq2) = sums(1 / d0)
        var d: Float = sumq2 > 0 ? sumqx / sumq2 : 0
        var best = d * sumqx
        for step in -7...7 {
            (sumqx, sumq2) = sums(Float(step + Int(values[0])) / maxValue)
            if sumq2 > 0, sumqx * sumqx > best * sumq2 {
                d = sumqx / sumq2
                best = d * sumqx
            }
        }
        return d
    }

    /// MXFP4: exponent `(uint8_t)(floorf(log2f(amax)) - 2 + 127)` (0 for an all-zero block), codes by
    /// `_nearestFP4`. ggml ignores importance here.
    static func quantizeMXFP4(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>) {
        _fp4DoubledValues.withUnsafeBufferPointer { table in
            let values = table.baseAddress!
            for block in 0..<(n / 32) {
                let xb = x + 32 * block, out = y + 17 * block
                let amax = _signedAbsMax(xb, 32).magnitude
                let e: UInt8 = amax > 0
                    ? UInt8(truncatingIfNeeded: _truncatedInt32(_log2(amax).rounded(.down) - 2 + 127)) : 0
                let d = _e8m0HalfValue(e)
                out[0] = e
                for j in 0..<16 {
                    out[1 + j] = _nearestFP4(xb[j], d, values) | _nearestFP4(xb[j + 16], d, values) << 4
                }
            }
        }
    }

    /// NVFP4: blocks of 64 in four sub-blocks of 16, each with the UE4M3 scale of `amax/6`; ggml ignores
    /// importance here.
    static func quantizeNVFP4(_ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<UInt8>) {
        _fp4DoubledValues.withUnsafeBufferPointer { table in
            let values = table.baseAddress!
            for block in 0..<(n / 64) {
                let out = y + 36 * block
                for sub in 0..<4 {
                    let xb = x + 64 * block + 16 * sub
                    let amax = _signedAbsMax(xb, 16).magnitude
                    let ue = _ue4m3(amax / 6)
                    out[sub] = ue
                    let d = _ue4m3HalfValue(ue)
                    for j in 0..<8 {
                        out[4 + 8 * sub + j] = _nearestFP4(xb[j], d, values) | _nearestFP4(xb[j + 8], d, values) << 4
                    }
                }
            }
        }
    }

    static func dequantize(_ type: GGMLType, _ y: UnsafePointer<UInt8>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        switch type {
        case .iq4_nl:
            _iq4nlValues.withUnsafeBufferPointer { values in
                for block in 0..<(n / 32) {
                    let b = y + 18 * block, o = out + 32 * block
                    let d = _loadHalf(b, 0)
                    for j in 0..<16 {
                        o[j] = d * Float(values[Int(b[2 + j] & 0xF)])
                        o[j + 16] = d * Float(values[Int(b[2 + j] >> 4)])
                    }
                }
            }
        case .mxfp4:
            _fp4DoubledValues.withUnsafeBufferPointer { values in
                for block in 0..<(n / 32) {
                    let b = y + 17 * block, o = out + 32 * block
                    let d = _e8m0HalfValue(b[0])
                    for j in 0..<16 {
                        o[j] = Float(values[Int(b[1 + j] & 0xF)]) * d
                        o[j + 16] = Float(values[Int(b[1 + j] >> 4)]) * d
                    }
                }
            }
        default:  // .nvfp4
            _fp4DoubledValues.withUnsafeBufferPointer { values in
                for block in 0..<(n / 64) {
                    let b = y + 36 * block
                    for sub in 0..<4 {
                        let d = _ue4m3HalfValue(b[sub]), o = out + 64 * block + 16 * sub
                        for j in 0..<8 {
                            let byte = b[4 + 8 * sub + j]
                            o[j] = Float(values[Int(byte & 0xF)]) * d
                            o[j + 8] = Float(values[Int(byte >> 4)]) * d
                        }
                    }
                }
            }
        }
    }
}
