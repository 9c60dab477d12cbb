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
    /// One scale per input channel, `mean|x|^alpha` normalised by `sqrt(max * min)`.
    public let channelScales: [Float]
    /// The chosen exponent.
    public let alpha: Double
}

/// AWQ (Lin et al.): activation-aware scaling of input channels before round-to-nearest. For alpha in
/// 0, 1/grid, ..., (grid-1)/grid, the channel scales `s = mean|x|^alpha` (from `stats`, normalised by
/// `sqrt(max(s) * min(s))`) multiply the weight columns, the scaled weights are quantized, and the
/// layer's output error on the calibration data, `sum_rows Δ H Δᵀ` with `Δ = W - Q(W s) / s` and
/// `H = XᵀX`, picks alpha (the first least wins ties). The final quantization adds a clipping search
/// weighted by the scaled inputs' mean square when `clipSearch` is set. With `grid = 1` (alpha = 0) it
/// equals round-to-nearest with the same clipping.
public func awq(_ weights: TensorView, stats: LayerStats, scheme: QuantScheme, grid: Int = 20,
                clipSearch: Bool = true) throws(QuantError) -> AWQResult {
    let (n, k) = (weights.rows, weights.cols)
    guard stats.inFeatures == k else {
        throw QuantError(.shape, "the statistics have \(stats.inFeatures) input features, the weights \(k) columns")
    }
    guard stats.count > 0 else { throw QuantError(.shape, "the statistics have not seen any data") }
    guard (1...1000).contains(grid) else { throw QuantError(.invalidArgument, "grid must be between 1 and 1000, got \(grid)") }
    let original = try QuantizedTensor._float64Rows(weights)
    let meanAbs = stats.meanAbs, meanSquare = stats.meanSquare
    var best: (error: Double, alpha: Double, scales: [Float])?
    for step in 0..<grid {
        let alpha = Double(step) / Double(grid)
        let scales = _awqScales(meanAbs, alpha: alpha)
        let candidate = try _scaledQuantization(original, n, k, scales, scheme, clip: nil)
        let error = _outputError(original, candidate.dequantize(), scales, n, k, stats.gram)
        if best == nil || error < best!.error { best = (error, alpha, scales) }
    }
    let chosen = best!
    let importance: [Float]? = clipSearch ? (0..<k).map { Float(meanSquare[$0]) / (chosen.scales[$0] * chosen.scales[$0]) } : nil
    let tensor = try _scaledQuantization(original, n, k, chosen.scales, scheme, clip: clipSearch ? .some(importance) : nil)
    return AWQResult(tensor: tensor, channelScales: chosen.scales, alpha: chosen.alpha)
}

/// `mean|x|^alpha` (at least 1e-4) divided by `sqrt(max * min)`.
func _awqScales(_ meanAbs: [Double], alpha: Double) -> [Float] {
    let raw = meanAbs.map { Swift.max(pow(Swift.max($0, 0), alpha), 1e-4) }
    let norm = (raw.max()! * raw.min()!).squareRoot()
    return raw.map { Float($0 / norm) }
}

/// Quantizes `W * diag(scales)` (float32), with a clipping search when `clip` is non-nil (its value being
/// the optional importance).
func _scaledQuantization(_ w: [Double], _ n: Int, _ k: Int, _ scales: [Float], _ scheme: QuantScheme,
                         clip: [Float]??) throws(QuantError) -> QuantizedTensor {
    var scaled = [Float](repeating: 0, count: n * k)
    for r in 0..<n { for c in 0..<k { scaled[r * k + c] = Float(w[r * k + c]) * scales[c] } }
    let result = scaled.withUnsafeBufferPointer { buffer in
        Result { () throws(QuantError) -> QuantizedTensor in
            let view = try TensorView(buffer, rows: n, cols: k)
            if let clip { return try QuantizedTensor(quantizing: view, scheme: scheme, clipSearchWithImportance: clip) }
            return try QuantizedTensor(quantizing: view, scheme: scheme)
        }
    }
    return try result.get()
}

/// `sum_rows Δ H Δᵀ` with `Δ = W - Ŵ' / scales` (float64). Rows go 16 at a time so that each row of H
/// is read once per block from memory and used for all of the block's rows; blocks run in parallel and
/// their sums are added in block order.
func _outputError(_ w: [Double], _ quantizedScaled: [Float], _ scales: [Float], _ n: Int, _ k: Int, _ h: [Double]) -> Double {
    let blockRows = 16, blocks = (n + blockRows - 1) / blockRows
    var perBlock = [Double](repeating: 0, count: blocks)
    perBlock.withUnsafeMutableBufferPointer { perBlock in
        h.withUnsafeBufferPointer { h in
            _parallelForRanges(itemCount: blocks) { range in
                let delta = UnsafeMutablePointer<Double>.allocate(capacity: blockRows * k)
                defer { delta.deallocate() }
                for block in range {
                    let rows = (block * blockRows)..<Swift.min(block * blockRows + blockRows, n)
                    for (r, row) in rows.enumerated() {
                        for c in 0..<k { delta[r * k + c] = w[row * k + c] - Double(quantizedScaled[row * k + c] / scales[c]) }
                    }
                    var sums = [Double](repeating: 0, count: rows.count)
                    for j in 0..<k {
                        let hRow = h.baseAddress! + j * k
                        for r in 0..<rows.count where delta[r * k + j] != 0 {
                            sums[r] += delta[r * k + j] * _dotDouble(delta + r * k, hRow, k)
                        }
                    }
                    perBlock[block] = sums.reduce(0, +)
                }
            }
        }
    }
    return perBlock.reduce(0, +)
}
