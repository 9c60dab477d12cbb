// ggml's K-quants: super-blocks of 256 with sub-block scales (and minimums) quantized against one or two
// float16 super-block scales. `quantize_row_qN_K_ref` without an importance row, `quantize_row_qN_K_impl`
// with one, transcribed from ggml-quants.c (each sub-block's codes stay in `codes` when its
// quantized scale is zero, as in ggml).

/// Packs 256 2-bit codes: byte `32h + l` of the 128-value half h holds codes l, l+32, l+64, l+96.
@inline(__always)
func _packTwoBit256(_ codes: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
    for half in stride(from: 0, to: 256, by: 128) {
        for l in 0..<32 {
            out[half / 4 + l] = codes[half + l] | codes[half + l + 32] << 2 | codes[half + l + 64] << 4 | codes[half + l + 96] << 6
        }
    }
}

/// ggml's `get_scale_min_k4`: the 6-bit scale and minimum of sub-block j of Q4_K and Q5_K.
@inline(__always)
func _scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (scale: UInt8, min: UInt8) {
    if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
    return (q[j + 4] & 0xF | (q[j - 4] >> 6) << 4, q[j + 4] >> 4 | (q[j] >> 6) << 4)
}

/// Packs eight 6-bit scales and minimums into Q4_K's and Q5_K's 12 bytes.
@inline(__always)
func _packScaleMinK4(_ scales: UnsafePointer<UInt8>, _ mins: UnsafePointer<UInt8>, _ q: UnsafeMutablePointer<UInt8>) {
    for j in 0..<8 {
        let (ls, lm) = (scales[j], mins[j])
        if j < 4 {
            q[j] = ls
            q[j + 4] = lm
        } else {
            q[j + 4] = ls & 0xF | (lm & 0xF) << 4
            q[j - 4] |= (ls >> 4) << 6
            q[j] |= (lm >> 4) << 6
        }
    }
}

/// Q3_K's 6-bit scale of sub-block j from its 12 packed bytes, minus 32.
@inline(__always)
func _scaleQ3K(_ j: Int, _ q: UnsafePointer<UInt8>) -> Int8 {
    let low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4
    return Int8(truncatingIfNeeded: Int(low | ((q[8 + j % 4] >> UInt8(2 * (j / 4))) & 3) << 4) - 32)
}

/// Scratch of one super-block: codes, trial codes, weights and the sub-block fits.
struct _SuperBlockScratch {
    let codes: UnsafeMutablePointer<UInt8>       // 256
    let trial: UnsafeMutablePointer<UInt8>       // 32
    let weights: UnsafeMutablePointer<Float>     // 32
    let scales: UnsafeMutablePointer<Float>      // 16
    let mins: UnsafeMutablePointer<Float>        // 16
    let sums: UnsafeMutablePointer<Float>        // 16
    let scaleCodes: UnsafeMutablePointer<UInt8>  // 16
    let minCodes: UnsafeMutablePointer<UInt8>    // 16

    static func with<R>(_ body: (_SuperBlockScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 32) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 48) { floats in
                let b = bytes.baseAddress!, f = floats.baseAddress!
                return body(_SuperBlockScratch(codes: b, trial: b + 256, weights: f, scales: f + 32, mins: f + 48,
                                               sums: f + 64, scaleCodes: b + 288, minCodes: b + 304))
            }
        }
    }

    var signedCodes: UnsafeMutablePointer<Int8> { UnsafeMutableRawPointer(codes).assumingMemoryBound(to: Int8.self) }
}

/// `Σ x²` of the 256 values of a super-block, in ggml's order.
@inline(__always)
func _sumSquares256(_ x: UnsafePointer<Float>) -> Float {
    var sum: Float = 0
    for j in 0..<256 { sum += x[j] * x[j] }
    return sum
}

