/// How an `Observer` turns what it saw into a range; raw tags match the C ABI's `swq_observer_method`.
@frozen
public enum CalibrationMethod: Sendable, Hashable {
    /// The smallest and largest values seen.
    case minMax
    /// Exponential moving averages of each batch's minimum and maximum: `m += momentum * (batch - m)`,
    /// starting from the first batch (ONNX Runtime's `moving_average`, `averaging_constant`).
    case movingAverage(momentum: Double)
    /// The range holding `percentile` percent of the values (e.g. 99.99), from the histogram.
    case percentile(Double)
    /// The symmetric threshold minimising the expected squared quantization error over the histogram.
    case mse
    /// The TensorRT entropy method: the threshold minimising the KL divergence between the histogram
    /// and its quantization to `quantizedBins` levels (128 by default).
    case entropy(quantizedBins: Int)

    var usesHistogram: Bool {
        switch self {
        case .minMax, .movingAverage: false
        case .percentile, .mse, .entropy: true
        }
    }
}

/// A calibration observer: streams over batches of activations, keeping statistics (never the batches),
/// then chooses the quantization range by its method.
///
/// Memory stays fixed per observer: a minimum and maximum per channel, plus for the histogram methods one
/// histogram of `bins` bins per channel. Observers merge exactly (min-max and histograms; a moving average
/// cannot be merged) and serialize to bytes, so calibration can run in many processes and combine.
///
/// ```swift
/// let observer = try Observer(method: .percentile(99.99), bits: 8, symmetric: true)
/// for batch in batches { try observer.observe(batch) }
/// let (low, high) = try observer.ranges()[0]
/// let params = try observer.qparams()[0]
/// ```
///
/// An observer is not safe to use from several threads at once; each call uses swquant's threads.
public final class Observer {
    public let method: CalibrationMethod
    public let bits: Int
    public let symmetric: Bool
    /// nil: per tensor; 0: per row; 1: per column.
    public let axis: Int?
    /// Histogram bins (a multiple of 4), fixed: a wider range doubles the bin width instead.
    public let bins: Int

    /// Values (elements of every batch) observed so far.
    public internal(set) var valueCount: Int = 0
    var minimums: [Float] = []
    var maximums: [Float] = []
    /// One histogram per channel (the histogram methods), created by the first batch.
    var histograms: [_Histogram] = []

    /// The largest histogram: threshold searches cost up to the square of the bin count.
    public static let maxBins = 16_384

    /// Histogram bins per channel unless an observer asks for another count.
    public static let defaultBins = 2048

    /// An observer; throws `.invalidArgument` for bits outside 2...8, a momentum outside [0, 1], a
    /// percentile outside (0, 100], or a bin count that is not a multiple of 4 in 8...`maxBins`.
    public init(method: CalibrationMethod, bits: Int = 8, symmetric: Bool = true, axis: Int? = nil, bins: Int = Observer.defaultBins) throws(QuantError) {
        guard (2...8).contains(bits) else { throw QuantError(.invalidArgument, "bits must be between 2 and 8, got \(bits)") }
        guard axis == nil || axis == 0 || axis == 1 else {
            throw QuantError(.invalidArgument, "axis must be nil, 0 (rows) or 1 (columns), got \(axis!)")
        }
        switch method {
        case .movingAverage(let momentum):
            guard (0...1).contains(momentum) else { throw QuantError(.invalidArgument, "momentum must be in [0, 1], got \(momentum)") }
        case .percentile(let p):
            guard p > 0, p <= 100 else { throw QuantError(.invalidArgument, "percentile must be in (0, 100], got \(p)") }
        case .entropy(let quantizedBins):
            guard quantizedBins >= 2, quantizedBins * 2 <= bins else {
                throw QuantError(.invalidArgument, "entropy needs 2 <= quantized bins <= bins / 2, got \(quantizedBins) of \(bins)")
            }
        case .minMax, .mse: break
        }
        guard bins >= 8, bins % 4 == 0, bins <= Self.maxBins else {
            throw QuantError(.invalidArgument, "bins must be a multiple of 4 in 8...\(Self.maxBins), got \(bins)")
        }
        self.method = method
        self.bits = bits
        self.symmetric = symmetric
        self.axis = axis
        self.bins = bins
    }

