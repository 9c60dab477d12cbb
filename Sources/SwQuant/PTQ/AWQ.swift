#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The result of `awq`: weights quantized after scaling their input channels, and those scales.
public struct AWQResult: Sendable {
    /// The quantized `W * diag(channelScales)`: multiply its inputs by `1 / channelScales` (or fold that
    /// into the previous operation) to compute the layer.
    public let tensor: QuantizedTensor
    /// One scale per input channel, `mean|x|^alpha` (divided by `mean|ŵ|^(1 - alpha)` with duo scaling)
    /// normalised by `sqrt(max * min)`.
    public let channelScales: [Float]
    /// The chosen exponent.
    public let alpha: Double
}

/// AWQ (Lin et al.): activation-aware scaling of input channels before round-to-nearest. For alpha in
/// 0, 1/grid, ..., (grid-1)/grid, the channel scales `s = mean|x|^alpha` (from `stats`, normalised by
/// `sqrt(max(s) * min(s))`) multiply the weight columns, the scaled weights are quantized, and the
/// layer's output error on the calibration data, `sum_rows Δ H Δᵀ` with `Δ = W - Q(W s) / s` and
/// `H = XᵀX` (see `_OutputError`), picks alpha (the first least wins ties). With `clipSearch` (per-row
/// and per-group schemes), the final quantization clips each group's range, group after group, to
/// minimise the output error through the scaled inputs' Gram matrix with the other groups' rounding
/// errors fixed, and refits its scale (`_outputErrorClipParams`, AWQ's auto-clip).
/// With `duoScaling` (AutoAWQ's default), the candidates are `s = mean|x|^alpha / mean|ŵ|^(1 - alpha)`
/// instead, `ŵ` being each weight divided by the largest magnitude of its group (or row) and the mean
/// taken over the rows, so that alpha = 0 scales channels of small weights up.
/// Without duo scaling, `grid = 1` (alpha = 0) equals round-to-nearest with the same clipping.
public func awq(_ weights: TensorView, stats: LayerStats, scheme: QuantScheme, grid: Int = 20,
                clipSearch: Bool = true, duoScaling: Bool = false) throws(QuantError) -> AWQResult {
    let (n, k) = (weights.rows, weights.cols)
    guard stats.inFeatures == k else {
        throw QuantError(.shape, "the statistics have \(stats.inFeatures) input features, the weights \(k) columns")
    }
    guard stats.rowCount > 0 else { throw QuantError(.shape, "the statistics have not seen any data") }
    guard (1...1000).contains(grid) else { throw QuantError(.invalidArgument, "grid must be between 1 and 1000, got \(grid)") }
    try _MemoryLimit.check(k * k, elementBytes: 2 * 8, for: "AWQ's Gram matrix and its factor")
    try _MemoryLimit.check(n * k, elementBytes: 3 * 8, for: "AWQ's float64 weights and candidates")
    let original = try QuantizedTensor._float64Rows(weights)
    let meanAbs = stats.meanAbs, gram = stats.gram
    let weightMeans = duoScaling ? _normalizedWeightMeans(original, n, k, runLength: _ParamLayout(try scheme.validated(), cols: k).runLength) : nil
    let outputError = try _OutputError(gram: gram, k: k)
    var best: (error: Double, alpha: Double, scales: [Float])?
    for step in 0..<grid {
        let alpha = Double(step) / Double(grid)
        let scales = _awqScales(meanAbs, weightMeans: weightMeans, alpha: alpha)
        let candidate = try _scaledQuantization(original, n, k, scales, scheme, clipGram: nil)
        let error = outputError(original, candidate.dequantize(), scales, rows: n)
        if best == nil || error < best!.error { best = (error, alpha, scales) }
    }
    let chosen = best!
    // The Gram matrix of the scaled inputs x / s, for the clipping search.
    let scaledGram = clipSearch ? (0..<(k * k)).map { gram[$0] / (Double(chosen.scales[$0 / k]) * Double(chosen.scales[$0 % k])) } : nil
    let tensor = try _scaledQuantization(original, n, k, chosen.scales, scheme, clipGram: scaledGram)
    return AWQResult(tensor: tensor, channelScales: chosen.scales, alpha: chosen.alpha)
}

/// `mean|x|^alpha`, or `mean|x|^alpha / (mean|ŵ|^(1 - alpha) + 1e-4)` given the weight means, at least
/// 1e-4 and divided by `sqrt(max * min)`.
func _awqScales(_ meanAbs: [Double], weightMeans: [Double]?, alpha: Double) -> [Float] {
    let raw = meanAbs.indices.map { c in
        let activation = pow(Swift.max(meanAbs[c], 0), alpha)
        let weight = weightMeans.map { pow($0[c], 1 - alpha) + 1e-4 } ?? 1
        return Swift.max(activation / weight, 1e-4)
    }
    let norm = (raw.max()! * raw.min()!).squareRoot()
    return raw.map { Float($0 / norm) }
}

