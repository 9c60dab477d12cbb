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
