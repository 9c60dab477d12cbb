import Testing
@testable import SwQuant

@Suite struct QuantizedTensorPartsTests {
    static let schemes: [QuantScheme] = [
        QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 64)),
        QuantScheme(bits: 3, symmetric: true, granularity: .perGroup(size: 50), scaleStorage: .float16),
        QuantScheme(bits: 8, symmetric: true, granularity: .perChannel(axis: 1)),
        QuantScheme(bits: 2, grid: .signed, symmetric: false, granularity: .perTensor),
    ]

    @Test(arguments: schemes)
    func partsAndBytesRebuildTheTensor(scheme: QuantScheme) throws {
        let q = try QuantizedTensor(quantizing: testValues(6 * 201), rows: 6, cols: 201, scheme: scheme)
        let rebuilt = try QuantizedTensor(rows: 6, cols: 201, scheme: scheme, packed: q.packed, scales: q.scales, zeroPoints: q.zeroPoints)
        let restored = try QuantizedTensor(serialized: q.serialized())
        for other in [rebuilt, restored] {
            #expect(other.scheme == q.scheme && other.packed == q.packed && other.scales == q.scales && other.zeroPoints == q.zeroPoints)
            #expect(other.dequantize() == q.dequantize())
        }
    }

    /// The header of the bytes, decoded by hand.
    @Test func serializedLayout() throws {
        let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 32))
        let q = try QuantizedTensor(quantizing: testValues(2 * 40), rows: 2, cols: 40, scheme: scheme)
        let bytes = q.serialized()
        #expect(Array(bytes[0..<8]) == Array("SWQQTN01".utf8))
        #expect(Array(bytes[8..<24]) == [2, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[24..<38]) == [4, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[38..<78]) == q.packed)
        #expect(bytes.count == 38 + 40 + 4 * 4 + 4 * 4)
    }

    @Test func badPartsAreRefused() throws {
        let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 32))
        let q = try QuantizedTensor(quantizing: testValues(3 * 33), rows: 3, cols: 33, scheme: scheme)
        func status(packed: [UInt8]? = nil, scales: [Float]? = nil, zeros: [Int32]? = nil, rows: Int = 3) -> QuantStatus? {
            do {
                _ = try QuantizedTensor(rows: rows, cols: 33, scheme: scheme, packed: packed ?? q.packed,
                                        scales: scales ?? q.scales, zeroPoints: zeros ?? q.zeroPoints)
                return nil
            } catch { return error.status }
        }
        var padded = q.packed
        padded[16] |= 0x10  // 33 codes of 4 bits: byte 16 of a row holds one code and four padding bits
        #expect(status(packed: padded) == .invalidArgument)
        #expect(status(packed: Array(q.packed.dropLast())) == .shape)
        #expect(status(scales: Array(q.scales.dropLast())) == .shape)
        #expect(status(scales: q.scales.map { -$0 }) == .invalidArgument)
        #expect(status(zeros: q.zeroPoints.map { _ in 16 }) == .invalidArgument)
        #expect(status(rows: 0) == .shape)
    }

    /// Every truncation of valid bytes, and bytes claiming huge shapes, throw instead of trapping.
    @Test func truncatedAndCraftedBytesThrow() throws {
        let q = try QuantizedTensor(quantizing: testValues(4 * 30), rows: 4, cols: 30,
                                    scheme: QuantScheme(bits: 5, symmetric: false, granularity: .perGroup(size: 8)))
        let bytes = q.serialized()
        for length in 0..<bytes.count {
            #expect(throws: QuantError.self) { _ = try QuantizedTensor(serialized: Array(bytes.prefix(length))) }
        }
        var huge = bytes
        for i in 8..<24 { huge[i] = 0x7f }
        #expect(throws: QuantError.self) { _ = try QuantizedTensor(serialized: huge) }
    }

    @Test func byteReaderChecksCountsBeforeAllocating() throws {
        var writer = _ByteWriter()
        writer.integer(UInt32(3))
        writer.f32s([1, 2, 3])
        var reader = _ByteReader(writer.bytes, what: "test bytes")
        #expect(try reader.integer(UInt32.self) == 3)
        #expect(throws: QuantError.self) { _ = try reader.checkedCount(Int64.max, elementBytes: 4) }
        #expect(throws: QuantError.self) { _ = try reader.checkedCount(-1, elementBytes: 4) }
        #expect(try reader.f32s(3) == [1, 2, 3])
        #expect(reader.isAtEnd)
        #expect(throws: QuantError.self) { _ = try reader.u8() }
    }

    /// The scalar formulas convert no NaN: a value that another thread turned into NaN after the
    /// finiteness check gives an end code instead of a trap.
    @Test func scalarCodesOfNaNAreEndCodes() {
        #expect(_gridCode(.nan, 0.5, 8, 0, 15) == 15)
        #expect(_quantizeScalar(.nan, 0.5, 8, 0, 15) == 15)
        #expect(_int8ActivationCode(.nan, scale: 0.1) == 127)
        #expect(_gridCode(-100, 0.5, 8, 0, 15) == 0 && _gridCode(1.24, 0.5, 8, 0, 15) == 10)
        #expect(_int8ActivationCode(-1e9, scale: 0.1) == -127 && _int8ActivationCode(0.25, scale: 0.1) == 2)
    }

    @Test func learnedZeroPointsRoundHalfEvenAndClamp() throws {
        let unsigned = QuantScheme(bits: 4, symmetric: false)
        #expect(try [2.5, 3.5, -0.6, 15.5, 7.49].map { try unsigned.zeroPoint(rounding: $0) } == [2, 4, 0, 15, 7])
        #expect(throws: QuantError.self) { _ = try unsigned.zeroPoint(rounding: .nan) }
    }
}
