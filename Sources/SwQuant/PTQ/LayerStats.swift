/// Calibration statistics of a linear layer's input, streamed over batches: the Gram matrix `XᵀX` (for
/// GPTQ's Hessian), and per input channel the sums of `|x|` (AWQ, SmoothQuant) and `x²` (importance
/// weights). Memory is fixed: `inFeatures²` plus `2 * inFeatures` doubles, whatever the data.
///
/// Sums run in float64 in an order fixed by the shapes, so results do not depend on the thread count.
/// Statistics merge (two halves give the sums of the whole, up to float64 rounding) and serialize.
///
/// ```swift
/// let stats = try LayerStats(inFeatures: 576)
/// try stats.observe(batch)          // [tokens, 576]
/// let hessian = stats.gram          // 576 x 576, row-major
/// ```
///
/// Not safe to use from several threads at once; each call uses swquant's threads.
public final class LayerStats {
    public let inFeatures: Int
    /// Rows (tokens) observed.
    public internal(set) var rowCount: Int = 0
    /// `XᵀX`, row-major `[inFeatures, inFeatures]`.
    public internal(set) var gram: [Double]
    /// Per input channel, the sum of `|x|`.
    public internal(set) var sumAbs: [Double]
    /// Per input channel, the sum of `x²`.
    public internal(set) var sumSquares: [Double]

    /// The most input features statistics take (a Gram matrix of 32 GiB).
    public static let maxInFeatures = 65_536

    /// Empty statistics for inputs of `inFeatures` channels (1 to `maxInFeatures`).
    public init(inFeatures: Int) throws(QuantError) {
        guard (1...Self.maxInFeatures).contains(inFeatures) else {
            throw QuantError(.invalidArgument, "in_features must be between 1 and \(Self.maxInFeatures), got \(inFeatures)")
        }
        try _MemoryLimit.check(inFeatures * inFeatures, elementBytes: 8, for: "statistics of \(inFeatures) input features")
        self.inFeatures = inFeatures
        gram = [Double](repeating: 0, count: inFeatures * inFeatures)
        sumAbs = [Double](repeating: 0, count: inFeatures)
        sumSquares = [Double](repeating: 0, count: inFeatures)
    }

    /// Per input channel, the mean of `|x|` (zeros before any data).
    public var meanAbs: [Double] { sumAbs.map { rowCount == 0 ? 0 : $0 / Double(rowCount) } }

    /// Per input channel, the mean of `x²` (zeros before any data).
    public var meanSquare: [Double] { sumSquares.map { rowCount == 0 ? 0 : $0 / Double(rowCount) } }

    /// Rows of a batch converted to float64 at a time: the batch streams through this much memory.
    static let blockBytes = 8 << 20

