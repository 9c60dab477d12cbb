/// GPTQ (Frantar et al.): quantizes a weight matrix column by column, spreading each column's rounding
/// error onto the columns not yet quantized through the inverse Hessian of the layer's inputs, so that
/// the layer's output on the calibration data changes as little as possible.
///
/// `H = XᵀX` from `LayerStats`, plus `damp * mean(diag H)` on the diagonal; dead inputs (zero diagonal)
/// get weight 0. With `actOrder`, columns go in order of decreasing `diag H`, and group parameters are
/// computed from the original weights first ("static groups"); otherwise each group's parameters come
/// from its columns as updated when the group is reached. Per-row and per-tensor schemes take their
/// parameters from the original weights. Rows are independent and run in parallel (16 at a time, in
/// float64), so results do not depend on the thread count.
extension QuantizedTensor {
    /// GPTQ-quantizes `weights` (`[outputs, inputs]`) with the input statistics of its layer.
    public init(gptq weights: TensorView, stats: LayerStats, scheme: QuantScheme, damp: Double = 0.01,
                actOrder: Bool = false) throws(QuantError) {
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
        let u = try _inverseCholeskyUpper(permuted, k)

        // Parameters fixed before the sweep: per tensor, per row, or static groups with act-order.
        let original = try Self._float64Rows(weights)
        var params = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: scheme.qparamCount(rows: n, cols: k))
        let fixedParams = layout.perTensor || layout.runLength >= k || actOrder
        if fixedParams {
            params = try _computeQParams(weights, scheme)
        }
        let groupsPerRow = layout.runsPerRow
        var quantized = [Float](repeating: 0, count: n * k)
        var failures = [QuantError?](repeating: nil, count: (n + 15) / 16)
        let qmin = Float(scheme.qmin), qmax = Float(scheme.qmax)
        quantized.withUnsafeMutableBufferPointer { quantized in
        params.withUnsafeMutableBufferPointer { params in
        failures.withUnsafeMutableBufferPointer { failures in
        u.withUnsafeBufferPointer { u in
            _parallelForRanges(itemCount: (n + 15) / 16) { blocks in
                for block in blocks {
                    let rows = (block * 16)..<Swift.min(block * 16 + 16, n)
                    // The block's rows in float64, columns in sweep order.
                    let w = UnsafeMutablePointer<Double>.allocate(capacity: rows.count * k)
                    defer { w.deallocate() }
                    for (r, row) in rows.enumerated() {
                        for j in 0..<k { w[r * k + j] = dead[order[j]] ? 0 : original[row * k + order[j]] }
                    }
                    do throws(QuantError) {
                        for i in 0..<k {
                            let column = order[i]
                            let group = column / layout.runLength
                            if !fixedParams && column % layout.runLength == 0 {
                                // The group's parameters from its columns as updated so far (no act-order:
                                // sweep order is column order, so the group is columns i ..< i + size).
                                let end = Swift.min(i + layout.runLength, k)
                                for (r, row) in rows.enumerated() {
                                    var low = Double.infinity, high = -Double.infinity
                                    for j in i..<end { low = Swift.min(low, w[r * k + j]); high = Swift.max(high, w[r * k + j]) }
                                    params[row * groupsPerRow + group] = try scheme._qparams(min: Float(low), max: Float(high))
                                }
                            }
                            let pivot = u[i * k + i]
                            for (r, row) in rows.enumerated() {
                                let p = params[layout.perTensor ? 0 : row * groupsPerRow + (layout.runLength >= k ? 0 : group)]
                                let x = Float(w[r * k + i]), zero = Float(p.zeroPoint)
                                let q = (Swift.max(Swift.min((x / p.scale).rounded(.toNearestOrEven) + zero, qmax), qmin) - zero) * p.scale
                                quantized[row * k + column] = q
                                let error = (w[r * k + i] - Double(q)) / pivot
                                let target = w + r * k
                                for j in (i + 1)..<Swift.max(i + 1, k) { target[j] -= error * u[i * k + j] }
                            }
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
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
        let result = quantized.withUnsafeBufferPointer { q in
            Result { () throws(QuantError) -> QuantizedTensor in
                let view = try TensorView(q, rows: n, cols: k)
                let rowStride = _BitPacking.byteCount(count: k, bits: scheme.bits)
                var packed = [UInt8](repeating: 0, count: n * rowStride)
                packed.withUnsafeMutableBufferPointer { _encode(view, scheme, params, into: $0.baseAddress!) }
                return QuantizedTensor(rows: n, cols: k, scheme: scheme, packed: packed,
                                       scales: params.map(\.scale), zeroPoints: params.map(\.zeroPoint))
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

/// The upper Cholesky factor `U` of `A⁻¹` (`A⁻¹ = UᵀU`) for a symmetric positive definite `A`
/// (row-major `k x k`, float64); throws `.invalidArgument` when `A` is not positive definite.
///
/// With `J` the order-reversing permutation and `JAJ = LLᵀ`, `A⁻¹ = J L⁻ᵀ L⁻¹ J = UᵀU` for the upper
/// triangular `U = J L⁻¹ J`: one Cholesky factorisation and one triangular inverse.
func _inverseCholeskyUpper(_ a: [Double], _ k: Int) throws(QuantError) -> [Double] {
    var reversed = [Double](repeating: 0, count: k * k)
    for i in 0..<k { for j in 0..<k { reversed[i * k + j] = a[(k - 1 - i) * k + (k - 1 - j)] } }
    let l = try _cholesky(reversed, k)
    // (L⁻¹)ᵀ, row c holding column c of L⁻¹, by forward substitution (rows contiguous for the dots).
    var inverseT = [Double](repeating: 0, count: k * k)
    l.withUnsafeBufferPointer { l in
        inverseT.withUnsafeMutableBufferPointer { t in
            _parallelForRanges(itemCount: k) { columns in
                for c in columns {
                    let row = t.baseAddress! + c * k
                    row[c] = 1 / l[c * k + c]
                    for i in (c + 1)..<Swift.max(c + 1, k) {
                        row[i] = -_dotDouble(l.baseAddress! + i * k + c, row + c, i - c) / l[i * k + i]
                    }
                }
            }
        }
    }
    // U[i][j] = (L⁻¹)[k-1-i][k-1-j] = inverseT[k-1-j][k-1-i], zero below the diagonal.
    var u = [Double](repeating: 0, count: k * k)
    for i in 0..<k { for j in i..<k { u[i * k + j] = inverseT[(k - 1 - j) * k + (k - 1 - i)] } }
    return u
}

/// The lower Cholesky factor of a symmetric positive definite matrix (row-major, float64).
func _cholesky(_ a: [Double], _ k: Int) throws(QuantError) -> [Double] {
    var l = [Double](repeating: 0, count: k * k)
    try l.withUnsafeMutableBufferPointer { l throws(QuantError) in
        let base = l.baseAddress!
        for j in 0..<k {
            // Column j: the diagonal first, then the rows below it (independent of each other).
            let diagonal = a[j * k + j] - _dotDouble(base + j * k, base + j * k, j)
            guard diagonal > 0, diagonal.isFinite else {
                throw QuantError(.invalidArgument, "the Hessian is not positive definite; raise damp")
            }
            let pivot = diagonal.squareRoot()
            base[j * k + j] = pivot
            a.withUnsafeBufferPointer { a in
                _parallelForRanges(itemCount: k - j - 1) { rows in
                    for offset in rows {
                        let i = j + 1 + offset
                        base[i * k + j] = (a[i * k + j] - _dotDouble(base + i * k, base + j * k, j)) / pivot
                    }
                }
            }
        }
    }
    return l
}

/// `sum a[i] * b[i]` over `count` doubles with eight-lane accumulators (a fixed order).
@inline(__always)
func _dotDouble(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
    var sum = SIMD8<Double>()
    var i = 0
    while i + 8 <= count {
        sum += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Double>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Double>.self)
        i += 8
    }
    var total = sum.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}
