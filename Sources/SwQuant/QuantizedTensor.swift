/// A quantized `[rows, cols]` tensor: packed integer codes plus their scales and zero points.
///
/// ```swift
/// let weights: [Float] = ...  // 4 x 576, row-major
/// let q = try QuantizedTensor(quantizing: weights, rows: 4, cols: 576,
///                             scheme: QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128)))
/// let restored = q.dequantize()   // 4 * 576 floats, each within scale / 2 of its original
/// ```
@frozen
public struct QuantizedTensor: Sendable {
    public let rows: Int
    public let cols: Int
    public let scheme: QuantScheme
    /// Packed codes, rows one after another, each `rowStride` bytes (see `_BitPacking` for the bit layout:
    /// element `j` of a row occupies bits `[j * bits, (j + 1) * bits)` of the row, little-endian).
    public let packed: [UInt8]
    /// One scale per (scale, zero point) pair, in the order of `QuantScheme.qparamCount`: per group
    /// row-major `[rows, groupsPerRow]`. Exactly representable in float16 when stored so.
    public let scales: [Float]
    /// One zero point per scale (the fixed symmetric zero point for symmetric schemes).
    public let zeroPoints: [Int32]

    @usableFromInline
    init(unchecked rows: Int, cols: Int, scheme: QuantScheme, packed: [UInt8], scales: [Float], zeroPoints: [Int32]) {
        self.rows = rows
        self.cols = cols
        self.scheme = scheme
        self.packed = packed
        self.scales = scales
        self.zeroPoints = zeroPoints
    }

    /// Bytes per packed row: `ceil(cols * bits / 8)`.
    public var rowStride: Int { _BitPacking.byteCount(count: cols, bits: scheme.bits) }

    /// Bytes of the stored form: packed codes, scales at their storage width, and one byte per zero
    /// point for affine schemes (symmetric zero points are implied by the scheme).
    public var storageByteCount: Int {
        let zeroPointBytes = scheme.symmetric ? 0 : zeroPoints.count
        return packed.count + scales.count * scheme.scaleStorage.bitCount / 8 + zeroPointBytes
    }

    /// Storage bits per element, overhead included: `8 * storageByteCount / (rows * cols)`.
    /// For example 4 bits, groups of 128, float16 scales, affine: 4 + (16 + 8) / 128 = 4.1875.
    public var bitsPerWeight: Double { Double(storageByteCount * 8) / Double(rows * cols) }

    /// Quantizes a typed array of `rows * cols` elements with parameters computed from the data.
    public init<Element: QuantizationInput>(quantizing values: [Element], rows: Int, cols: Int, scheme: QuantScheme) throws(QuantError) {
        let result = values.withUnsafeBufferPointer { buffer -> Result<QuantizedTensor, QuantError> in
            Result { () throws(QuantError) in
                try QuantizedTensor(quantizing: TensorView(buffer, rows: rows, cols: cols), scheme: scheme)
            }
        }
        self = try result.get()
    }

    /// Dequantizes into a new row-major float32 array.
    public func dequantize() -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * cols) { buffer, initialized in
            _dequantize(into: UnsafeMutableRawPointer(buffer.baseAddress!), as: .float32)
            initialized = rows * cols
        }
    }

    /// Dequantizes into caller memory of `capacity` elements of `type` (float32, float16 or bfloat16).
    public func dequantize(into destination: UnsafeMutableRawPointer, capacity: Int, as type: ElementType) throws(QuantError) {
        guard capacity >= rows * cols else {
            throw QuantError(.bufferTooSmall, "output holds \(capacity) elements, the tensor has \(rows * cols)")
        }
        _dequantize(into: destination, as: type)
    }
}
