/// Clipping search by layer output error: for each row and group of columns, the range shrinks of
/// `_ClipSearch` (its three sweeps; the first least wins ties) whose rounding error `d` has the least
/// `d H_gg dᵀ`, where `H_gg` is the group's block of the inputs' Gram matrix `XᵀX`. That is the group's
/// share of the layer's output error on the calibration data, which AWQ's clipping search measures on
/// the calibration tokens themselves; the diagonal of `H_gg` alone gives `_ClipSearch` with importance.
///
/// The chosen scale is then refit by least squares for the chosen steps (`_refitScale`), twice, each
/// refit kept only when it lowers the error.
///
/// `d H_gg dᵀ = ‖d L‖²` with `H_gg = L Lᵀ` (`_ridgedCholeskyFactor`), for 16 rows of a group at once
/// as a matrix product in float32 that skips the zeros above L's diagonal. Groups run in parallel;
/// results do not depend on the thread count. Per-row and per-group schemes.
func _outputErrorClipParams(_ w: UnsafePointer<Float>, rows n: Int, cols k: Int, scheme: QuantScheme,
                            gram: [Double]) throws(QuantError) -> [QuantParams] {
    let layout = _ParamLayout(scheme, cols: k)
    precondition(!layout.perTensor && !layout.isPerColumn, "per-row or per-group schemes only")
    let groups = layout.runsPerRow, size = layout.runLength
    let qmin = Float(scheme.qmin), qmax = Float(scheme.qmax)
    var params = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: n * groups)
    var failures = [QuantError?](repeating: nil, count: groups)
    params.withUnsafeMutableBufferPointer { params in
        failures.withUnsafeMutableBufferPointer { failures in
            _parallelForRanges(itemCount: groups) { range in
                let blockRows = 16
                let delta = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * size)
                let products = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * size)
                let weightProducts = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * size)
                var ranges = [(min: Float, max: Float)](repeating: (0, 0), count: n)
                var bestErrors = [Double](repeating: 0, count: n)
                var bestShrinks = [(low: Float, high: Float)](repeating: (1, 1), count: n)
                var candidates = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: blockRows)
                var candidateShrinks = [(low: Float, high: Float)](repeating: (1, 1), count: blockRows)
                defer { delta.deallocate(); products.deallocate(); weightProducts.deallocate() }
                for group in range {
                    let first = group * size, count = Swift.min(size, k - first)
                    do throws(QuantError) {
                        let factor = try _ridgedCholeskyFactor(gram, k, block: first..<(first + count))
                        for row in 0..<n {
                            var low = Float.infinity, high = -Float.infinity
                            for c in first..<(first + count) { low = Swift.min(low, w[row * k + c]); high = Swift.max(high, w[row * k + c]) }
                            ranges[row] = (low, high)
                        }
                        for sweep in 0..<3 {
                            for (step, alpha) in _ClipSearch.shrink.enumerated() {
                                for blockStart in stride(from: 0, to: n, by: blockRows) {
                                    let rows = blockStart..<Swift.min(blockStart + blockRows, n)
                                    for (r, row) in rows.enumerated() {
                                        let shrinks = _ClipSearch.shrinks(sweep: sweep, alpha: alpha, best: bestShrinks[row])
                                        let p = try scheme._qparams(min: ranges[row].min * shrinks.low, max: ranges[row].max * shrinks.high)
                                        candidates[r] = p
                                        candidateShrinks[r] = shrinks
                                        _roundingErrors(w + row * k + first, count, p, qmin: qmin, qmax: qmax, into: delta + r * count)
                                    }
                                    _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factor, into: products)
                                    for (r, row) in rows.enumerated() {
                                        let error = _squaredNorm(products + r * count, count)
                                        if (sweep == 0 && step == 0) || error < bestErrors[row] {
                                            bestErrors[row] = error
                                            bestShrinks[row] = candidateShrinks[r]
                                            params[row * groups + group] = candidates[r]
                                        }
                                    }
                                }
                            }
                        }
                        for blockStart in stride(from: 0, to: n, by: blockRows) {
                            let rows = blockStart..<Swift.min(blockStart + blockRows, n)
                            for (r, row) in rows.enumerated() { (delta + r * count).update(from: w + row * k + first, count: count) }
                            _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factor, into: weightProducts)
                            for _ in 0..<2 {
                                for (r, row) in rows.enumerated() {
                                    _quantizedSteps(w + row * k + first, count, params[row * groups + group], qmin: qmin, qmax: qmax,
                                                    into: delta + r * count)
                                }
                                _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factor, into: products)
                                for (r, row) in rows.enumerated() {
                                    let current = params[row * groups + group]
                                    candidates[r] = _refitScale(current, weightProducts: weightProducts + r * count,
                                                                stepProducts: products + r * count, count: count,
                                                                storage: scheme.scaleStorage) ?? current
                                    _roundingErrors(w + row * k + first, count, candidates[r], qmin: qmin, qmax: qmax, into: delta + r * count)
                                }
                                _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factor, into: products)
                                for (r, row) in rows.enumerated() {
                                    let error = _squaredNorm(products + r * count, count)
                                    if error < bestErrors[row] {
                                        bestErrors[row] = error
                                        params[row * groups + group] = candidates[r]
                                    }
                                }
                            }
                        }
                    } catch {
                        failures[group] = error
                    }
                }
            }
        }
    }
    if let failure = failures.first(where: { $0 != nil }) { throw failure! }
    return params
}

