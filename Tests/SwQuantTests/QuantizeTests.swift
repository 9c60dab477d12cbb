import Testing
@testable import SwQuant

/// Deterministic heavy-tailed values (an LCG and a cubic), an outlier every 97 elements.
func testValues(_ count: Int, seed: UInt32 = 7) -> [Float] {
    var state = seed
    return (0..<count).map { i in
        state = state &* 1_664_525 &+ 1_013_904_223
        let u = Float(state >> 8) / Float(1 << 24) * 2 - 1
        return u * u * u + (i % 97 == 0 ? 8 * u : 0)
    }
}

@Suite struct QuantizeTests {
    @Test func handWorkedInt8Symmetric() throws {
        // scale = 1/127; 0.5 * 127 = 63.5 rounds half to even to 64.
        let q = try QuantizedTensor(quantizing: [-1, 0.5, 0.25, 1] as [Float], rows: 1, cols: 4,
                                    scheme: QuantScheme(bits: 8, symmetric: true))
        #expect(q.packed.map { Int8(bitPattern: $0) } == [-127, 64, 32, 127])
        #expect(q.scales == [Float(1.0 / 127.0)])
        #expect(q.zeroPoints == [0])
    }

    @Test func nibbleLayoutLowFirst() throws {
        let values = (0..<17).map { Float(Swift.min($0, 15)) }
        let q = try QuantizedTensor(quantizing: values, rows: 1, cols: 17, scheme: QuantScheme(bits: 4, symmetric: false))
        #expect(q.packed == [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x0F])
    }

    @Test(arguments: [2, 3, 4, 5, 8])
    func halfStepBoundWithRaggedGroups(bits: Int) throws {
        let (rows, cols, group) = (3, 300, 128)  // 300 = 2 x 128 + 44
        let values = testValues(rows * cols)
        let q = try QuantizedTensor(quantizing: values, rows: rows, cols: cols,
                                    scheme: QuantScheme(bits: bits, symmetric: false, granularity: .perGroup(size: group)))
        #expect(q.scales.count == rows * 3)
        let restored = q.dequantize()
        for r in 0..<rows {
            for c in 0..<cols {
                let step = Double(q.scales[r * 3 + c / group])
                #expect(abs(Double(values[r * cols + c]) - Double(restored[r * cols + c])) <= step / 2 * (1 + 1e-6))
            }
        }
    }

    @Test func resultsDoNotDependOnThreadCount() throws {
        let values = testValues(64 * 40_000)
        let scheme = QuantScheme(bits: 3, symmetric: false, granularity: .perGroup(size: 64))
        try ThreadSettings.setCount(1)
        let one = try QuantizedTensor(quantizing: values, rows: 64, cols: 40_000, scheme: scheme)
        try ThreadSettings.setCount(2)
        let two = try QuantizedTensor(quantizing: values, rows: 64, cols: 40_000, scheme: scheme)
        try ThreadSettings.setCount(0)
        #expect(one.packed == two.packed)
        #expect(one.scales == two.scales)
    }

    @Test func fakeQuantizeEqualsDequantize() throws {
        let values = testValues(5 * 77)
        let scheme = QuantScheme(bits: 3, symmetric: false, granularity: .perChannel(axis: 1))
        let q = try QuantizedTensor(quantizing: values, rows: 5, cols: 77, scheme: scheme)
        var out = [Float](repeating: 0, count: values.count)
        try values.withUnsafeBufferPointer { buffer in
            try out.withUnsafeMutableBytes { raw in
                try fakeQuantize(TensorView(buffer, rows: 5, cols: 77), scheme: scheme,
                                 params: zip(q.scales, q.zeroPoints).map { QuantParams(scale: $0, zeroPoint: $1) },
                                 into: raw.baseAddress!, as: .float32)
            }
        }
        #expect(out == q.dequantize())
    }

    @Test func halfPrecisionInputsMatchFloat32() throws {
        let values = (0..<64).map { Float($0 % 17 - 8) / 4 }
        let scheme = QuantScheme(bits: 4, granularity: .perGroup(size: 32))
        let f32 = try QuantizedTensor(quantizing: values, rows: 2, cols: 32, scheme: scheme)
        let f16 = try QuantizedTensor(quantizing: values.map { Float16($0) }, rows: 2, cols: 32, scheme: scheme)
        let bf16 = try QuantizedTensor(quantizing: values.map { BFloat16($0) }, rows: 2, cols: 32, scheme: scheme)
        #expect(f16.packed == f32.packed && bf16.packed == f32.packed)
    }

    @Test func errorsCarryTheirStatus() throws {
        #expect(throws: QuantError.self) { try QuantScheme(bits: 9).validated() }
        do {
            _ = try QuantizedTensor(quantizing: [1, .nan] as [Float], rows: 1, cols: 2, scheme: QuantScheme())
            Issue.record("NaN was accepted")
        } catch {
            #expect(error.status == .nonFinite)
            #expect(error.message.contains("column 1"))
        }
        do {
            _ = try QuantizedTensor(quantizing: [1, 2] as [Float], rows: 1, cols: 3, scheme: QuantScheme())
            Issue.record("a short buffer was accepted")
        } catch {
            #expect(error.status == .shape)
        }
        do {
            _ = try QuantScheme(scaleStorage: .float16).qparams(min: 0, max: 1e9)
            Issue.record("a float16 scale overflow was accepted")
        } catch {
            #expect(error.status == .overflow)
        }
    }

    @Test func metricsHandWorked() throws {
        let m = try ErrorMetrics(reference: [1, 2, 2], approx: [1, 2.5, 2])
        #expect(abs(m.meanSquaredError - 0.25 / 3) < 1e-15)
        #expect(m.maxAbsoluteError == 0.5)
        #expect(try ErrorMetrics(reference: [1, 2], approx: [1, 2]).sqnrDecibels == .infinity)
    }

    @Test func bitPackingRoundTripsEveryWidth() {
        for bits in 2...8 {
            for count in [1, 7, 8, 9, 33, 100] {
                let codes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) & UInt8((1 << bits) - 1) }
                var packed = [UInt8](repeating: 0xFF, count: _BitPacking.byteCount(count: count, bits: bits))
                var unpacked = [UInt8](repeating: 0, count: count)
                _BitPacking.pack(codes, count: count, bits: bits, into: &packed)
                _BitPacking.unpack(packed, count: count, bits: bits, into: &unpacked)
                #expect(unpacked == codes, "bits \(bits), count \(count)")
            }
        }
    }
}
