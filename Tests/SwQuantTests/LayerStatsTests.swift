import Testing
@testable import SwQuant

@Suite struct LayerStatsTests {
    /// Rows [1, 2, -3] and [0, 4, 5]: XᵀX by hand, then twice after a merge with a restored copy.
    @Test func handWorkedMergeAndBytes() throws {
        let stats = try LayerStats(inFeatures: 3)
        let x: [Float] = [1, 2, -3, 0, 4, 5]
        try x.withUnsafeBufferPointer { try stats.observe(TensorView($0, rows: 2, cols: 3)) }
        #expect(stats.gram == [1, 2, -3, 2, 20, 14, -3, 14, 34])
        #expect(stats.meanAbs == [0.5, 3, 4] && stats.meanSquare == [0.5, 10, 17])
        let restored = try LayerStats(serialized: stats.serialized())
        try stats.merge(restored)
        #expect(stats.gram == [2, 4, -6, 4, 40, 28, -6, 28, 68] && stats.rowCount == 4)
        #expect(throws: QuantError.self) { try stats.merge(LayerStats(inFeatures: 2)) }
    }
}
