// The scale searches of ggml's K-quant and importance-weighted quantizers (ggml-quants.c
// `make_qx_quants`, `make_q3_quants`, `make_qkx2_quants`/`make_qkx3_quants`, `make_qp_quants`),
// transcribed operation by operation: each sum accumulates in the same order and each product keeps
// C's left-to-right grouping, so that the float results, and with them the blocks, are ggml's.

/// The codes `clamp(nearest_int(iscale · x[i]), low, high)` of 16 values at once: the same float
/// operations as ggml's scalar loop, element by element, so the codes are ggml's.
@inline(__always)
func _codes16(_ scaled: SIMD16<Float>, _ low: Int32, _ high: Int32) -> SIMD16<Int32> {
    let biased = scaled + 12582912
    let codes = (unsafeBitCast(biased, to: SIMD16<Int32>.self) & 0x7F_FFFF) &- 0x40_0000
    return codes.clamped(lowerBound: SIMD16(repeating: low), upperBound: SIMD16(repeating: high))
}

@inline(__always)
func _load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

/// `make_qx_quants` with `rmse_type` 1: a symmetric `[-nmax, nmax)` grid for `n` values (a multiple of 16,
/// at most 32), weighted by `weights` (x² when nil); codes `l + nmax` into `codes`; returns the scale.
///
/// Each trial computes its codes and per-value terms 16 at a time, then adds the terms in ggml's order:
/// the sums are ggml's floats.
func _makeSymmetricCodes(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Int8>,
                         weights: UnsafePointer<Float>?) -> Float {
    let (maxValue, amax) = _signedAbsMax(x, n)
    if amax < _groupMaxEpsilon {
        codes.update(repeating: 0, count: n)
        return 0
    }
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { scratch in
        // The weights, and each value times its weight, once (ggml recomputes both in every trial; the
        // products are the same floats).
        let w = scratch.baseAddress!, wx = w + 32
        for i in 0..<n {
            w[i] = weights?[i] ?? x[i] * x[i]
            wx[i] = w[i] * x[i]
        }
        func store(_ iscale: Float) {
            for base in stride(from: 0, to: n, by: 16) {
                let l = _codes16(_load16(x + base) * iscale, -nmax, nmax - 1) &+ nmax
                for i in 0..<16 { codes[base + i] = Int8(truncatingIfNeeded: l[i]) }
            }
        }
        func sums(_ iscale: Float) -> (lx: Float, l2: Float) {
            var sumlx: Float = 0, suml2: Float = 0
            for base in stride(from: 0, to: n, by: 16) {
                let fl = SIMD16<Float>(_codes16(_load16(x + base) * iscale, -nmax, nmax - 1))
                let lx = _load16(wx + base) * fl, l2 = _load16(w + base) * fl * fl
                for i in 0..<16 {
                    sumlx += lx[i]
                    suml2 += l2[i]
                }
            }
            return (sumlx, suml2)
        }
        var iscale = Float(-nmax) / maxValue
        store(iscale)
        var (sumlx, suml2) = sums(iscale)
        var scale = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / maxValue
            (sumlx, suml2) = sums(iscale)
            if suml2 > 0, sumlx * sumlx > best * suml2 {
                store(iscale)
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }
}

/// `make_q3_quants` with `do_rmse`: Q3_K's symmetric fit of 16 values weighted by x², refined by up to
/// five passes of coordinate descent; codes `l + nmax`; returns the scale.
func _makeQ3Codes(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Int8>) -> Float {
    let (maxValue, amax) = _signedAbsMax(x, n)
    if amax < _groupMaxEpsilon {
        codes.update(repeating: 0, count: n)
        return 0
    }
    let iscale = Float(-nmax) / maxValue
    var sumlx: Float = 0, suml2: Float = 0
    for i in 0..<n {
        let l = _clamp(_nearestInt(iscale * x[i]), -nmax, nmax - 1)
        codes[i] = Int8(truncatingIfNeeded: l)
        let w = x[i] * x[i], fl = Float(l)
        sumlx += w * x[i] * fl
        suml2 += w * fl * fl
    }
    for _ in 0..<5 {
        var changed = 0
        for i in 0..<n {
            let w = x[i] * x[i], current = Float(codes[i])
            var slx = sumlx - w * x[i] * current
            guard slx > 0 else { continue }
            var sl2 = suml2 - w * current * current
            let newL = _clamp(_nearestInt(x[i] * sl2 / slx), -nmax, nmax - 1)
            if newL != Int32(codes[i]) {
                let fl = Float(newL)
                slx += w * x[i] * fl
                sl2 += w * fl * fl
                if sl2 > 0, slx * slx * suml2 > sumlx * sumlx * sl2 {
                    codes[i] = Int8(truncatingIfNeeded: newL)
                    sumlx = slx
                    suml2 = sl2
                    changed += 1
                }
            }
        }
        if changed == 0 { break }
    }
    for i in 0..<n { codes[i] = codes[i] &+ Int8(truncatingIfNeeded: nmax) }
    return suml2 > 0 ? sumlx / suml2 : 0
}

/// The parameters of one `make_qkx2_quants` / `make_qkx3_quants` search: `nstep + 1` trial inverse
/// scales `(rmin + rdelta·step + nmax) / (max - min)`.
struct _AffineSearch {
    var rmin: Float
    var rdelta: Float
    var steps: Int
    var useMAD: Bool
}

/// `make_qkx2_quants` (and `make_qkx3_quants`, which is the same search once weights are given): an
/// affine `[0, nmax]` grid with `min ≤ 0`, weighted least squares over the trial scales, for `n` values
/// (16 or 32). Codes into `codes` (with `scratch` for trials); returns the scale and `-min`. Trials
/// compute codes and terms 16 at a time and add the terms in ggml's order, as `_makeSymmetricCodes`.
func _makeAffineCodes(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                      _ codes: UnsafeMutablePointer<UInt8>, _ scratch: UnsafeMutablePointer<UInt8>,
                      _ search: _AffineSearch) -> (scale: Float, negativeMin: Float) {
    var minValue = x[0], maxValue = x[0]
    var sumW = weights[0]
    var sumX = sumW * x[0]
    for i in 1..<n {
        if x[i] < minValue { minValue = x[i] }
        if x[i] > maxValue { maxValue = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if minValue > 0 { minValue = 0 }
    if maxValue <= minValue {
        codes.update(repeating: 0, count: n)
        return (0, -minValue)
    }
    let nmaxF = Float(nmax)
    let useMAD = search.useMAD
    /// The weighted error of codes `l` (16 from `base`) with `scale` and `minimum`, term by term.
    @inline(__always) func errors(_ l: SIMD16<Float>, _ base: Int, _ scale: Float, _ minimum: Float) -> SIMD16<Float> {
        let diff = l * scale + minimum - _load16(x + base)
        let magnitude = unsafeBitCast(unsafeBitCast(diff, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
        return _load16(weights + base) * (useMAD ? magnitude : diff * diff)
    }
    var iscale = nmaxF / (maxValue - minValue)
    var scale = 1 / iscale
    var bestError: Float = 0
    for base in stride(from: 0, to: n, by: 16) {
        let l = _codes16((_load16(x + base) - minValue) * iscale, 0, nmax)
        for i in 0..<16 { codes[base + i] = UInt8(truncatingIfNeeded: l[i]) }
        let e = errors(SIMD16<Float>(l), base, scale, minValue)
        for i in 0..<16 { bestError += e[i] }
    }
    if search.steps < 1 { return (scale, -minValue) }
    for step in 0...search.steps {
        iscale = (search.rmin + search.rdelta * Float(step) + nmaxF) / (maxValue - minValue)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for base in stride(from: 0, to: n, by: 16) {
            let l = _codes16((_load16(x + base) - minValue) * iscale, 0, nmax)
            for i in 0..<16 { scratch[base + i] = UInt8(truncatingIfNeeded: l[i]) }
            let wl = _load16(weights + base) * SIMD16<Float>(l)
            let wl2 = wl * SIMD16<Float>(l), wlx = wl * _load16(x + base)
            for i in 0..<16 {
                sumL += wl[i]
                sumL2 += wl2[i]
                sumXL += wlx[i]
            }
        }
        let determinant = sumW * sumL2 - sumL * sumL
        guard determinant > 0 else { continue }
        var thisScale = (sumW * sumXL - sumX * sumL) / determinant
        var thisMin = (sumL2 * sumX - sumL * sumXL) / determinant
        if thisMin > 0 {
            thisMin = 0
            thisScale = sumXL / sumL2
        }
        var currentError: Float = 0
        for base in stride(from: 0, to: n, by: 16) {
            var l = SIMD16<Float>()
            for i in 0..<16 { l[i] = Float(scratch[base + i]) }
            let e = errors(l, base, thisScale, thisMin)
            for i in 0..<16 { currentError += e[i] }
        }
        if currentError < bestError {
            codes.update(from: scratch, count: n)
            bestError = currentError
            scale = thisScale
            minValue = thisMin
        }
    }
    return (scale, -minValue)
}

/// `make_qp_quants`: the unsigned `[0, nmax]` codes of a super-block's sub-block scales (or mins),
/// weighted by `weights`; returns the super-block scale.
func _makeScaleCodes(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<UInt8>,
                     _ weights: UnsafePointer<Float>) -> Float {
    var maxValue: Float = 0
    for i in 0..<n { maxValue = maxValue > x[i] ? maxValue : x[i] }  // C's MAX, NaN included
    if maxValue < _groupMaxEpsilon {
        codes.update(repeating: 0, count: n)
        return 0
    }
    let nmaxF = Float(nmax)
    var iscale = nmaxF / maxValue
    for i in 0..<n { codes[i] = UInt8(truncatingIfNeeded: _nearestInt(iscale * x[i])) }
    let scale = 1 / iscale
    var bestMSE: Float = 0
    for i in 0..<n {
        let diff = x[i] - scale * Float(codes[i])
        bestMSE += weights[i] * diff * diff
    }
    for step in -4...4 where step != 0 {
        let trialInverse = (0.1 * Float(step) + nmaxF) / maxValue
        let trialScale = 1 / trialInverse
        var mse: Float = 0
        for i in 0..<n {
            let l = min(nmax, _nearestInt(trialInverse * x[i]))
            let diff = x[i] - trialScale * Float(l)
            mse += weights[i] * diff * diff
        }
        if mse < bestMSE {
            bestMSE = mse
            iscale = trialInverse
        }
    }
    var sumlx: Float = 0, suml2: Float = 0
    for i in 0..<n {
        let l = UInt8(truncatingIfNeeded: min(nmax, _nearestInt(iscale * x[i])))
        codes[i] = l
        let w = weights[i], fl = Float(l)
        sumlx += w * x[i] * fl
        suml2 += w * fl * fl
    }
    for _ in 0..<5 {
        var changed = 0
        for i in 0..<n {
            let w = weights[i], current = Float(codes[i])
            var slx = sumlx - w * x[i] * current
            var sl2 = suml2 - w * current * current
            guard slx > 0, sl2 > 0 else { continue }
            let newL = min(nmax, _nearestInt(x[i] * sl2 / slx))
            if newL != Int32(codes[i]) {
                let fl = Float(newL)
                slx += w * x[i] * fl
                sl2 += w * fl * fl
                if slx * slx * suml2 > sumlx * sumlx * sl2 {
                    codes[i] = UInt8(truncatingIfNeeded: newL)
                    sumlx = slx
                    suml2 = sl2
                    changed += 1
                }
            }
        }
        if changed == 0 { break }
    }
    return suml2 > 0 ? sumlx / suml2 : 0
}
