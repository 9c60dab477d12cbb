/// A histogram of values symmetric around zero with a fixed number of bins whose width is a power of
/// two. The width is the smallest power of two whose bins cover every value seen, so the state depends
/// only on the values, not on their order or on how they were split into batches: histograms of
/// different batches or processes merge exactly.
///
/// Bins cover `[-width * bins / 2, width * bins / 2)`, bin `i` holding `[(i - bins/2) * width,
/// (i - bins/2 + 1) * width)`. A larger value doubles the width (neighbouring bins merge, counts kept,
/// the histogram re-centred) until it fits: counts are never estimated or spread.
struct _Histogram: Equatable {
    /// Bin width, a power of two (0 until the first non-zero value).
    private(set) var binWidth: Double
    private(set) var counts: [Int64]

    /// An empty histogram of `bins` bins (a multiple of 4).
    init(bins: Int) {
        binWidth = 0
        counts = [Int64](repeating: 0, count: bins)
    }

    init(binWidth: Double, counts: [Int64]) {
        self.binWidth = binWidth
        self.counts = counts
    }

    /// Whether `width` can be a histogram's bin width: 0 (nothing but zeros seen) or a normal power of two.
    static func isValidWidth(_ width: Double) -> Bool {
        width == 0 || (width.isNormal && width > 0 && width.significand == 1)
    }

    /// Half the covered range: values in `[-threshold, threshold)` have a bin.
    var threshold: Double { binWidth * Double(counts.count / 2) }

    /// Makes the range cover `[-magnitude, magnitude]`.
    mutating func cover(_ magnitude: Double) {
        guard magnitude > 0 else { return }
        if binWidth == 0 {
            binWidth = 1
            let half = Double(counts.count / 2)
            while binWidth * half <= magnitude { binWidth *= 2 }
            while binWidth / 2 * half > magnitude { binWidth /= 2 }
            return
        }
        while threshold <= magnitude { coarsen() }
    }

    /// Doubles the width: bins 2k and 2k + 1 merge, and the result is re-centred in the same number of
    /// bins (zero stays at the edge between the two middle bins).
    mutating func coarsen() {
        let bins = counts.count
        var merged = [Int64](repeating: 0, count: bins)
        for i in 0..<bins { merged[bins / 4 + i / 2] += counts[i] }
        counts = merged
        binWidth *= 2
    }

    /// Zeroes the counts, keeping the width.
    mutating func clear() { counts = [Int64](repeating: 0, count: counts.count) }

    /// Adds values (which must lie within the range: call `cover` first).
    mutating func add(_ x: UnsafePointer<Float>, _ n: Int) {
        let bins = counts.count
        if binWidth == 0 {  // every value is zero
            counts[bins / 2] += Int64(n)
            return
        }
        let scale = 1 / binWidth, offset = Double(bins / 2), last = Double(bins - 1)
        counts.withUnsafeMutableBufferPointer { counts in
            for i in 0..<n {
                // Clamped in floating point, so that no value (not even one changed by another thread
                // after the finiteness check, or NaN) can make the conversion trap.
                let position = (Double(x[i]) * scale + offset).rounded(.down)
                counts[position >= 0 ? Int(Swift.min(position, last)) : 0] += 1
            }
        }
    }

    /// Adds the counts of a histogram of the same width.
    mutating func addCounts(_ other: _Histogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Adds another histogram of the same size exactly: the finer of the two coarsens to the other's width.
    mutating func merge(_ other: _Histogram) {
        var other = other
        if other.binWidth == 0 {
            counts[counts.count / 2] += other.counts[counts.count / 2]
            return
        }
        if binWidth == 0 {
            other.counts[counts.count / 2] += counts[counts.count / 2]
            self = other
            return
        }
        while binWidth < other.binWidth { coarsen() }
        while other.binWidth < binWidth { other.coarsen() }
        addCounts(other)
    }

    /// The left edge of bin `i`.
    func edge(_ i: Int) -> Double { (Double(i) - Double(counts.count / 2)) * binWidth }
}
