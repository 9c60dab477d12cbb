/// GPTQ (Frantar et al.): quantizes a weight matrix column by column, spreading each column's rounding
/// error onto the columns not yet quantized through the inverse Hessian of the layer's inputs, so that
/// the layer's output on the calibration data changes as little as possible.
///
/// `H = XᵀX` from `LayerStats`, plus `damp * mean(diag H)` on the diagonal; dead inputs (zero diagonal)
/// get weight 0. With `actOrder`, columns go in order of decreasing `diag H`, and group parameters are
/// computed from the original weights first ("static groups"); otherwise each group's parameters come
/// from its columns as updated when the group is reached. Per-row and per-tensor schemes take their
/// parameters from the original weights. With `clipSearch`, every set of parameters comes from the
/// clipping search of `quantize(clipSearchWithImportance:)` weighted by the inputs' mean square
/// (GPTQ's grid search), instead of the min and max, with both ends of the range shrunk together only. Columns go in blocks of about 128 with lazy batch updates.
/// Rows are independent and run in parallel (16 at a time, in float64), so results do not depend on
/// the thread count.
extension QuantizedTensor {
    /// GPTQ-quantizes `weights` (`[outputs, inputs]`) with the input statistics of its layer.
    public init(gptq weights: TensorView, stats: LayerStats, scheme: QuantScheme, damp: Double = 0.01,
                actOrder: Bool = false, clipSearch: Bool = false) throws(QuantError) {
        let scheme = try scheme.validated()
        let (n, k) = (weights.rows, weights.cols)
        guard stats.inFeatures == k else {
            throw QuantError(.shape, "the statistics have \(stats.inFeatures) input features, the weights \(k) columns")
        }
        guard damp.isFinite, damp >= 0 else { throw QuantError(.invalidArgument, "damp must be finite and non-negative, got \(damp)") }
        let layout = _ParamLayout(scheme, cols: k)
        guard !layout.isPerColumn else { throw QuantError(.invalidArgument, "GPTQ needs per-tensor, per-row or per-group parameters") }

        // The Hessian, its dead inputs, the column order and the upper Cholesky factor of its inverse.
        var h = stats.gram
        let dead = (0..<k).map { h[$0 * k + $0] == 0 }
        for i in 0..<k where dead[i] { h[i * k + i] = 1 }
        let order = actOrder ? (0..<k).sorted { (h[$0 * k + $0], $1) > (h[$1 * k + $1], $0) } : Array(0..<k)
        var permuted = [Double](repeating: 0, count: k * k)
        for i in 0..<k { for j in 0..<k { permuted[i * k + j] = h[order[i] * k + order[j]] } }
        let meanDiagonal = (0..<k).reduce(0.0) { $0 + permuted[$1 * k + $1] } / Double(k)
        for i in 0..<k { permuted[i * k + i] += damp * meanDiagonal }
        let u = try _inverseCholeskyUpper(consume permuted, k)

        // Parameters fixed before the sweep: per tensor, per row, or static groups with act-order.
        let original = try Self._float64Rows(weights)
        var params = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: scheme.qparamCount(rows: n, cols: k))
        let fixedParams = layout.perTensor || layout.runLength >= k || actOrder
        let importance = clipSearch ? stats.meanSquare.map { Float($0) } : []
        if fixedParams {
            params = try importance.withUnsafeBufferPointer { importance throws(QuantError) in
                try clipSearch && !layout.perTensor
                    ? _quantizeRuns(weights, scheme, into: nil, search: _ClipSearch(importance: importance.baseAddress!, sweeps: 1))
                    : _computeQParams(weights, scheme)
            }
        }
        let groupsPerRow = layout.runsPerRow
        // Columns go in blocks: the error of a block's columns reaches the later columns of the block at
        // once and the columns after it in one matrix product ("lazy batch updates"). A group whose
        // parameters come from its updated columns lies within one block.
        let blockColumns = fixedParams ? 128 : layout.runLength * Swift.max(1, 128 / layout.runLength)
        var quantized = [Float](repeating: 0, count: n * k)
        var failures = [QuantError?](repeating: nil, count: (n + 15) / 16)
        let qmin = Float(scheme.qmin), qmax = Float(scheme.qmax)
        quantized.withUnsafeMutableBufferPointer { quantized in
        importance.withUnsafeBufferPointer { importance in
        params.withUnsafeMutableBufferPointer { params in
        failures.withUnsafeMutableBufferPointer { failures in
        u.withUnsafeBufferPointer { u in
            let u = u.baseAddress!
            let search = clipSearch ? _ClipSearch(importance: importance.baseAddress!, sweeps: 1) : nil
            _parallelForRanges(itemCount: (n + 15) / 16) { blocks in
                // The block's rows in float64, columns in sweep order, and their negated scaled errors.
                let w = UnsafeMutablePointer<Double>.allocate(capacity: 16 * k)
                let errors = UnsafeMutablePointer<Double>.allocate(capacity: 16 * blockColumns)
                let groupValues = UnsafeMutablePointer<Float>.allocate(capacity: layout.runLength)  // one group, as float32
                defer { w.deallocate(); errors.deallocate(); groupValues.deallocate() }
                for block in blocks {
                    let rows = (block * 16)..<Swift.min(block * 16 + 16, n)
                    for (r, row) in rows.enumerated() {
                        for j in 0..<k { w[r * k + j] = dead[order[j]] ? 0 : original[row * k + order[j]] }
                    }
                    do throws(QuantError) {
                        for start in stride(from: 0, to: k, by: blockColumns) {
                            let end = Swift.min(start + blockColumns, k)
                            for i in start..<end {
                                let column = order[i]
                                let group = column / layout.runLength
                                if !fixedParams && column % layout.runLength == 0 {
                                    // The group's parameters from its columns as updated so far (no act-order:
                                    // sweep order is column order, so the group is columns i ..< i + size).
                                    let groupEnd = Swift.min(i + layout.runLength, k)
                                    for (r, row) in rows.enumerated() {
                                        var low = Float.infinity, high = -Float.infinity
                                        for j in i..<groupEnd {
                                            groupValues[j - i] = Float(w[r * k + j])
                                            low = Swift.min(low, groupValues[j - i]); high = Swift.max(high, groupValues[j - i])
                                        }
                                        params[row * groupsPerRow + group] = if let search {
                                            try search.params(groupValues, groupEnd - i, column: i, scheme: scheme, min: low, max: high)
                                        } else {
                                            try scheme._qparams(min: low, max: high)
                                        }
                                    }
                                }
                                let pivot = u[i * k + i]
                                for (r, row) in rows.enumerated() {
                                    let p = params[layout.perTensor ? 0 : row * groupsPerRow + (layout.runLength >= k ? 0 : group)]
                                    let x = Float(w[r * k + i]), zero = Float(p.zeroPoint)
                                    let q = (Swift.max(Swift.min((x / p.scale).rounded(.toNearestOrEven) + zero, qmax), qmin) - zero) * p.scale
                                    quantized[row * k + column] = q
                                    let error = (w[r * k + i] - Double(q)) / pivot
                                    errors[r * blockColumns + i - start] = -error
                                    let target = w + r * k
                                    for j in (i + 1)..<Swift.max(i + 1, end) { target[j] -= error * u[i * k + j] }
                                }
                            }
                            _addProducts(SIMD8<Double>.self, rows: rows.count, columns: k - end, depth: end - start,
                                         a: errors, aStride: blockColumns, b: u + start * k + end, bStride: k,
                                         c: w + end, cStride: k)
                        }
                    } catch {
                        failures[block] = error
                    }
                }
            }
        }
        }
        }
        }
        }
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
        let result = quantized.withUnsafeBufferPointer { q in
            Result { () throws(QuantError) -> QuantizedTensor in
                QuantizedTensor(_encoding: try TensorView(q, rows: n, cols: k), scheme: scheme, params: params)
            }
        }
        self = try result.get()
    }

    /// The rows of a tensor as float64, row-major; throws `.nonFinite` for NaN or infinity.
    static func _float64Rows(_ source: TensorView) throws(QuantError) -> [Double] {
        var out = [Double](repeating: 0, count: source.count)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: source.cols)
        defer { scratch.deallocate() }
        for row in 0..<source.rows {
            let x = source.floats(row: row, start: 0, count: source.cols, scratch: scratch)
            guard _allFinite(x, source.cols) else { throw _nonFiniteError(source) }
            for c in 0..<source.cols { out[row * source.cols + c] = Double(x[c]) }
        }
        return out
    }
}
