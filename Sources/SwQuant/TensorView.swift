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

/// How a `[rows, cols]` tensor is split into work items: whole rows, or segments of long rows.
///
/// Segments start at multiples of `alignment` (a group size) and of 8, so a packed segment starts on
/// a byte boundary and never splits a group.
struct _WorkPlan {
    let rows: Int
    let cols: Int
    let segmentLength: Int
    let segmentsPerRow: Int

    /// Target number of elements per work item: large enough to amortise scheduling, small enough
    /// for the scratch buffers to stay in the L2 cache.
    static let targetSegment = 16_384

    init(rows: Int, cols: Int, alignment: Int = 1) {
        self.rows = rows
        self.cols = cols
        var unit = alignment
        while unit % 8 != 0 { unit += alignment }  // lcm(alignment, 8)
        let length = cols <= Self.targetSegment ? cols : Swift.max(unit, Self.targetSegment / unit * unit)
        segmentLength = Swift.min(length, cols)
        segmentsPerRow = (cols + segmentLength - 1) / segmentLength
    }

    var itemCount: Int { rows * segmentsPerRow }

    /// Row and column range of work item `index`.
    @inline(__always)
    func item(_ index: Int) -> (row: Int, columns: Range<Int>) {
        let row = index / segmentsPerRow
        let start = (index % segmentsPerRow) * segmentLength
        return (row, start..<Swift.min(start + segmentLength, cols))
    }

    /// Runs `body` for each work item in parallel, with per-thread scratch of `segmentLength` floats
    /// and bytes.
    func forEachItem(_ body: (_ row: Int, _ columns: Range<Int>, _ floats: UnsafeMutablePointer<Float>, _ bytes: UnsafeMutablePointer<UInt8>) -> Void) {
        let length = segmentLength
        _parallelForRanges(itemCount: itemCount) { items in
            let floats = UnsafeMutablePointer<Float>.allocate(capacity: length)
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: length + 64)
            defer { floats.deallocate(); bytes.deallocate() }
            for index in items {
                let (row, columns) = item(index)
                body(row, columns, floats, bytes)
            }
        }
    }
}
