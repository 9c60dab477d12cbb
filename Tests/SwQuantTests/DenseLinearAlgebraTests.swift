import Testing
@testable import SwQuant

@Suite struct DenseLinearAlgebraTests {
    /// A symmetric positive definite matrix over several panels (k = 75 is not a multiple of 32):
    /// `UᵀU A = I` for the factor of its inverse.
    @Test func inverseFactorOverPanels() throws {
        let k = 75
        let m = testValues(k * k, seed: 11).map(Double.init)
        var a = [Double](repeating: 0, count: k * k)
        for i in 0..<k { for j in 0..<k { for t in 0..<k { a[i * k + j] += m[i * k + t] * m[j * k + t] } } }
        for i in 0..<k { a[i * k + i] += 1 }
        let u = try _inverseCholeskyUpper(a, k)
        var inverse = [Double](repeating: 0, count: k * k)  // UᵀU
        for i in 0..<k { for j in 0..<k { for t in 0..<k { inverse[i * k + j] += u[t * k + i] * u[t * k + j] } } }
        var worst = 0.0
        for i in 0..<k {
            for j in 0..<k {
                var entry = 0.0
                for t in 0..<k { entry += inverse[i * k + t] * a[t * k + j] }
                worst = max(worst, abs(entry - (i == j ? 1 : 0)))
                if j < i { #expect(u[i * k + j] == 0) }
            }
        }
        #expect(worst < 1e-9)
    }

    /// The register-tiled product against a plain triple loop, with row, column and depth counts that
    /// leave partial tiles, in float32 and float64.
    @Test(arguments: [(13, 37, 9), (8, 32, 1), (3, 5, 17), (16, 70, 40)])
    func addProductsMatchesTheDefinition(rows: Int, columns: Int, depth: Int) {
        func check<Vector: SIMD>(_: Vector.Type, tolerance: Vector.Scalar) where Vector.Scalar: BinaryFloatingPoint {
            let (aStride, bStride, cStride) = (depth + 2, columns + 3, columns + 1)
            let a = testValues(rows * aStride, seed: 1).map { Vector.Scalar($0) }
            let b = testValues(depth * bStride, seed: 2).map { Vector.Scalar($0) }
            var c = testValues(rows * cStride, seed: 3).map { Vector.Scalar($0) }
            var expected = c
            for r in 0..<rows {
                for j in 0..<columns {
                    for t in 0..<depth { expected[r * cStride + j] += a[r * aStride + t] * b[t * bStride + j] }
                }
            }
            c.withUnsafeMutableBufferPointer { c in
                _addProducts(Vector.self, rows: rows, columns: columns, depth: depth, a: a, aStride: aStride,
                             b: b, bStride: bStride, c: c.baseAddress!, cStride: cStride)
            }
            #expect(zip(c, expected).allSatisfy { abs($0 - $1) <= tolerance })
        }
        check(SIMD16<Float>.self, tolerance: 1e-4)
        check(SIMD8<Double>.self, tolerance: 1e-12)
    }
}