/// `A L` for `rows` rows of `count` values at `a` (row stride `count`) and the lower-triangular `L`
/// (`count` x `count`, row-major) into `c`: columns j of `A L` take rows t >= j of L, so each chunk of
/// 32 columns starts at its diagonal.
@inline(__always)
func _multiplyByLowerFactor(_ a: UnsafePointer<Float>, rows: Int, count: Int, factor: [Float],
                            into c: UnsafeMutablePointer<Float>) {
    c.initialize(repeating: 0, count: rows * count)
    factor.withUnsafeBufferPointer { factor in
        for start in stride(from: 0, to: count, by: 32) {
            _addProducts(SIMD16<Float>.self, rows: rows, columns: Swift.min(32, count - start), depth: count - start,
                         a: a + start, aStride: count, b: factor.baseAddress! + start * count + start, bStride: count,
                         c: c + start, cStride: count)
        }
    }
}

/// `sum x_i²` of float32 products, in float64.
@inline(__always)
func _squaredNorm(_ x: UnsafePointer<Float>, _ count: Int) -> Double {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i] * x[i]) }
    return sum
}

/// The least-squares scale for a group's fixed steps `u = q - zero`: `s = (w H uᵀ) / (u H uᵀ)`, from
/// `w L` and `u L` (`H = L Lᵀ`), rounded to the nearest float16 when scales are stored so; nil when it
/// is not a positive finite scale. The zero point stays.
@inline(__always)
func _refitScale(_ p: QuantParams, weightProducts: UnsafePointer<Float>, stepProducts: UnsafePointer<Float>,
                 count: Int, storage: ScaleStorage) -> QuantParams? {
    var numerator = 0.0, denominator = 0.0
    for i in 0..<count {
        numerator += Double(weightProducts[i]) * Double(stepProducts[i])
        denominator += Double(stepProducts[i]) * Double(stepProducts[i])
    }
    var scale = Float(numerator / denominator)
    if storage == .float16 { scale = Float(Float16(scale)) }
    guard scale.isFinite, scale >= Float.leastNormalMagnitude else { return nil }
    return QuantParams(scale: scale, zeroPoint: p.zeroPoint)
}

/// `q - zero` for `count` values with parameters `p` (`_fakeQuantizedSteps`).
@inline(__always)
func _quantizedSteps(_ x: UnsafePointer<Float>, _ count: Int, _ p: QuantParams, qmin: Float, qmax: Float,
                     into out: UnsafeMutablePointer<Float>) {
    _roundingErrors(x, count, p, qmin: qmin, qmax: qmax, into: out, stepsOnly: true)
}

/// `x - fakeQuantize(x)` for `count` values with parameters `p`, 16 at a time (or with `stepsOnly`,
/// the steps `q - zero` themselves).
@inline(__always)
func _roundingErrors(_ x: UnsafePointer<Float>, _ count: Int, _ p: QuantParams, qmin: Float, qmax: Float,
                     into out: UnsafeMutablePointer<Float>, stepsOnly: Bool = false) {
    let zero = Float(p.zeroPoint)
    var c = 0
    while c + 16 <= count {
        let v = UnsafeRawPointer(x + c).loadUnaligned(as: _FloatVector.self)
        let steps = _fakeQuantizedSteps(v, scale: p.scale, zero: zero, low: qmin, high: qmax)
        UnsafeMutableRawPointer(out + c).storeBytes(of: stepsOnly ? steps : v - steps * _FloatVector(repeating: p.scale),
                                                    as: _FloatVector.self)
        c += 16
    }
    while c < count {
        let q = Swift.max(Swift.min((x[c] / p.scale).rounded(.toNearestOrEven) + zero, qmax), qmin)
        out[c] = stepsOnly ? q - zero : x[c] - (q - zero) * p.scale
        c += 1
    }
}
