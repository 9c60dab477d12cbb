#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far an approximation is from its reference.
@frozen
public struct ErrorMetrics: Sendable, Hashable {
    /// Mean of `(reference - approx)^2`.
    public var meanSquaredError: Double
    /// Signal-to-quantization-noise ratio in dB: `10 log10(sum reference^2 / sum (reference - approx)^2)`;
    /// `+infinity` when the approximation is exact, `-infinity` when the reference is all zeros and the
    /// approximation is not.
    public var sqnrDecibels: Double
    /// Largest `|reference - approx|`.
    public var maxAbsoluteError: Double

    /// Metrics of `approx` against `reference` (equal counts, at least one element).
    ///
    /// Sums run in float64 over fixed chunks whose partials are added in order, so the result does not
    /// depend on the thread count. NaN in either input makes the metrics NaN.
    ///
    /// ```swift
    /// let m = try ErrorMetrics(reference: [1, 2], approx: [1, 2.5])  // mse 0.125, max error 0.5
    /// ```
    public init(reference: UnsafeBufferPointer<Float>, approx: UnsafeBufferPointer<Float>) throws(QuantError) {
        guard reference.count == approx.count else {
            throw QuantError(.shape, "reference has \(reference.count) elements, approximation \(approx.count)")
        }
        guard reference.count > 0 else { throw QuantError(.shape, "metrics need at least one element") }
        let count = reference.count
        let chunk = 1 << 16
        let chunks = (count + chunk - 1) / chunk
        var partials = [(signal: Double, noise: Double, maxError: Double)](repeating: (0, 0, 0), count: chunks)
        partials.withUnsafeMutableBufferPointer { partials in
            _parallelForRanges(itemCount: chunks) { range in
                for index in range {
                    let start = index * chunk
                    partials[index] = _errorSums(reference.baseAddress! + start, approx.baseAddress! + start,
                                                 Swift.min(chunk, count - start))
                }
            }
        }
        var signal = 0.0, noise = 0.0, maxError = 0.0
        for p in partials {
            signal += p.signal
            noise += p.noise
            maxError = p.maxError.isNaN || maxError.isNaN ? .nan : Swift.max(maxError, p.maxError)
        }
        meanSquaredError = noise / Double(count)
        sqnrDecibels = noise == 0 ? (signal.isNaN ? .nan : .infinity) : 10 * log10(signal / noise)
        maxAbsoluteError = maxError
    }

    /// Metrics of two arrays; see `init(reference:approx:)`.
    public init(reference: [Float], approx: [Float]) throws(QuantError) {
        let result = reference.withUnsafeBufferPointer { r in
            approx.withUnsafeBufferPointer { a in
                Result { () throws(QuantError) in try ErrorMetrics(reference: r, approx: a) }
            }
        }
        self = try result.get()
    }
}

/// Sum of squares of the reference, of the error, and the largest absolute error, in float64, with
/// four interleaved accumulators (a fixed order).
@inline(__always)
private func _errorSums(_ reference: UnsafePointer<Float>, _ approx: UnsafePointer<Float>, _ count: Int)
    -> (signal: Double, noise: Double, maxError: Double)
{
    var signal = SIMD4<Double>(), noise = SIMD4<Double>(), maxError = SIMD4<Double>()
    var sawNaN = false
    var i = 0
    while i + 4 <= count {
        let r = SIMD4<Double>(Double(reference[i]), Double(reference[i + 1]), Double(reference[i + 2]), Double(reference[i + 3]))
        let a = SIMD4<Double>(Double(approx[i]), Double(approx[i + 1]), Double(approx[i + 2]), Double(approx[i + 3]))
        let e = r - a
        signal += r * r
        noise += e * e
        let magnitude = SIMD4<Double>(e[0].magnitude, e[1].magnitude, e[2].magnitude, e[3].magnitude)
        sawNaN = sawNaN || (magnitude .!= magnitude) != SIMDMask(repeating: false)
        maxError = pointwiseMax(maxError, magnitude)
        i += 4
    }
    var s = signal.sum(), n = noise.sum(), m = maxError.max()
    while i < count {
        let r = Double(reference[i]), e = r - Double(approx[i])
        s += r * r
        n += e * e
        sawNaN = sawNaN || e.isNaN
        m = Swift.max(m, e.magnitude)
        i += 1
    }
    return (s, n, sawNaN ? .nan : m)
}
