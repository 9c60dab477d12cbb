/// Round-to-nearest with a clipping search: for each group, the range `[min * a, max * b]` whose
/// quantization error `sum_i importance_i * (x_i - x'_i)²` is least, with a and b from 1, 0.975, ..., 0.5
/// (`shrink`) in up to three sweeps (`sweeps`), as AWQ's and llama.cpp's quantizers search. Importance
/// is per column (an imatrix: the mean `x²` of each input channel, from `LayerStats`); without it
/// every element counts the same.
struct _ClipSearch {
    /// Per column, `cols` weights; nil for uniform importance.
    let importance: UnsafePointer<Float>?
    /// 1: both ends shrunk together only (GPTQ's search, whose error feedback makes the one-sided sweeps
    /// not worth their time); 3: then each end alone (`shrinks(sweep:alpha:best:)`).
    var sweeps = 3

    static let shrink: [Float] = (0...20).map { 1 - Float($0) / 40 }

    /// The (low, high) shrinks of the candidate `alpha` in sweep `sweep`, given the best so far: sweep 0
    /// tries `[min * a, max * a]` for each a in `shrink`; then, from the best so far `(low, high)`, sweep 1
    /// tries `[min * a, max * high]` and sweep 2 `[min * low, max * a]`. A candidate replaces the best
    /// only with a strictly smaller error, so the first of equals wins.
    @inline(__always)
    static func shrinks(sweep: Int, alpha: Float, best: (low: Float, high: Float)) -> (low: Float, high: Float) {
        switch sweep {
        case 0: (alpha, alpha)
        case 1: (alpha, best.high)
        default: (best.low, alpha)
        }
    }

    /// The best parameters for `x[0..<count]`, whose first element is in column `column`.
    @inline(__always)
    func params(_ x: UnsafePointer<Float>, _ count: Int, column: Int, scheme: QuantScheme,
                min: Float, max: Float) throws(QuantError) -> QuantParams {
        var best = try scheme._qparams(min: min, max: max)
        var bestError = error(x, count, column: column, best, scheme)
        var bestShrinks: (low: Float, high: Float) = (1, 1)
        for sweep in 0..<sweeps {
            for alpha in Self.shrink[(sweep == 0 ? 1 : 0)...] {  // sweep 0's first candidate is the full range
                let shrinks = Self.shrinks(sweep: sweep, alpha: alpha, best: bestShrinks)
                let candidate = try scheme._qparams(min: min * shrinks.low, max: max * shrinks.high)
                let candidateError = error(x, count, column: column, candidate, scheme)
                if candidateError < bestError {
                    (best, bestError, bestShrinks) = (candidate, candidateError, shrinks)
                }
            }
        }
        return best
    }

    /// `sum_i w_i * (x_i - fakeQuantize(x_i))²` in float64, in element order.
    @inline(__always)
    func error(_ x: UnsafePointer<Float>, _ count: Int, column: Int, _ p: QuantParams, _ scheme: QuantScheme) -> Double {
        let zero = Float(p.zeroPoint), low = Float(scheme.qmin), high = Float(scheme.qmax)
        var sum = 0.0
        for i in 0..<count {
            let q = _gridCode(x[i], p.scale, zero, low, high)
            let difference = Double(x[i]) - Double((q - zero) * p.scale)
            sum += Double(importance?[column + i] ?? 1) * difference * difference
        }
        return sum
    }
}
