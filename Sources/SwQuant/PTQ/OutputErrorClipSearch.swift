/// Clipping search by layer output error: for each row and group of columns, the range shrink of
/// `_ClipSearch` (1, 0.975, ..., 0.5; the first least wins ties) whose rounding error `d` has the least
/// `d H_gg dᵀ`, where `H_gg` is the group's block of the inputs' Gram matrix `XᵀX`. That is the group's
/// share of the layer's output error on the calibration data, which AWQ's clipping search measures on
/// the calibration tokens themselves; the diagonal of `H_gg` alone gives `_ClipSearch` with importance.
///
/// `d H_gg dᵀ = ‖d L‖²` with `H_gg = L Lᵀ` (`_ridgedCholeskyFactor`), for all rows of a group at once as one matrix product in float32. Groups run in
/// parallel; results do not depend on the thread count. Per-row and per-group schemes.
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
                var candidates = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: blockRows)
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
                        for (step, shrink) in _ClipSearch.shrink.enumerated() {
                            for blockStart in stride(from: 0, to: n, by: blockRows) {
                                let rows = blockStart..<Swift.min(blockStart + blockRows, n)
                                for (r, row) in rows.enumerated() {
                                    let p = try scheme._qparams(min: ranges[row].min * shrink, max: ranges[row].max * shrink)
                                    candidates[r] = p
                                    let zero = Float(p.zeroPoint)
                                    for c in 0..<count {
                                        let x = w[row * k + first + c]
                                        let q = Swift.max(Swift.min((x / p.scale).rounded(.toNearestOrEven) + zero, qmax), qmin)
                                        delta[r * count + c] = x - (q - zero) * p.scale
                                    }
                                }
                                products.initialize(repeating: 0, count: rows.count * count)
                                factor.withUnsafeBufferPointer { factor in
                                    _addProducts(SIMD16<Float>.self, rows: rows.count, columns: count, depth: count, a: delta, aStride: count,
                                                 b: factor.baseAddress!, bStride: count, c: products, cStride: count)
                                }
                                for (r, row) in rows.enumerated() {
                                    var error = 0.0
                                    for c in 0..<count { error += Double(products[r * count + c] * products[r * count + c]) }
                                    if step == 0 || error < bestErrors[row] {
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
