import Testing
@testable import SwQuant

@Suite struct GPTQTests {
    /// With H = I the compensation vanishes: GPTQ equals round-to-nearest.
    @Test func identityHessianIsRoundToNearest() throws {
        let (n, k) = (5, 48)
        let stats = try LayerStats(inFeatures: k)
        let eye = (0..<(k * k)).map { Float($0 % (k + 1) == 0 ? 1 : 0) }
        try eye.withUnsafeBufferPointer { try stats.observe(TensorView($0, rows: k, cols: k)) }
        let w = testValues(n * k)
        let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 16))
        let gptq = try w.withUnsafeBufferPointer { try QuantizedTensor(gptq: TensorView($0, rows: n, cols: k), stats: stats, scheme: scheme, damp: 0) }
        let plain = try QuantizedTensor(quantizing: w, rows: n, cols: k, scheme: scheme)
        #expect(gptq.packed == plain.packed && gptq.scales == plain.scales)
        #expect(throws: QuantError.self) {
            try w.withUnsafeBufferPointer {
                try QuantizedTensor(gptq: TensorView($0, rows: n, cols: k), stats: stats,
                                    scheme: QuantScheme(bits: 4, granularity: .perChannel(axis: 1)))
            }
        }
    }

    @Test func choleskyInverseFactor() throws {
        // A = [[4, 2], [2, 3]]: A⁻¹ = [[3, -2], [-2, 4]] / 8 = UᵀU with U upper triangular.
        let u = try _inverseCholeskyUpper([4, 2, 2, 3], 2)
        let product = [u[0] * u[0], u[0] * u[1], u[1] * u[0], u[1] * u[1] + u[3] * u[3]]
        for (got, expected) in zip(product, [3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8]) { #expect(abs(got - expected) < 1e-15) }
        #expect(u[2] == 0)
    }
}
