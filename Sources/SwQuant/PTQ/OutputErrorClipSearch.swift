/// Clipping search by layer output error. A row's rounding errors `D` add `D H Dᵀ` to the layer's output
/// error on the calibration data (`H = XᵀX`, the inputs' Gram matrix), which AWQ's clipping search
/// measures on the calibration tokens themselves. Every group starts at round-to-nearest; then, in
/// column order (Gauss-Seidel), each group minimises the row's error with the other groups' errors
/// fixed: `d H_gg dᵀ + 2 d cᵀ`, where `H_gg` is the group's diagonal block of `H` and `c = D_rest H_rest,g`
/// the cross term with the other groups (zero for one group per row). In a first pass the ranges
/// `[min * a, max * a]` for a in `_ClipSearch.shrink` are compared by that error (the first least wins
/// ties), and the chosen scale is then refit by least squares for the chosen steps (`_refitScale`),
/// twice, each refit kept only when it lowers the error; with more than one group, a second pass refits
/// every group's scale twice again against the others' final errors. Both ends of a range shrink
/// together only: the one-sided sweeps of `_ClipSearch` gain about as much as the second pass at a
/// larger cost (the figures are in the history of this file).
///
/// `d H_gg dᵀ = ‖d L‖²` with `H_gg = L Lᵀ` (`_ridgedCholeskyFactor`), for 16 rows at once as a matrix
/// product in float32 that skips the zeros above L's diagonal. Each pass's cross terms take the later
/// groups' errors before it starts and each group's new errors once it is done (`k²` multiply-adds per
/// row in all). Blocks of 16 rows run in parallel; results do not depend on the thread count. Per-row and
/// per-group schemes.
func _outputErrorClipParams(_ w: UnsafePointer<Float>, rows n: Int, cols k: Int, scheme: QuantScheme,
                            gram: [Double]) throws(QuantError) -> [QuantParams] {
    let layout = _ParamLayout(scheme, cols: k)
    precondition(!layout.perTensor && !layout.isPerColumn, "per-row or per-group schemes only")
    let groups = layout.runsPerRow, size = layout.runLength
    func columns(_ group: Int) -> Range<Int> { _GroupSweep.columns(group, size: size, k: k) }
    var factors = [[Float]]()
    for group in 0..<groups { factors.append(try _ridgedCholeskyFactor(gram, k, block: columns(group))) }
    var ranges = [(min: Float, max: Float)](repeating: (0, 0), count: n * groups)
    var params = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: n * groups)
    for row in 0..<n {
        for group in 0..<groups {
            var low = Float.infinity, high = -Float.infinity
            for c in columns(group) { low = Swift.min(low, w[row * k + c]); high = Swift.max(high, w[row * k + c]) }
            ranges[row * groups + group] = (low, high)
            params[row * groups + group] = try scheme._qparams(min: low, max: high)
        }
    }
    let gramFloat = gram.map { Float($0) }
    let blocks = (n + _GroupSweep.blockRows - 1) / _GroupSweep.blockRows
    var failures = [QuantError?](repeating: nil, count: blocks)
    params.withUnsafeMutableBufferPointer { params in
        failures.withUnsafeMutableBufferPointer { failures in
            gramFloat.withUnsafeBufferPointer { gramFloat in
                _parallelForRanges(itemCount: blocks) { range in
                    var sweep = _GroupSweep(w, k: k, scheme: scheme, groupSize: size, factors: factors, gram: gramFloat.baseAddress!)
                    defer { sweep.deallocate() }
                    for block in range {
                        let rows = (block * _GroupSweep.blockRows)..<Swift.min((block + 1) * _GroupSweep.blockRows, n)
                        do throws(QuantError) {
                            sweep.begin(rows)
                            sweep.startPass(at: params.baseAddress!)
                            for group in 0..<groups {
                                let chosen = try sweep.search(group, ranges: ranges)
                                for (r, row) in rows.enumerated() { params[row * groups + group] = chosen[r] }
                                sweep.finish(group, chosen)
                            }
                            if groups > 1 {
                                sweep.startPass(at: params.baseAddress!)
                                for group in 0..<groups {
                                    let chosen = sweep.refitAgain(group, current: rows.map { params[$0 * groups + group] })
                                    for (r, row) in rows.enumerated() { params[row * groups + group] = chosen[r] }
                                    sweep.finish(group, chosen)
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
    if let failure = failures.first(where: { $0 != nil }) { throw failure! }
    return params
}

/// One block of up to 16 rows going through `_outputErrorClipParams`'s passes over the groups: the
/// rows' cross terms and the buffers of the search, reused from block to block.
struct _GroupSweep {
    static let blockRows = 16
    let w: UnsafePointer<Float>, k: Int, scheme: QuantScheme, size: Int, groups: Int
    let qmin: Float, qmax: Float
    /// Per group, the Cholesky factor of its diagonal block of H.
    let factors: [[Float]]
    /// H in float32, row-major.
    let gram: UnsafePointer<Float>
    private(set) var rows = 0..<0
    /// Per row, `c` of every group: the later groups' part before the group is searched, the earlier
    /// groups' part added as each is done.
    let cross: UnsafeMutablePointer<Float>
    /// The group's rounding errors or steps (every group's errors in `startPass`), their products with
    /// its factor L, and its cross terms.
    let delta: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>, groupCross: UnsafeMutablePointer<Float>
    /// Per group, the rows' weights times its factor L (`rows.count x count` from `rows.count * first`),
    /// for both passes.
    let weightProducts: UnsafeMutablePointer<Float>
    /// Per row, the best parameters so far and their error, and the candidate.
    var bestErrors: [Double], best: [QuantParams], candidates: [QuantParams]

    init(_ w: UnsafePointer<Float>, k: Int, scheme: QuantScheme, groupSize: Int, factors: [[Float]], gram: UnsafePointer<Float>) {
        (self.w, self.k, self.scheme, size, groups) = (w, k, scheme, groupSize, factors.count)
        (qmin, qmax, self.factors, self.gram) = (Float(scheme.qmin), Float(scheme.qmax), factors, gram)
        cross = .allocate(capacity: Self.blockRows * k)
        delta = .allocate(capacity: Self.blockRows * Swift.max(groupSize, k))
        products = .allocate(capacity: Self.blockRows * groupSize)
        weightProducts = .allocate(capacity: Self.blockRows * k)
        groupCross = .allocate(capacity: Self.blockRows * groupSize)
        bestErrors = [Double](repeating: 0, count: Self.blockRows)
        best = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: Self.blockRows)
        candidates = best
    }

    func deallocate() {
        for buffer in [cross, delta, products, weightProducts, groupCross] { buffer.deallocate() }
    }

    /// The columns of `group` in rows of `k` split into groups of `size`.
    static func columns(_ group: Int, size: Int, k: Int) -> Range<Int> { (group * size)..<Swift.min(group * size + size, k) }

    func columns(_ group: Int) -> Range<Int> { Self.columns(group, size: size, k: k) }

    /// Takes `rows` (at most `blockRows`) and their weights' products with each group's factor.
    mutating func begin(_ rows: Range<Int>) {
        self.rows = rows
        for group in 0..<groups {
            let first = columns(group).lowerBound, count = columns(group).count
            for (r, row) in rows.enumerated() { (delta + r * count).update(from: w + row * k + first, count: count) }
            _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factors[group],
                                   into: weightProducts + rows.count * first)
        }
    }

    /// Starts a pass over the rows, each group at the parameters `params[row * groups + group]`: sets every
    /// group's cross term to the later groups' part of it.
    mutating func startPass(at params: UnsafePointer<QuantParams>) {
        for (r, row) in rows.enumerated() {
            for group in 0..<groups {
                let first = columns(group).lowerBound
                _roundingErrors(w + row * k + first, columns(group).count, params[row * groups + group],
                                qmin: qmin, qmax: qmax, into: delta + r * k + first)
            }
        }
        cross.initialize(repeating: 0, count: rows.count * k)
        for group in 1..<groups {
            let first = columns(group).lowerBound
            _addProducts(SIMD16<Float>.self, rows: rows.count, columns: first, depth: columns(group).count,
                         a: delta + first, aStride: k, b: gram + first * k, bStride: k, c: cross, cStride: k)
        }
    }

    /// First pass: the parameters of `group` for each row, with the least `d H_gg dᵀ + 2 d cᵀ`: the
    /// shrinks, then the scale refits.
    mutating func search(_ group: Int, ranges: [(min: Float, max: Float)]) throws(QuantError) -> [QuantParams] {
        let first = columns(group).lowerBound, count = columns(group).count, m = rows.count
        for r in 0..<m { (groupCross + r * count).update(from: cross + r * k + first, count: count) }
        for (step, shrink) in _ClipSearch.shrink.enumerated() {
            for (r, row) in rows.enumerated() {
                let range = ranges[row * groups + group]
                candidates[r] = try scheme._qparams(min: range.min * shrink, max: range.max * shrink)
                _roundingErrors(w + row * k + first, count, candidates[r], qmin: qmin, qmax: qmax, into: delta + r * count)
            }
            keepLower(group, first: step == 0)
        }
        return refit(group)
    }

    /// Second pass: `current` refit with the cross terms of every other group's final errors.
    mutating func refitAgain(_ group: Int, current: [QuantParams]) -> [QuantParams] {
        let first = columns(group).lowerBound, count = columns(group).count
        for r in 0..<rows.count { (groupCross + r * count).update(from: cross + r * k + first, count: count) }
        for (r, row) in rows.enumerated() {
            candidates[r] = current[r]
            _roundingErrors(w + row * k + first, count, current[r], qmin: qmin, qmax: qmax, into: delta + r * count)
        }
        keepLower(group, first: true)
        return refit(group)
    }

    /// The scale of each row's best parameters refit twice, each refit kept when it lowers the error.
    private mutating func refit(_ group: Int) -> [QuantParams] {
        let first = columns(group).lowerBound, count = columns(group).count, m = rows.count
        let weightProducts = self.weightProducts + m * first
        for _ in 0..<2 {
            for (r, row) in rows.enumerated() {
                _quantizedSteps(w + row * k + first, count, best[r], qmin: qmin, qmax: qmax, into: delta + r * count)
            }
            _multiplyByLowerFactor(delta, rows: m, count: count, factor: factors[group], into: products)
            for (r, row) in rows.enumerated() {
                candidates[r] = _refitScale(best[r], weightProducts: weightProducts + r * count, steps: delta + r * count,
                                            stepProducts: products + r * count, cross: groupCross + r * count,
                                            count: count, storage: scheme.scaleStorage) ?? best[r]
                _roundingErrors(w + row * k + first, count, candidates[r], qmin: qmin, qmax: qmax, into: delta + r * count)
            }
            keepLower(group, first: false)
        }
        return Array(best[0..<m])
    }

    /// Each row's candidate replaces its best when its error (rounding errors in `delta`) is lower, or
    /// when it is the `first`.
    private mutating func keepLower(_ group: Int, first: Bool) {
        let count = columns(group).count
        _multiplyByLowerFactor(delta, rows: rows.count, count: count, factor: factors[group], into: products)
        for r in 0..<rows.count {
            let error = _squaredNorm(products + r * count, count) + 2 * _sumOfProducts(delta + r * count, groupCross + r * count, count)
            if first || error < bestErrors[r] { (bestErrors[r], best[r]) = (error, candidates[r]) }
        }
    }

    /// Adds the part of `group`'s final rounding errors to the later groups' cross terms.
    func finish(_ group: Int, _ chosen: [QuantParams]) {
        let first = columns(group).lowerBound, count = columns(group).count, end = first + count
        guard end < k else { return }
        for (r, row) in rows.enumerated() {
            _roundingErrors(w + row * k + first, count, chosen[r], qmin: qmin, qmax: qmax, into: delta + r * count)
        }
        _addProducts(SIMD16<Float>.self, rows: rows.count, columns: k - end, depth: count, a: delta, aStride: count,
                     b: gram + first * k + end, bStride: k, c: cross + end, cStride: k)
    }
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

/// `sum x_i y_i` of float32 products, in float64.
@inline(__always)
func _sumOfProducts(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Double {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i] * y[i]) }
    return sum
}

/// The least-squares scale for a group's fixed steps `u = q - zero`: the `s` that minimises
/// `d H dᵀ + 2 d cᵀ` for `d = w - s u`, `s = (w H uᵀ + u cᵀ) / (u H uᵀ)`, from `w L` and `u L`
/// (`H = L Lᵀ`), the steps and the cross term `c`; rounded to the nearest float16 when scales are
/// stored so; nil when it is not a positive finite scale. The zero point stays.
@inline(__always)
func _refitScale(_ p: QuantParams, weightProducts: UnsafePointer<Float>, steps: UnsafePointer<Float>,
                 stepProducts: UnsafePointer<Float>, cross: UnsafePointer<Float>, count: Int,
                 storage: ScaleStorage) -> QuantParams? {
    var numerator = 0.0, denominator = 0.0
    for i in 0..<count {
        numerator += Double(weightProducts[i]) * Double(stepProducts[i]) + Double(steps[i]) * Double(cross[i])
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
        let q = _gridCode(x[c], p.scale, zero, qmin, qmax)
        out[c] = stepsOnly ? q - zero : x[c] - (q - zero) * p.scale
        c += 1
    }
}