    /// Adds a batch: updates the statistics, keeps nothing of the data. Throws `.nonFinite` for NaN or
    /// infinity and `.shape` when a per-channel batch has a different channel count than earlier ones.
    public func observe(_ batch: TensorView) throws(QuantError) {
        let (total, overflow) = valueCount.addingReportingOverflow(batch.count)
        guard !overflow else { throw QuantError(.overflow, "the observer's value count would overflow") }
        let channels = axis == nil ? 1 : axis == 0 ? batch.rows : batch.cols
        try _MemoryLimit.check(channels, elementBytes: 16 + (method.usesHistogram ? 8 * bins : 0), for: "\(channels) channels")
        let ranges: [(min: Float, max: Float)]
        switch axis {
        case nil: ranges = [try _tensorRange(batch)]
        case 0: ranges = try _rowRanges(batch)
        default: ranges = try _columnRanges(batch)
        }
        if valueCount > 0, ranges.count != minimums.count {
            throw QuantError(.shape, "this observer saw \(minimums.count) channels, the batch has \(ranges.count)")
        }
        if method.usesHistogram {
            if histograms.isEmpty { histograms = [_Histogram](repeating: _Histogram(bins: bins), count: ranges.count) }
            for c in ranges.indices { histograms[c].cover(Double(Swift.max(-ranges[c].min, ranges[c].max))) }
            switch axis {
            case nil: histograms[0].add(batch)
            case 0: histograms.addRows(batch)
            default: histograms.addColumns(batch)
            }
        }
        if valueCount == 0 {
            minimums = ranges.map(\.min)
            maximums = ranges.map(\.max)
        } else if case .movingAverage(let momentum) = method {
            for c in ranges.indices {
                minimums[c] += Float(momentum) * (ranges[c].min - minimums[c])
                maximums[c] += Float(momentum) * (ranges[c].max - maximums[c])
            }
        } else {
            for c in ranges.indices {
                minimums[c] = Swift.min(minimums[c], ranges[c].min)
                maximums[c] = Swift.max(maximums[c], ranges[c].max)
            }
        }
        valueCount = total
    }

    /// Adds the statistics of another observer with the same configuration, as if this one had seen its
    /// batches too (exactly, for min-max and histograms). Moving averages depend on batch order and do
    /// not merge (`.invalidArgument`).
    public func merge(_ other: Observer) throws(QuantError) {
        guard other.method == method, other.bits == bits, other.symmetric == symmetric, other.axis == axis, other.bins == bins else {
            throw QuantError(.invalidArgument, "observers merge only with the same method, bits, symmetry, axis and bins")
        }
        if case .movingAverage = method, valueCount > 0, other.valueCount > 0 {
            throw QuantError(.invalidArgument, "moving averages depend on the order of batches and cannot be merged")
        }
        guard other.valueCount > 0 else { return }
        let (total, overflow) = valueCount.addingReportingOverflow(other.valueCount)
        guard !overflow else { throw QuantError(.overflow, "the merged value count would overflow") }
        guard valueCount > 0 else {
            (valueCount, minimums, maximums, histograms) = (other.valueCount, other.minimums, other.maximums, other.histograms)
            return
        }
        guard other.minimums.count == minimums.count else {
            throw QuantError(.shape, "observers saw \(minimums.count) and \(other.minimums.count) channels")
        }
        for c in minimums.indices {
            minimums[c] = Swift.min(minimums[c], other.minimums[c])
            maximums[c] = Swift.max(maximums[c], other.maximums[c])
        }
        if method.usesHistogram { for c in histograms.indices { histograms[c].merge(other.histograms[c]) } }
        valueCount = total
    }

    /// Channels (ranges) the observer reports: 1 per tensor, the rows or columns of its batches per
    /// channel; 0 before any batch.
    public var channelCount: Int { minimums.count }

    /// The chosen `(low, high)` range per channel (one for a per-tensor observer); `(-t, t)` with
    /// `t = max(|low|, |high|)` for a symmetric observer, whatever its method. Throws `.shape` before any
    /// batch was observed.
    public func ranges() throws(QuantError) -> [(low: Float, high: Float)] {
        guard valueCount > 0 else { throw QuantError(.shape, "the observer has not seen any data") }
        var ranges: [(low: Float, high: Float)]
        if method.usesHistogram {
            ranges = [(low: Float, high: Float)](repeating: (0, 0), count: histograms.count)
            ranges.withUnsafeMutableBufferPointer { ranges in
                _parallelForRanges(itemCount: histograms.count) { channels in
                    for c in channels { ranges[c] = searchRange(c) }
                }
            }
        } else {
            ranges = zip(minimums, maximums).map { ($0, $1) }
        }
        guard symmetric else { return ranges }
        return ranges.map { range in
            let t = Swift.max(range.low.magnitude, range.high.magnitude)
            return (-t, t)
        }
    }

