#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Range choices from a histogram. Percentile and entropy follow ONNX Runtime's calibrators
// (`onnxruntime.quantization.calibrate.HistogramCollector`) step for step on swquant's histogram, whose
// bins have power-of-two widths: results agree with ONNX Runtime's to within one of these bins.

extension _Histogram {
    /// The range holding `percentile` percent of the values: symmetric `[-T, T]` from the histogram of
    /// |x| (bins folded around zero), else cutting half the rest from each side.
    func percentileRange(_ percentile: Double, symmetric: Bool) -> (low: Double, high: Double) {
        let total = Double(counts.reduce(0, +))
        guard total > 0 else { return (0, 0) }
        if symmetric {
            let half = counts.count / 2
            var cumulative = 0.0
            for j in 0..<half {
                cumulative += Double(counts[half + j] + counts[half - 1 - j]) / total
                if cumulative >= percentile / 100 { return (-Double(j) * binWidth, Double(j) * binWidth) }
            }
            return (-threshold, threshold)
        }
        let cut = (100 - percentile) / 200
        return (edge(searchsorted(cut, total)), edge(searchsorted(1 - cut, total)))
    }

    /// The first bin where the cumulative fraction reaches `fraction` (numpy's `searchsorted`, left).
    private func searchsorted(_ fraction: Double, _ total: Double) -> Int {
        var cumulative = 0.0
        for (i, c) in counts.enumerated() {
            cumulative += Double(c) / total
            if cumulative >= fraction { return i }
        }
        return counts.count - 1
    }

    /// The symmetric threshold T (a bin edge) minimising the expected squared error of quantizing the
    /// histogram's values to `levels` steps over `[-T, T]`: `step^2 / 12` for values inside, the squared
    /// distance to T for clipped ones (each bin counted at its centre).
    func mseThreshold(levels: Double) -> Double {
        let half = counts.count / 2
        var magnitudes = [Double](repeating: 0, count: half)  // folded: bin j holds |x| in [j, j+1) widths
        for j in 0..<half { magnitudes[j] = Double(counts[half + j] + counts[half - 1 - j]) }
        var best = (error: Double.infinity, threshold: threshold)
        for t in 1...half {
            let limit = Double(t) * binWidth
            let step = 2 * limit / levels
            var error = 0.0
            for j in 0..<half where magnitudes[j] > 0 {
                let centre = (Double(j) + 0.5) * binWidth
                error += magnitudes[j] * (centre <= limit ? step * step / 12 : (centre - limit) * (centre - limit))
            }
            if error < best.error { best = (error, limit) }
        }
        return best.threshold
    }

    /// The TensorRT entropy method as ONNX Runtime runs it: for each candidate window of at least
    /// `quantizedBins` bins centred on zero, the KL divergence between the window's distribution (outliers
    /// folded into its end bins) and its `quantizedBins`-level quantization; the window with the least.
    func entropyRange(quantizedBins: Int) -> (low: Double, high: Double) {
        let bins = counts.count, zero = bins / 2, halfQuantized = quantizedBins / 2
        guard zero >= halfQuantized else { return (-threshold, threshold) }
        var best = (divergence: Double.infinity, low: -threshold, high: threshold)
        var prefix = [Int64](repeating: 0, count: bins + 1)
        for i in 0..<bins { prefix[i + 1] = prefix[i] + counts[i] }
        for i in halfQuantized...zero {
            let start = zero - i, end = Swift.min(zero + i + 1, bins)
            let length = end - start
            var p = (start..<end).map { Double(counts[$0]) }
            p[0] += Double(prefix[start])
            p[length - 1] += Double(prefix[bins] - prefix[end])
            let merged = length / quantizedBins
            var q = [Double](repeating: 0, count: length)
            for index in 0..<quantizedBins {
                let from = index * merged, to = from + merged
                var sum = prefix[start + to] - prefix[start + from]
                if index == quantizedBins - 1 { sum += prefix[end] - prefix[start + quantizedBins * merged] }
                let nonzero = (from..<to).filter { p[$0] != 0 }.count
                // ONNX Runtime stores q in an int64 array: the share is truncated.
                if nonzero != 0 { for j in from..<to { q[j] = Double(sum / Int64(nonzero)) } }
            }
            guard let ps = Self.smoothed(p), let qs = Self.smoothed(q) else { continue }
            let divergence = Self.klDivergence(ps, qs)
            if divergence < best.divergence { best = (divergence, edge(start), edge(end)) }
        }
        return (best.low, best.high)
    }

    /// ONNX Runtime's `smooth_distribution`: zeros become eps, taken off the non-zero entries.
    private static func smoothed(_ p: [Double], eps: Double = 0.0001) -> [Float]? {
        let zeros = p.filter { $0 == 0 }.count, nonzeros = p.count - zeros
        guard nonzeros > 0 else { return nil }
        let eps1 = eps * Double(zeros) / Double(nonzeros)
        return p.map { $0 == 0 ? Float(eps) : Float($0) + Float(-eps1) }
    }

    /// KL(p || q) of two unnormalised distributions (scipy's `entropy(p, q)`).
    private static func klDivergence(_ p: [Float], _ q: [Float]) -> Double {
        let sp = p.reduce(0.0) { $0 + Double($1) }, sq = q.reduce(0.0) { $0 + Double($1) }
        var sum = 0.0
        for i in p.indices where p[i] > 0 {
            let pi = Double(p[i]) / sp, qi = Double(q[i]) / sq
            sum += pi * log(pi / qi)
        }
        return sum
    }
}
