import Testing
@testable import SwQuant

@Suite struct FakeQuantizeGradientTests {
    /// Hand-worked, scale 0.5, signed 4-bit grid [-8, 7], zero point 0:
    /// x = 0.3 -> t = 0.6, inside: dx = g, ds = g * (1 - 0.6); x = 9 -> clipped above: dx = 0,
    /// ds = g * (7 - 0), dz = -g * 0.5; x = -5 -> t = -10, clipped below: ds = g * (-8), dz = -g * 0.5.
    @Test func handWorked() throws {
        let x: [Float] = [0.3, 9, -5], g: [Float] = [1, 2, 3]
        var gradX = [Float](repeating: -1, count: 3)
        let scheme = QuantScheme(bits: 4, symmetric: true)
        let gradients = try x.withUnsafeBufferPointer { xs in
            try gradX.withUnsafeMutableBufferPointer { out in
                try fakeQuantizeGradient(TensorView(xs, rows: 1, cols: 3), gradOutput: g, scheme: scheme,
                                         params: [QuantParams(scale: 0.5, zeroPoint: 0)], gradInput: out.baseAddress!)
            }
        }
        #expect(gradX == [1, 0, 0])
        #expect(abs(gradients.scales[0] - Float(1 * (1 - 0.6) + 2 * 7 + 3 * -8)) < 1e-5)
        #expect(abs(gradients.zeroPoints[0] - Float(-2 * 0.5 - 3 * 0.5)) < 1e-6)
    }
}
