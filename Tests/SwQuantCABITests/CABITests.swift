import CSwQuant
import SwQuant
import SwQuantCABI
import Testing

/// The exported C functions, called from Swift through the header, agree bit for bit with the Swift API.
@Suite struct CABITests {
    static let schemes: [QuantScheme] = [
        QuantScheme(bits: 8, symmetric: true, granularity: .perChannel(axis: 0)),
        QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128), scaleStorage: .float16),
        QuantScheme(bits: 3, symmetric: false, granularity: .perChannel(axis: 1)),
        QuantScheme(bits: 2, grid: .signed, symmetric: false, granularity: .perTensor),
    ]

    @Test(arguments: schemes)
    func cAndSwiftAgree(scheme: QuantScheme) throws {
        let (rows, cols) = (9, 576)
        var state: UInt32 = 1
        let values: [Float] = (0..<(rows * cols)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state)) / Float(Int32.max)
        }
        let swift = try QuantizedTensor(quantizing: values, rows: rows, cols: cols, scheme: scheme)

        var cScheme = swq_scheme()
        cScheme.bits = Int32(scheme.bits)
        cScheme.grid = scheme.grid.rawValue
        cScheme.symmetric = scheme.symmetric ? 1 : 0
        cScheme.scale_dtype = scheme.scaleStorage.rawValue
        switch scheme.granularity {
        case .perTensor: cScheme.granularity = Int32(SWQ_PER_TENSOR.rawValue)
        case .perChannel(let axis): (cScheme.granularity, cScheme.axis) = (Int32(SWQ_PER_CHANNEL.rawValue), Int32(axis))
        case .perGroup(let size): (cScheme.granularity, cScheme.group_size) = (Int32(SWQ_PER_GROUP.rawValue), Int32(size))
        }
        var handle: OpaquePointer?
        #expect(swq_quantize(values, Int32(SWQ_DTYPE_F32.rawValue), Int64(rows), Int64(cols), &cScheme, &handle) == SWQ_OK)
        defer { swq_qtensor_free(handle) }

        var data: UnsafePointer<UInt8>?
        var nbytes: Int64 = 0
        #expect(swq_qtensor_packed(handle, &data, &nbytes, nil) == SWQ_OK)
        #expect(Array(UnsafeBufferPointer(start: data, count: Int(nbytes))) == swift.packed)
        var scales = [Float](repeating: 0, count: swift.scales.count)
        var zeros = [Int32](repeating: 0, count: swift.scales.count)
        #expect(swq_qtensor_scales(handle, &scales, Int64(scales.count)) == SWQ_OK)
        #expect(swq_qtensor_zero_points(handle, &zeros, Int64(zeros.count)) == SWQ_OK)
        #expect(scales == swift.scales && zeros == swift.zeroPoints)
        var restored = [Float](repeating: 0, count: values.count)
        #expect(swq_dequantize(handle, Int32(SWQ_DTYPE_F32.rawValue), &restored, Int64(restored.count)) == SWQ_OK)
        #expect(restored == swift.dequantize())
    }

    @Test func failuresSetTheThreadLocalMessage() {
        var handle: OpaquePointer?
        var scheme = swq_scheme(bits: 1, grid: 0, symmetric: 0, granularity: 0, axis: 0, group_size: 0, scale_dtype: 0)
        let values: [Float] = [1, 2]
        #expect(swq_quantize(values, 0, 1, 2, &scheme, &handle) == SWQ_ERR_INVALID_ARGUMENT)
        #expect(handle == nil)
        #expect(String(cString: swq_last_error()).contains("bits must be between 2 and 8"))
    }
}
