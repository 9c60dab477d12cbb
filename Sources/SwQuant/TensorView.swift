/// A borrowed, row-major `[rows, cols]` tensor of float32, float16 or bfloat16 elements.
///
/// The view does not own its memory: the caller keeps `base` alive and unchanged while a call
/// uses it. A 1-D tensor is a single row.
@frozen
public struct TensorView: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let elementType: ElementType
    public let rows: Int
    public let cols: Int

    /// A view; throws `.shape` for a zero or negative dimension and `.overflow` when the byte size
    /// does not fit `Int`.
    public init(base: UnsafeRawPointer, elementType: ElementType, rows: Int, cols: Int) throws(QuantError) {
        _ = try _checkedByteCount(rows: rows, cols: cols, elementBytes: elementType.byteCount)
        self.base = base
        self.elementType = elementType
        self.rows = rows
        self.cols = cols
    }

    /// A view of a typed buffer holding exactly `rows * cols` elements.
    public init<Element: QuantizationInput>(_ buffer: UnsafeBufferPointer<Element>, rows: Int, cols: Int) throws(QuantError) {
        let bytes = try _checkedByteCount(rows: rows, cols: cols, elementBytes: Element.elementType.byteCount)
        guard bytes / Element.elementType.byteCount == buffer.count, let base = buffer.baseAddress else {
            throw QuantError(.shape, "buffer holds \(buffer.count) elements, shape [\(rows), \(cols)] needs \(rows * cols)")
        }
        self.base = UnsafeRawPointer(base)
        self.elementType = Element.elementType
        self.rows = rows
        self.cols = cols
    }

    public var count: Int { rows * cols }

    /// Float32 values of `row`, columns `start ..< start + count`: a pointer into the tensor when it
    /// holds float32, else the values converted into `scratch`.
    @inline(__always)
    func floats(row: Int, start: Int, count: Int, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let offset = row * cols + start
        switch elementType {
        case .float32:
            return base.assumingMemoryBound(to: Float.self) + offset
        case .float16:
            let source = base.assumingMemoryBound(to: Float16.self) + offset
            for i in 0..<count { scratch[i] = Float(source[i]) }
        case .bfloat16:
            let source = base.assumingMemoryBound(to: UInt16.self) + offset
            for i in 0..<count { scratch[i] = Float(bitPattern: UInt32(source[i]) << 16) }
        }
        return UnsafePointer(scratch)
    }
}

/// Writes `values[0..<count]` at element `offset` of `destination` as `type` (float32 or float16).
@inline(__always)
func _store(_ values: UnsafePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer, offset: Int, as type: ElementType) {
    switch type {
    case .float32:
        (destination.assumingMemoryBound(to: Float.self) + offset).update(from: values, count: count)
    case .float16:
        let target = destination.assumingMemoryBound(to: Float16.self) + offset
        for i in 0..<count { target[i] = Float16(values[i]) }
    case .bfloat16:
        let target = destination.assumingMemoryBound(to: BFloat16.self) + offset
        for i in 0..<count { target[i] = BFloat16(values[i]) }
    }
}

/// `rows * cols * elementBytes` after checking that dimensions are positive and nothing overflows.
func _checkedByteCount(rows: Int, cols: Int, elementBytes: Int) throws(QuantError) -> Int {
    guard rows > 0, cols > 0 else {
        throw QuantError(.shape, "dimensions must be positive, got [\(rows), \(cols)]")
    }
    let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
    let (bytes, overflowBytes) = count.multipliedReportingOverflow(by: elementBytes)
    guard !overflow, !overflowBytes else {
        throw QuantError(.overflow, "shape [\(rows), \(cols)] overflows the address space")
    }
    return bytes
}