/// Per column, the mean over the rows of `|w| / (max|w| of its run of `runLength` columns + 1e-6)`.
func _normalizedWeightMeans(_ w: [Double], _ n: Int, _ k: Int, runLength: Int) -> [Double] {
    var sums = [Double](repeating: 0, count: k)
    for r in 0..<n {
        for start in stride(from: 0, to: k, by: runLength) {
            let run = start..<Swift.min(start + runLength, k)
            let largest = run.reduce(0.0) { Swift.max($0, w[r * k + $1].magnitude) }
            for c in run { sums[c] += w[r * k + c].magnitude / (largest + 1e-6) }
        }
    }
    return sums.map { $0 / Double(n) }
}

/// Quantizes `W * diag(scales)` (float32), with the clipping search of `_outputErrorClipParams` through
/// `clipGram` (the scaled inputs' Gram matrix) when it is non-nil.
func _scaledQuantization(_ w: [Double], _ n: Int, _ k: Int, _ scales: [Float], _ scheme: QuantScheme,
                         clipGram: [Double]?) throws(QuantError) -> QuantizedTensor {
    var scaled = [Float](repeating: 0, count: n * k)
    for r in 0..<n { for c in 0..<k { scaled[r * k + c] = Float(w[r * k + c]) * scales[c] } }
    let result = scaled.withUnsafeBufferPointer { buffer in
        Result { () throws(QuantError) -> QuantizedTensor in
            let view = try TensorView(buffer, rows: n, cols: k)
            guard let clipGram else { return try QuantizedTensor(quantizing: view, scheme: scheme) }
            let scheme = try scheme.validated()
            guard _ParamLayout(scheme, cols: k).isPerRun else {
                throw QuantError(.invalidArgument, "clip search needs a per-row or per-group scheme")
            }
            let params = try _outputErrorClipParams(buffer.baseAddress!, rows: n, cols: k, scheme: scheme, gram: clipGram)
            return QuantizedTensor(_encoding: view, scheme: scheme, params: params)
        }
    }
    return try result.get()
}

/// A layer's output error on its calibration data, `sum_rows Δ H Δᵀ` for a weight change `Δ` and
/// `H = XᵀX`, computed as `‖Δ L‖²` with the Cholesky factor `H = L Lᵀ` of `_ridgedCholeskyFactor` (half
/// the work of `Δ H Δᵀ`), in float32 with float64 totals.
struct _OutputError {
    let k: Int
    /// `L` in float32, row-major, zero above the diagonal.
    let factor: [Float]

    init(gram: [Double], k: Int) throws(QuantError) {
        self.k = k
        factor = try _ridgedCholeskyFactor(gram, k, block: 0..<k)
    }

    /// The error of `Δ = W - Ŵ' / scales` (`W` in float64, the quantized scaled weights `Ŵ'` in float32).
    /// Rows go 16 at a time and columns of `Δ L` 32 at a time; blocks run in parallel and their sums are
    /// added in block order.
    func callAsFunction(_ w: [Double], _ quantizedScaled: [Float], _ scales: [Float], rows n: Int) -> Double {
        let k = self.k, blockRows = 16, chunk = 32, blocks = (n + blockRows - 1) / blockRows
        var perBlock = [Double](repeating: 0, count: blocks)
        perBlock.withUnsafeMutableBufferPointer { perBlock in
            factor.withUnsafeBufferPointer { factor in
                _parallelForRanges(itemCount: blocks) { range in
                    let delta = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * k)
                    let products = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * chunk)
                    defer { delta.deallocate(); products.deallocate() }
                    for block in range {
                        let rows = (block * blockRows)..<Swift.min(block * blockRows + blockRows, n)
                        for (r, row) in rows.enumerated() {
                            for c in 0..<k { delta[r * k + c] = Float(w[row * k + c] - Double(quantizedScaled[row * k + c] / scales[c])) }
                        }
                        // Columns j of Δ L take rows t >= j of L: each chunk starts at its own diagonal.
                        var total = 0.0
                        for start in stride(from: 0, to: k, by: chunk) {
                            products.initialize(repeating: 0, count: blockRows * chunk)
                            _addProducts(SIMD16<Float>.self, rows: rows.count, columns: Swift.min(chunk, k - start), depth: k - start,
                                         a: delta + start, aStride: k, b: factor.baseAddress! + start * k + start, bStride: k,
                                         c: products, cStride: chunk)
                            for i in 0..<(rows.count * chunk) { total += Double(products[i] * products[i]) }
                        }
                        perBlock[block] = total
                    }
                }
            }
        }
        return perBlock.reduce(0, +)
    }
}