enum _GGMLKQuants {
    static func quantizeQ2K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, _ qw: UnsafePointer<Float>?, _ s: _SuperBlockScratch) {
        let sigma2 = qw.map { _ in _sumSquares256(x) / 256 } ?? 0
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<16 {
            let xj = x + 16 * j
            if let qw {
                for l in 0..<16 { s.weights[l] = qw[16 * j + l] * (sigma2 + xj[l] * xj[l]).squareRoot() }
                s.sums[j] = 0
                for l in 0..<16 { s.sums[j] += s.weights[l] }
            } else {
                for l in 0..<16 { s.weights[l] = abs(xj[l]) }
            }
            let search = qw == nil ? _AffineSearch(rmin: -0.5, rdelta: 0.1, steps: 15, useMAD: true)
                                   : _AffineSearch(rmin: -0.9, rdelta: 0.05, steps: 36, useMAD: false)
            (s.scales[j], s.mins[j]) = _makeAffineCodes(16, 3, xj, s.weights, s.codes + 16 * j, s.trial, search)
            if s.scales[j] > maxScale { maxScale = s.scales[j] }
            if s.mins[j] > maxMin { maxMin = s.mins[j] }
        }
        let scales = y, qs = y + 16
        if qw != nil {
            let dm = _makeScaleCodes(16, 15, s.scales, s.scaleCodes, s.sums)
            let mm = _makeScaleCodes(16, 15, s.mins, s.minCodes, s.sums)
            _storeHalf(dm, y, 80)
            _storeHalf(mm, y, 82)
            for j in 0..<16 { scales[j] = s.scaleCodes[j] | s.minCodes[j] << 4 }
        } else {
            if maxScale > 0 {
                let iscale = 15 / maxScale
                for j in 0..<16 { scales[j] = UInt8(truncatingIfNeeded: _nearestInt(iscale * s.scales[j])) }
                _storeHalf(maxScale / 15, y, 80)
            } else {
                for j in 0..<16 { scales[j] = 0 }
                _storeHalf(0, y, 80)
            }
            if maxMin > 0 {
                let iscale = 15 / maxMin
                for j in 0..<16 { scales[j] |= UInt8(truncatingIfNeeded: _nearestInt(iscale * s.mins[j]) << 4) }
                _storeHalf(maxMin / 15, y, 82)
            } else {
                _storeHalf(0, y, 82)
            }
        }
        let d = _loadHalf(y, 80), dmin = _loadHalf(y, 82)
        for j in 0..<16 {
            let dj = d * Float(scales[j] & 0xF)
            if dj == 0 { continue }
            let mj = dmin * Float(scales[j] >> 4)
            for l in 0..<16 {
                s.codes[16 * j + l] = UInt8(max(0, min(3, _nearestInt((x[16 * j + l] + mj) / dj))))
            }
        }
        _packTwoBit256(s.codes, qs)
    }

    static func quantizeQ3K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, _ qw: UnsafePointer<Float>?, _ s: _SuperBlockScratch) {
        let hmask = y, qs = y + 32, packed = y + 96
        let codes = s.signedCodes
        packed.update(repeating: 0, count: 12)
        @inline(__always) func packScale(_ j: Int, _ l: Int) {
            if j < 8 { packed[j] = UInt8(l & 0xF) } else { packed[j - 8] |= UInt8((l & 0xF) << 4) }
            packed[j % 4 + 8] |= UInt8(truncatingIfNeeded: (l >> 4) << (2 * (j / 4)))
        }
        if let qw {
            let sigma2 = 2 * _sumSquares256(x) / 256
            for j in 0..<16 {
                let xj = x + 16 * j
                for l in 0..<16 { s.weights[l] = qw[16 * j + l] * (sigma2 + xj[l] * xj[l]).squareRoot() }
                var sum: Float = 0
                for l in 0..<16 { sum += s.weights[l] }
                s.sums[j] = sum
                s.scales[j] = _makeSymmetricCodes(16, 4, xj, codes + 16 * j, weights: s.weights)
            }
            let scaleCodes = UnsafeMutableRawPointer(s.scaleCodes).assumingMemoryBound(to: Int8.self)
            let dBlock = _makeSymmetricCodes(16, 32, s.scales, scaleCodes, weights: s.sums)
            for j in 0..<16 { packScale(j, Int(scaleCodes[j])) }
            _storeHalf(dBlock, y, 108)
        } else {
            var maxScale: Float = 0, amax: Float = 0
            for j in 0..<16 {
                s.scales[j] = _makeQ3Codes(16, 4, x + 16 * j, codes + 16 * j)
                if abs(s.scales[j]) > amax { amax = abs(s.scales[j]); maxScale = s.scales[j] }
            }
            if maxScale != 0 {
                let iscale = -32 / maxScale
                for j in 0..<16 {
                    let l = Int8(truncatingIfNeeded: _nearestInt(iscale * s.scales[j]))
                    packScale(j, Int(max(-32, min(31, l))) + 32)
                }
                _storeHalf(1 / iscale, y, 108)
            } else {
                _storeHalf(0, y, 108)
            }
        }
        let d = _loadHalf(y, 108)
        for j in 0..<16 {
            let dj = d * Float(_scaleQ3K(j, packed))
            if dj == 0 { continue }
            for l in 0..<16 {
                codes[16 * j + l] = Int8(max(-4, min(3, _nearestInt(x[16 * j + l] / dj))) + 4)
            }
        }
        hmask.update(repeating: 0, count: 32)
        var m = 0, bit: UInt8 = 1
        for j in 0..<256 {
            if codes[j] > 3 {
                hmask[m] |= bit
                codes[j] -= 4
            }
            m += 1
            if m == 32 { m = 0; bit = bit << 1 }
        }
        _packTwoBit256(s.codes, qs)
    }

    /// Q4_K (`nmax` 15) and Q5_K (31): eight sub-blocks of 32 with 6-bit scales and minimums.
    static func quantizeQ45K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, _ qw: UnsafePointer<Float>?,
                             _ s: _SuperBlockScratch, nmax: Int32) {
        let packed = y + 4
        var maxScale: Float = 0, maxMin: Float = 0
        let sigma2 = qw.map { _ in 2 * _sumSquares256(x) / 256 } ?? 0
        for j in 0..<8 {
            let xj = x + 32 * j
            if let qw {
                for l in 0..<32 { s.weights[l] = qw[32 * j + l] * (sigma2 + xj[l] * xj[l]).squareRoot() }
                var sum: Float = 0
                for l in 0..<32 { sum += s.weights[l] }
                s.sums[j] = sum
            } else {
                var sumX2: Float = 0
                for l in 0..<32 { sumX2 += xj[l] * xj[l] }
                let av = (sumX2 / 32).squareRoot()
                for l in 0..<32 { s.weights[l] = av + abs(xj[l]) }
            }
            let search = qw != nil ? _AffineSearch(rmin: -0.9, rdelta: 0.05, steps: 36, useMAD: false)
                : nmax == 15 ? _AffineSearch(rmin: -1, rdelta: 0.1, steps: 20, useMAD: false)
                : _AffineSearch(rmin: -0.5, rdelta: 0.1, steps: 15, useMAD: false)
            (s.scales[j], s.mins[j]) = _makeAffineCodes(32, nmax, xj, s.weights, s.codes + 32 * j, s.trial, search)
            if s.scales[j] > maxScale { maxScale = s.scales[j] }
            if s.mins[j] > maxMin { maxMin = s.mins[j] }
        }
        if qw != nil {
            let dBlock = _makeScaleCodes(8, 63, s.scales, s.scaleCodes, s.sums)
            let mBlock = _makeScaleCodes(8, 63, s.mins, s.minCodes, s.sums)
            if nmax == 31 {
                for j in 0..<8 {
                    s.scaleCodes[j] = min(63, s.scaleCodes[j])
                    s.minCodes[j] = min(63, s.minCodes[j])
                }
            }
            _packScaleMinK4(s.scaleCodes, s.minCodes, packed)
            _storeHalf(dBlock, y, 0)
            _storeHalf(mBlock, y, 2)
        } else {
            let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
            for j in 0..<8 {
                s.scaleCodes[j] = min(63, UInt8(truncatingIfNeeded: _nearestInt(inverseScale * s.scales[j])))
                s.minCodes[j] = min(63, UInt8(truncatingIfNeeded: _nearestInt(inverseMin * s.mins[j])))
            }
            _packScaleMinK4(s.scaleCodes, s.minCodes, packed)
            _storeHalf(maxScale / 63, y, 0)
            _storeHalf(maxMin / 63, y, 2)
        }
        let d = _loadHalf(y, 0), dmin = _loadHalf(y, 2)
        for j in 0..<8 {
            let (sc, m) = _scaleMinK4(j, packed)
            let dj = d * Float(sc)
            if dj == 0 { continue }
            let mj = dmin * Float(m)
            for l in 0..<32 {
                s.codes[32 * j + l] = UInt8(max(0, min(nmax, _nearestInt((x[32 * j + l] + mj) / dj))))
            }
        }
        if nmax == 15 {
            let qs = y + 16
            for chunk in 0..<4 {
                for l in 0..<32 { qs[32 * chunk + l] = s.codes[64 * chunk + l] | s.codes[64 * chunk + l + 32] << 4 }
            }
        } else {
            let qh = y + 16, ql = y + 48
            qh.update(repeating: 0, count: 32)
            var m1: UInt8 = 1, m2: UInt8 = 2
            for chunk in 0..<4 {
                for j in 0..<32 {
                    var l1 = s.codes[64 * chunk + j], l2 = s.codes[64 * chunk + j + 32]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    ql[32 * chunk + j] = l1 | l2 << 4
                }
                m1 = m1 << 2
                m2 = m2 << 2
            }
        }
    }

    static func quantizeQ6K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, _ qw: UnsafePointer<Float>?, _ s: _SuperBlockScratch) {
        let codes = s.signedCodes
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for j in 0..<16 {
            s.scales[j] = _makeSymmetricCodes(16, 32, x + 16 * j, codes + 16 * j, weights: qw.map { $0 + 16 * j })
            if abs(s.scales[j]) > maxAbsScale { maxAbsScale = abs(s.scales[j]); maxScale = s.scales[j] }
        }
        if maxAbsScale < _groupMaxEpsilon {
            y.update(repeating: 0, count: 210)
            return
        }
        let ql = y, qh = y + 128, scales = y + 192
        let iscale = -128 / maxScale
        _storeHalf(1 / iscale, y, 208)
        for j in 0..<16 { scales[j] = UInt8(truncatingIfNeeded: min(127, _nearestInt(iscale * s.scales[j]))) }
        let d = _loadHalf(y, 208)
        for j in 0..<16 {
            let dj = d * Float(Int8(bitPattern: scales[j]))
            if dj == 0 { continue }
            for l in 0..<16 {
                codes[16 * j + l] = Int8(max(-32, min(31, _nearestInt(x[16 * j + l] / dj))) + 32)
            }
        }
        let L = s.codes
        for half in 0..<2 {
            let base = 128 * half, low = ql + 64 * half, high = qh + 32 * half
            for l in 0..<32 {
                let (q1, q2, q3, q4) = (L[base + l], L[base + l + 32], L[base + l + 64], L[base + l + 96])
                low[l] = q1 & 0xF | (q3 & 0xF) << 4
                low[l + 32] = q2 & 0xF | (q4 & 0xF) << 4
                high[l] = q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6
            }
        }
    }
}