    /// The range the histogram method chooses for channel `c`, limited to the values seen there.
    private func searchRange(_ c: Int) -> (low: Float, high: Float) {
        let histogram = histograms[c]
        let range: (low: Double, high: Double)
        switch method {
        case .percentile(let p):
            range = histogram.percentileRange(p, symmetric: symmetric)
        case .mse:
            let levels = Double(symmetric ? 2 * ((1 << (bits - 1)) - 1) : (1 << bits) - 1)
            let t = histogram.mseThreshold(levels: levels)
            range = (-t, t)
        case .entropy(let quantizedBins):
            range = histogram.entropyRange(quantizedBins: quantizedBins)
        case .minMax, .movingAverage:
            preconditionFailure("min-max methods keep no histogram")
        }
        return (Swift.max(Float(range.low), minimums[c]), Swift.min(Float(range.high), maximums[c]))
    }

    /// Scale and zero point per channel for this observer's bits and symmetry (see `QuantScheme`).
    public func qparams(grid: IntegerGrid? = nil, scaleStorage: ScaleStorage = .float32) throws(QuantError) -> [QuantParams] {
        let scheme = QuantScheme(bits: bits, grid: grid, symmetric: symmetric, scaleStorage: scaleStorage)
        var params = [QuantParams]()
        for r in try ranges() { params.append(try scheme.qparams(min: Swift.min(r.low, r.high), max: r.high)) }
        return params
    }

}

extension _Histogram {
    /// Adds every value of a batch whose range this histogram already covers, with per-thread partial
    /// counts summed in a fixed order (exact: counts are integers).
    mutating func add(_ batch: TensorView) {
        let plan = _WorkPlan(rows: batch.rows, cols: batch.cols)
        let threads = _threadCount(itemCount: plan.itemCount)
        var partials = [_Histogram](repeating: self, count: threads)
        for t in partials.indices { partials[t].clear() }
        partials.withUnsafeMutableBufferPointer { partials in
            _parallelForThreads(itemCount: plan.itemCount, threads: threads) { thread, items in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: plan.segmentLength)
                defer { scratch.deallocate() }
                for index in items {
                    let (row, columns) = plan.item(index)
                    partials[thread].add(batch.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: scratch), columns.count)
                }
            }
        }
        for partial in partials { addCounts(partial) }
    }
}

extension Array where Element == _Histogram {
    /// Adds row r of the batch to histogram r (per-row channels), rows in parallel.
    mutating func addRows(_ batch: TensorView) {
        withUnsafeMutableBufferPointer { histograms in
            _parallelForRanges(itemCount: batch.rows) { rows in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: batch.cols)
                defer { scratch.deallocate() }
                for row in rows {
                    histograms[row].add(batch.floats(row: row, start: 0, count: batch.cols, scratch: scratch), batch.cols)
                }
            }
        }
    }

    /// Adds column c of the batch to histogram c (per-column channels), columns split between threads.
    mutating func addColumns(_ batch: TensorView) {
        withUnsafeMutableBufferPointer { histograms in
            _parallelForRanges(itemCount: batch.cols) { columns in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: batch.cols)
                defer { scratch.deallocate() }
                for row in 0..<batch.rows {
                    let x = batch.floats(row: row, start: 0, count: batch.cols, scratch: scratch)
                    for c in columns { histograms[c].add(x + c, 1) }
                }
            }
        }
    }
}

/// Minimum and maximum of each row.
func _rowRanges(_ source: TensorView) throws(QuantError) -> [(min: Float, max: Float)] {
    var ranges = [(min: Float, max: Float)](repeating: (0, 0), count: source.rows)
    var finite = [Bool](repeating: true, count: source.rows)
    ranges.withUnsafeMutableBufferPointer { ranges in
        finite.withUnsafeMutableBufferPointer { finite in
            _parallelForRanges(itemCount: source.rows) { rows in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: source.cols)
                defer { scratch.deallocate() }
                for row in rows {
                    let r = _minMax(source.floats(row: row, start: 0, count: source.cols, scratch: scratch), source.cols)
                    ranges[row] = (r.min, r.max)
                    finite[row] = r.finite
                }
            }
        }
    }
    guard finite.allSatisfy({ $0 }) else { throw _nonFiniteError(source) }
    return ranges
}
