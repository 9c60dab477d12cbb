import Testing
@testable import SwQuant

@Suite struct GGMLBlocksTests {
    /// Q8_0 of 0...31 by hand: d = 31/127 stored as float16, codes roundf(x · 127/31).
    @Test func q8_0ByHand() throws {
        let x = (0..<32).map(Float.init)
        let blocks = try x.withUnsafeBufferPointer { (b) throws(QuantError) in
            try GGMLBlocks.quantize(TensorView(b, rows: 1, cols: 32), to: .q8_0)
        }
        let d = Float(31) / 127
        #expect(blocks.count == 34 && UInt16(blocks[0]) | UInt16(blocks[1]) << 8 == Float16(d).bitPattern)
        #expect(blocks[2...].enumerated().allSatisfy { i, code in Int8(bitPattern: code) == Int8((Float(i) * (1 / d)).rounded()) })
    }

    /// Q4_K's 12 scale bytes: six-bit scales and minimums packed and unpacked as ggml's `get_scale_min_k4`.
    @Test func scaleMinPackingRoundTrips() {
        let scales: [UInt8] = [63, 0, 17, 42, 5, 60, 33, 1], mins: [UInt8] = [1, 62, 40, 0, 63, 7, 20, 48]
        var packed = [UInt8](repeating: 0, count: 12)
        packed.withUnsafeMutableBufferPointer { _packScaleMinK4(scales, mins, $0.baseAddress!) }
        packed.withUnsafeBufferPointer { p in
            for j in 0..<8 { #expect(_scaleMinK4(j, p.baseAddress!) == (scales[j], mins[j])) }
        }
    }

    /// Every type with a codec: the traits agree with the row size, and a round trip stays close.
    @Test(arguments: GGMLType.codecs)
    func roundTripIsClose(type: GGMLType) throws {
        let cols = 512, rows = 3
        let x = (0..<(rows * cols)).map { i in Float((i * 7919) % 1000) / 250 - 2 }
        let blocks = try x.withUnsafeBufferPointer { (b) throws(QuantError) in
            try GGMLBlocks.quantize(TensorView(b, rows: rows, cols: cols), to: type)
        }
        let rowBytes = try type.rowBytes(cols: cols)
        #expect(blocks.count == rows * rowBytes)
        let back = try GGMLBlocks.dequantize(blocks, type: type, rows: rows, cols: cols)
        let worst = zip(x, back).map { abs($0 - $1) }.max()!
        #expect(worst <= 0.75, "\(type.traits.name): \(worst)")
    }

    @Test func errorsNameTheProblem() throws {
        let x = [Float](repeating: 1, count: 576)
        #expect(throws: QuantError.self) {
            try x.withUnsafeBufferPointer { (b) throws(QuantError) in _ = try GGMLBlocks.quantize(TensorView(b, rows: 1, cols: 576), to: .q4_K) }
        }
        #expect(GGMLType(name: "iq4_nl") == .iq4_nl && GGMLType(name: "Q4_3") == nil)
        #expect(throws: QuantError(.invalidArgument, "swquant has no quantizer or dequantizer for IQ2_XXS")) {
            _ = try GGMLBlocks.dequantize([UInt8](repeating: 0, count: 66), type: .iq2_xxs, rows: 1, cols: 256)
        }
    }

    /// ggml's `nearest_int` rounds half to even, as its float trick does.
    @Test func nearestIntRoundsHalfToEven() {
        #expect([0.5, 1.5, 2.5, -0.5, -1.5, 3.49].map { _nearestInt(Float($0)) } == [0, 2, 2, 0, -2, 3])
        #expect(_truncatedInt32(.nan) == .min && _truncatedInt32(3e9) == .min && _truncatedInt32(-7.9) == -7)
    }
}
