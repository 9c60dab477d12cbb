#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SmoothQuant (Xiao et al.) migration scales for W8A8: per input channel
/// `s_j = max|x_j|^alpha / max|W_:,j|^(1 - alpha)`, moving activation outliers into the weights. The
/// layer then computes `(x / s) @ (W diag(s))ᵀ`: divide the activations (or fold `1 / s` into the previous
/// operation) and multiply the weight columns by `s` before quantizing both. Channels whose activation or
/// weight maximum is 0 get scale 1. `activationAbsMax` has one value per weight column (e.g. an observer's
/// per-column range); alpha is in [0, 1]. A scale outside float32's normal range (a tiny weight maximum
/// against a huge activation one, or the reverse) throws `.overflow`.
public func smoothQuantScales(activationAbsMax: [Float], weights: TensorView, alpha: Double = 0.5) throws(QuantError) -> [Float] {
    guard activationAbsMax.count == weights.cols else {
        throw QuantError(.shape, "activation maxima have \(activationAbsMax.count) values, the weights \(weights.cols) columns")
    }
    guard alpha.isFinite, (0...1).contains(alpha) else { throw QuantError(.invalidArgument, "alpha must be in [0, 1], got \(alpha)") }
    guard activationAbsMax.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
        throw QuantError(.invalidArgument, "activation maxima must be finite and non-negative")
    }
    let columns = try _columnRanges(weights)
    let scales: [Float] = (0..<weights.cols).map { j in
        let a = Double(activationAbsMax[j]), w = Double(Swift.max(-columns[j].min, columns[j].max))
        guard a > 0, w > 0 else { return 1 }
        return Float(pow(a, alpha) / pow(w, 1 - alpha))
    }
    if let j = scales.firstIndex(where: { !$0.isNormal }) {
        throw QuantError(.overflow, "the scale of channel \(j) (\(scales[j])) is beyond float32's normal range; lower alpha's extremes")
    }
    return scales
}