    /// Adds a batch of `[rows, inFeatures]` inputs. Throws `.shape` for another column count and
    /// `.nonFinite` for NaN or infinity (the statistics are then unchanged). The batch streams through
    /// float64 blocks of at most `blockBytes`, whatever its size.
    public func observe(_ batch: TensorView) throws(QuantError) {
        guard batch.cols == inFeatures else {
            throw QuantError(.shape, "the batch has \(batch.cols) columns, the layer \(inFeatures) input features")
        }
        let (rows, k) = (batch.rows, inFeatures)
        let newRowCount = try Self._addedRows(rowCount, rows)
        guard _allRowsFinite(batch) else { throw _nonFiniteError(batch) }
        let blockRows = Swift.min(rows, Swift.max(1, Self.blockBytes / (8 * k)))
        let x = UnsafeMutablePointer<Double>.allocate(capacity: blockRows * k)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k)
        defer { x.deallocate(); scratch.deallocate() }
        // Per channel, the sums of |x| and x² over the batch's rows in order, added to the totals at the end.
        var absolute = [Double](repeating: 0, count: k), squares = [Double](repeating: 0, count: k)
        for start in stride(from: 0, to: rows, by: blockRows) {
            let count = Swift.min(blockRows, rows - start)
            for r in 0..<count {
                let values = batch.floats(row: start + r, start: 0, count: k, scratch: scratch)
                for c in 0..<k { x[r * k + c] = Double(values[c]) }
            }
            addGram(x, rows: count)
            for c in 0..<k {
                for r in 0..<count {
                    let v = x[r * k + c]
                    absolute[c] += Swift.abs(v)
                    squares[c] += v * v
                }
            }
        }
        gram.withUnsafeMutableBufferPointer { gram in
            // Mirror the upper triangle's new values into the lower one.
            for i in 0..<k { for j in (i + 1)..<Swift.max(i + 1, k) { gram[j * k + i] = gram[i * k + j] } }
        }
        for c in 0..<k {
            sumAbs[c] += absolute[c]
            sumSquares[c] += squares[c]
        }
        rowCount = newRowCount
    }

    /// Adds `XᵀX` of `rows` float64 rows to the upper triangle of `gram`, in tiles of 64 x 64 (i <= j),
    /// each summed over the rows in order by one thread.
    private func addGram(_ x: UnsafePointer<Double>, rows: Int) {
        let k = inFeatures, tile = 64, tiles = (k + tile - 1) / tile
        let pairs = (0..<tiles).flatMap { i in (i..<tiles).map { (i, $0) } }
        gram.withUnsafeMutableBufferPointer { gram in
            _parallelForRanges(itemCount: pairs.count) { range in
                for index in range {
                    let (ti, tj) = pairs[index]
                    let rowsI = (ti * tile)..<Swift.min((ti + 1) * tile, k), colsJ = (tj * tile)..<Swift.min((tj + 1) * tile, k)
                    for r in 0..<rows {
                        let xr = x + r * k
                        for i in rowsI {
                            let xi = xr[i]
                            if xi == 0 { continue }
                            let target = gram.baseAddress! + i * k
                            var j = ti == tj ? i : colsJ.lowerBound
                            while j + 8 <= colsJ.upperBound {
                                let current = UnsafeRawPointer(target + j).loadUnaligned(as: SIMD8<Double>.self)
                                let xs = UnsafeRawPointer(xr + j).loadUnaligned(as: SIMD8<Double>.self)
                                UnsafeMutableRawPointer(target + j).storeBytes(of: current + xs * xi, as: SIMD8<Double>.self)
                                j += 8
                            }
                            while j < colsJ.upperBound {
                                target[j] += xi * xr[j]
                                j += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds another layer's statistics (same `inFeatures`), as if these had seen its batches too.
    public func merge(_ other: LayerStats) throws(QuantError) {
        guard other.inFeatures == inFeatures else {
            throw QuantError(.shape, "statistics of \(other.inFeatures) and \(inFeatures) input features cannot merge")
        }
        let total = try Self._addedRows(rowCount, other.rowCount)
        for i in gram.indices { gram[i] += other.gram[i] }
        for c in 0..<inFeatures {
            sumAbs[c] += other.sumAbs[c]
            sumSquares[c] += other.sumSquares[c]
        }
        rowCount = total
    }

    /// `a + b`, or `.overflow` for a row count that no longer fits.
    static func _addedRows(_ a: Int, _ b: Int) throws(QuantError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw QuantError(.overflow, "the row count of the statistics would overflow") }
        return sum
    }

    /// The statistics of the inputs scaled channel by channel, `x * diag(scales)` (one finite scale per
    /// input feature): what observing the scaled batches would give, up to float64 rounding. For GPTQ
    /// after AWQ's channel scales `s`: `QuantizedTensor(gptq: W diag(s), stats: stats.scaled(by: 1 / s), ...)`.
    public func scaled(by scales: [Float]) throws(QuantError) -> LayerStats {
        guard scales.count == inFeatures else {
            throw QuantError(.shape, "\(scales.count) scales for \(inFeatures) input features")
        }
        guard scales.allSatisfy(\.isFinite) else { throw QuantError(.nonFinite, "scales must be finite") }
        let k = inFeatures, c = scales.map(Double.init)
        let result = try LayerStats(inFeatures: k)
        result.rowCount = rowCount
        for i in 0..<k {
            result.sumAbs[i] = sumAbs[i] * c[i].magnitude
            result.sumSquares[i] = sumSquares[i] * c[i] * c[i]
            for j in 0..<k { result.gram[i * k + j] = gram[i * k + j] * c[i] * c[j] }
        }
        return result
    }
}
