/// Round-to-nearest with a clipping search: for each group, the range `[min * α, max * α]` with α in
/// 1, 0.975, ..., 0.5 whose quantization error `sum_i importance_i * (x_i - x'_i)²` is least (the first α
/// wins ties), as AWQ's and llama.cpp's quantizers search. Importance is per column (an imatrix: the
/// mean `x²` of each input channel, from `LayerStats`); without it every element counts the same.
struct _ClipSearch {
    /// Per column, `cols` weights; nil for uniform importance.
    let importance: UnsafePointer<Float>?

    static let shrink: [Float] = (0...20).map { 1 - Float($0) / 40 }

    /// The best parameters for `x[0..<count]`, whose first element is in column `column`.
    @inline(__always)
    func params(_ x: UnsafePointer<Float>, _ count: Int, column: Int, scheme: QuantScheme,
                min: Float, max: Float) throws(QuantError) -> QuantParams {
        var best = try scheme._qparams(min: min, max: max)
        var bestError = error(x, count, column: column, best, scheme)
        for alpha in Self.shrink.dropFirst() {
            let candidate = try scheme._qparams(min: min * alpha, max: max * alpha)
            let candidateError = error(x, count, column: column, candidate, scheme)
            if candidateError < bestError {
                (best, bestError) = (candidate, candidateError)
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
            let q = Swift.max(Swift.min((x[i] / p.scale).rounded(.toNearestOrEven) + zero, high), low)
            let difference = Double(x[i]) - Double((q - zero) * p.scale)
            sum += Double(importance?[column + i] ?? 1) * difference * difference
        }
        return sum
    }
}
