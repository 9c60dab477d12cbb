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
}
