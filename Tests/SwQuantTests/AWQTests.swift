import Testing
@testable import SwQuant

@Suite struct AWQTests {
    /// With one grid point (alpha = 0) the channel scales are 1 and AWQ is round-to-nearest.
    @Test func alphaZeroIsRoundToNearest() throws {
        let (n, k) = (4, 32)
        let stats = try LayerStats(inFeatures: k)
        let x = testValues(64 * k, seed: 5)
        try x.withUnsafeBufferPointer { try stats.observe(TensorView($0, rows: 64, cols: k)) }
        let w = testValues(n * k)
        let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 16))
        let result = try w.withUnsafeBufferPointer {
            try awq(TensorView($0, rows: n, cols: k), stats: stats, scheme: scheme, grid: 1, clipSearch: false)
        }
        #expect(result.channelScales == [Float](repeating: 1, count: k) && result.alpha == 0)
        #expect(result.tensor.packed == (try QuantizedTensor(quantizing: w, rows: n, cols: k, scheme: scheme)).packed)
    }

    /// Duo scaling at alpha = 0: `s_j` is `1 / (mean_i |w_ij| / max of its group + 1e-4)`, normalised so
    /// that `max(s) * min(s) = 1`. Worked by hand for groups of 2: the normalised means are 0.75, 0.5,
    /// 1 and 0.125.
    @Test func duoScalingAtAlphaZeroFollowsTheWeightMeans() throws {
        let stats = try LayerStats(inFeatures: 4)
        let x: [Float] = [1, 2, 3, 4, -1, 0.5, 2, 1]
        try x.withUnsafeBufferPointer { try stats.observe(TensorView($0, rows: 2, cols: 4)) }
        let w: [Float] = [0.5, -1, 4, 1, 2, 0, -3, 0]
        let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 2))
        let result = try w.withUnsafeBufferPointer {
            try awq(TensorView($0, rows: 2, cols: 4), stats: stats, scheme: scheme, grid: 1, clipSearch: false, duoScaling: true)
        }
        let raw = [0.75, 0.5, 1, 0.125].map { 1 / ($0 + 1e-4) }
        let norm = (raw.max()! * raw.min()!).squareRoot()
        for (scale, expected) in zip(result.channelScales, raw) { #expect(abs(Double(scale) / (expected / norm) - 1) < 1e-5) }
    }
}
