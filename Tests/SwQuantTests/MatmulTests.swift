import Testing
@testable import SwQuant

@Suite struct MatmulTests {
    static let schemes: [QuantScheme] = [
        QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 64)),
        QuantScheme(bits: 4, symmetric: true, granularity: .perGroup(size: 32)),
        QuantScheme(bits: 8, symmetric: true, granularity: .perChannel(axis: 0)),
        QuantScheme(bits: 8, grid: .unsigned, symmetric: false, granularity: .perTensor),
    ]

    /// Weight-only results against a float64 product with the dequantized weights.
    @Test(arguments: schemes)
    func weightOnlyMatchesFloat64(scheme: QuantScheme) throws {
        let (n, k, batch) = (9, 200, 3)  // 200 = 6 x 32 + 8: a partial last block
        let w = try QuantizedTensor(quantizing: testValues(n * k), rows: n, cols: k, scheme: scheme)
        let x = testValues(batch * k, seed: 3)
        let y = try w.matmul(x, batch: batch, path: .weightOnly)
        let wd = w.dequantize()
        for m in 0..<batch {
            for r in 0..<n {
                var expected = 0.0, scale = 0.0
                for c in 0..<k {
                    expected += Double(x[m * k + c]) * Double(wd[r * k + c])
                    scale += abs(Double(x[m * k + c]) * Double(wd[r * k + c]))
                }
                #expect(abs(Double(y[m * n + r]) - expected) <= 1e-5 * scale)
            }
        }
    }

    /// Every compiled int8 tier agrees with the scalar reference tier (same integer sums; float
    /// accumulation orders differ).
    /// k = 300 ends in a partial block; k = 320 has an even number of full blocks, which the AVX512-VNNI
    /// 4 x 4 tiles take (13 rows by 5 activation rows leave partial tiles too).
    @Test(arguments: schemes, [300, 320])
    func int8TiersAgreeWithTheReference(scheme: QuantScheme, k: Int) throws {
        try expectTiersAgree(scheme: scheme, k: k, batch: 5, seed: 9) { w, x, batch, y, kernel in
            try w._int8Matmul(x, batch: batch, bias: nil, into: y, kernel: kernel)
        }
    }

    /// The per-row int8 path: every compiled tier agrees with the scalar tier.
    @Test(arguments: schemes, [300, 320])
    func int8PerRowTiersAgreeWithTheReference(scheme: QuantScheme, k: Int) throws {
        try expectTiersAgree(scheme: scheme, k: k, batch: 6, seed: 11) { w, x, batch, y, kernel in
            try w._int8RowMatmul(x, batch: batch, bias: nil, into: y, kernel: kernel)
        }
    }

    /// Runs `matmul` on 13 weight rows with every compiled, supported tier and expects each to match
    /// the scalar tier within 1e-4 relative.
    private func expectTiersAgree(
        scheme: QuantScheme, k: Int, batch: Int, seed: UInt32,
        _ matmul: (QuantizedTensor, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, KernelTier) throws -> Void
    ) throws {
        let n = 13
        let w = try QuantizedTensor(quantizing: testValues(n * k), rows: n, cols: k, scheme: scheme)
        let x = testValues(batch * k, seed: seed)
        func run(_ kernel: KernelTier) throws -> [Float] {
            var y = [Float](repeating: 0, count: batch * n)
            try x.withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in
                    try matmul(w, x.baseAddress!, batch, y.baseAddress!, kernel)
                }
            }
            return y
        }
        let reference = try run(.scalar)
        for kernel in KernelTier.compiled where kernel.isSupported && kernel != .scalar {
            let y = try run(kernel)
            for i in y.indices { #expect(abs(y[i] - reference[i]) <= 1e-4 * Swift.max(1, abs(reference[i])), "\(kernel)") }
        }
    }

    @Test func unsupportedPathsThrow() throws {
        let w = try QuantizedTensor(quantizing: testValues(4 * 64), rows: 4, cols: 64,
                                    scheme: QuantScheme(bits: 3, granularity: .perGroup(size: 32)))
        #expect(!w.supports(.dynamicInt8) && w.supports(.weightOnly))
        #expect(throws: QuantError.self) { _ = try w.matmul(testValues(64), batch: 1, path: .dynamicInt8) }
        #expect(throws: QuantError.self) { _ = try w.matmul(testValues(63), batch: 1) }
    }
}
