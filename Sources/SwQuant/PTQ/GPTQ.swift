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

        try _MemoryLimit.check(k * k, elementBytes: 3 * 8, for: "GPTQ's Hessian and its inverse factor")
        try _MemoryLimit.check(n * k, elementBytes: 8 + 4, for: "GPTQ's float64 weights and their quantized values")
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
        // Columns go in blocks: the error of a block's columns reaches the later columns of the block at
        // once and the columns after it in one matrix product ("lazy batch updates"). A group whose
        // parameters come from its updated columns lies within one block.
        let blockColumns = fixedParams ? 128 : layout.runLength * Swift.max(1, 128 / layout.runLength)
        let quantized = try importance.withUnsafeBufferPointer { importance throws(QuantError) in
            try u.withUnsafeBufferPointer { u throws(QuantError) in
                let sweep = _GPTQSweep(scheme: scheme, layout: layout, rows: n, cols: k, order: order, dead: dead,
                                       blockColumns: blockColumns, refitsGroups: !fixedParams, inverseFactor: u.baseAddress!,
                                       search: clipSearch ? _ClipSearch(importance: importance.baseAddress, sweeps: 1) : nil)
                return try sweep.run(original, params: &params)
            }
        }
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

/// GPTQ's sweep over the columns of blocks of 16 weight rows, in float64: each column is quantized and
/// its scaled rounding error subtracted from the columns after it (through the upper Cholesky factor of
/// the inverse Hessian), the block's later columns at once and the rest in one product per column block.
struct _GPTQSweep {
    let scheme: QuantScheme
    let layout: _ParamLayout
    let rows: Int
    let cols: Int
    /// Sweep position -> column, and which columns are dead inputs (quantized from 0).
    let order: [Int]
    let dead: [Bool]
    let blockColumns: Int
    /// Whether each group's parameters come from its columns as updated when the sweep reaches them.
    let refitsGroups: Bool
    /// `U` with `UᵀU = H⁻¹` (in sweep order), `cols x cols` row-major.
    let inverseFactor: UnsafePointer<Double>
    let search: _ClipSearch?

    static let rowsPerBlock = 16

    /// The fake-quantized weights, row-major `[rows, cols]`; `params` holds the fixed parameters on entry
    /// and every group's on return.
    func run(_ original: [Double], params: inout [QuantParams]) throws(QuantError) -> [Float] {
        let blocks = (rows + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        let quantized = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * cols)
        let failures = UnsafeMutableBufferPointer<QuantError?>.allocate(capacity: blocks)
        failures.initialize(repeating: nil)
        defer { quantized.deallocate(); failures.deinitialize().deallocate() }
        params.withUnsafeMutableBufferPointer { params in
            original.withUnsafeBufferPointer { original in
                _parallelForRanges(itemCount: blocks) { range in
                    let scratch = _Scratch(cols: cols, blockColumns: blockColumns, runLength: layout.runLength)
                    defer { scratch.deallocate() }
                    for block in range {
                        let rowRange = (block * Self.rowsPerBlock)..<Swift.min((block + 1) * Self.rowsPerBlock, rows)
                        do throws(QuantError) {
                            try sweep(rowRange, original.baseAddress!, scratch, params.baseAddress!, quantized.baseAddress!)
                        } catch {
                            failures[block] = error
                        }
                    }
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
        return Array(quantized)
    }

    /// One thread's buffers: the block's rows in float64 in sweep order, their negated scaled errors for
    /// one column block, and one group's values as float32.
    struct _Scratch {
        let w: UnsafeMutablePointer<Double>
        let errors: UnsafeMutablePointer<Double>
        let groupValues: UnsafeMutablePointer<Float>

        init(cols: Int, blockColumns: Int, runLength: Int) {
            w = .allocate(capacity: _GPTQSweep.rowsPerBlock * cols)
            errors = .allocate(capacity: _GPTQSweep.rowsPerBlock * blockColumns)
            groupValues = .allocate(capacity: runLength)
        }

        func deallocate() { w.deallocate(); errors.deallocate(); groupValues.deallocate() }
    }

    /// Quantizes the rows `rowRange` column by column.
    private func sweep(_ rowRange: Range<Int>, _ original: UnsafePointer<Double>, _ scratch: _Scratch,
                       _ params: UnsafeMutablePointer<QuantParams>, _ quantized: UnsafeMutablePointer<Float>) throws(QuantError) {
        let (k, w, u) = (cols, scratch.w, inverseFactor)
        for (r, row) in rowRange.enumerated() {
            for j in 0..<k { w[r * k + j] = dead[order[j]] ? 0 : original[row * k + order[j]] }
        }
        for start in stride(from: 0, to: k, by: blockColumns) {
            let end = Swift.min(start + blockColumns, k)
            for i in start..<end {
                let column = order[i]
                if refitsGroups && column % layout.runLength == 0 {
                    try refitGroup(at: i, rowRange, scratch, params)
                }
                quantizeColumn(i, from: start, to: end, rowRange, scratch, params, quantized)
            }
            _addProducts(SIMD8<Double>.self, rows: rowRange.count, columns: k - end, depth: end - start,
                         a: scratch.errors, aStride: blockColumns, b: u + start * k + end, bStride: k,
                         c: w + end, cStride: k)
        }
    }

    /// The parameters of the group starting at sweep position `i` from its columns as updated so far
    /// (without act-order the sweep goes in column order, so the group is positions `i ..< i + size`).
    private func refitGroup(at i: Int, _ rowRange: Range<Int>, _ scratch: _Scratch,
                            _ params: UnsafeMutablePointer<QuantParams>) throws(QuantError) {
        let (k, w, values) = (cols, scratch.w, scratch.groupValues)
        let groupEnd = Swift.min(i + layout.runLength, k), group = order[i] / layout.runLength
        for (r, row) in rowRange.enumerated() {
            var low = Float.infinity, high = -Float.infinity
            for j in i..<groupEnd {
                values[j - i] = Float(w[r * k + j])
                low = Swift.min(low, values[j - i])
                high = Swift.max(high, values[j - i])
            }
            params[row * layout.runsPerRow + group] = if let search {
                try search.params(values, groupEnd - i, column: i, scheme: scheme, min: low, max: high)
            } else {
                try scheme._qparams(min: low, max: high)
            }
        }
    }

    /// Quantizes sweep position `i` of every row and spreads its error over the rest of the column block.
    @inline(__always)
    private func quantizeColumn(_ i: Int, from start: Int, to end: Int, _ rowRange: Range<Int>, _ scratch: _Scratch,
                                _ params: UnsafeMutablePointer<QuantParams>, _ quantized: UnsafeMutablePointer<Float>) {
        let (k, w, u) = (cols, scratch.w, inverseFactor)
        let column = order[i], group = column / layout.runLength
        let qmin = Float(scheme.qmin), qmax = Float(scheme.qmax)
        let pivot = u[i * k + i]
        for (r, row) in rowRange.enumerated() {
            let p = params[layout.perTensor ? 0 : row * layout.runsPerRow + (layout.runLength >= k ? 0 : group)]
            let zero = Float(p.zeroPoint)
            let q = (_gridCode(Float(w[r * k + i]), p.scale, zero, qmin, qmax) - zero) * p.scale
            quantized[row * k + column] = q
            let error = (w[r * k + i] - Double(q)) / pivot
            scratch.errors[r * blockColumns + i - start] = -error
            let target = w + r * k
            for j in (i + 1)..<Swift.max(i + 1, end) { target[j] -= error * u[i * k + j] }
        }
    }
}
