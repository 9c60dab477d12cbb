/// Clipping search by layer output error: for each row and group of columns, the range shrinks of
/// `_ClipSearch` (its three sweeps; the first least wins ties) whose rounding error `d` has the least
/// `d H_gg dᵀ`, where `H_gg` is the group's block of the inputs' Gram matrix `XᵀX`. That is the group's
/// share of the layer's output error on the calibration data, which AWQ's clipping search measures on
/// the calibration tokens themselves; the diagonal of `H_gg` alone gives `_ClipSearch` with importance.
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
                var ranges = [(min: Float, max: Float)](repeating: (0, 0), count: n)
                var bestErrors = [Double](repeating: 0, count: n)
                var bestShrinks = [(low: Float, high: Float)](repeating: (1, 1), count: n)
                var candidates = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: blockRows)
                var candidateShrinks = [(low: Float, high: Float)](repeating: (1, 1), count: blockRows)
                defer { delta.deallocate(); products.deallocate() }
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
                                    products.initialize(repeating: 0, count: rows.count * count)
                                    factor.withUnsafeBufferPointer { factor in
                                        // Columns j of d L take rows t >= j of L: each chunk of 32 starts at its diagonal.
                                        for start in stride(from: 0, to: count, by: 32) {
                                            _addProducts(SIMD16<Float>.self, rows: rows.count, columns: Swift.min(32, count - start),
                                                         depth: count - start, a: delta + start, aStride: count,
                                                         b: factor.baseAddress! + start * count + start, bStride: count,
                                                         c: products + start, cStride: count)
                                        }
                                    }
                                    for (r, row) in rows.enumerated() {
                                        var error = 0.0
                                        for c in 0..<count { error += Double(products[r * count + c] * products[r * count + c]) }
                                        if (sweep == 0 && step == 0) || error < bestErrors[row] {
                                            bestErrors[row] = error
                                            bestShrinks[row] = candidateShrinks[r]
                                            params[row * groups + group] = candidates[r]
                                        }
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

/// `x - fakeQuantize(x)` for `count` values with parameters `p`, 16 at a time.
@inline(__always)
func _roundingErrors(_ x: UnsafePointer<Float>, _ count: Int, _ p: QuantParams, qmin: Float, qmax: Float,
                     into out: UnsafeMutablePointer<Float>) {
    let zero = Float(p.zeroPoint)
    var c = 0
    while c + 16 <= count {
        let v = UnsafeRawPointer(x + c).loadUnaligned(as: _FloatVector.self)
        let steps = _fakeQuantizedSteps(v, scale: p.scale, zero: zero, low: qmin, high: qmax)
        UnsafeMutableRawPointer(out + c).storeBytes(of: v - steps * _FloatVector(repeating: p.scale), as: _FloatVector.self)
        c += 16
    }
    while c < count {
        let q = Swift.max(Swift.min((x[c] / p.scale).rounded(.toNearestOrEven) + zero, qmax), qmin)
        out[c] = x[c] - (q - zero) * p.scale
        c += 1
    }
}
