/// Which parameter pair each element uses: runs of a row that share one pair, or one pair per column.
struct _ParamLayout {
    /// Elements per run within a row (cols for per-row, the group size for groups, cols for a tensor).
    let runLength: Int
    let runsPerRow: Int
    let perTensor: Bool
    let isPerColumn: Bool

    init(_ scheme: QuantScheme, cols: Int) {
        switch scheme.granularity {
        case .perTensor: (runLength, perTensor, isPerColumn) = (cols, true, false)
        case .perChannel(axis: 0): (runLength, perTensor, isPerColumn) = (cols, false, false)
        case .perChannel: (runLength, perTensor, isPerColumn) = (cols, false, true)
        case .perGroup(let size): (runLength, perTensor, isPerColumn) = (Swift.min(size, cols), false, false)  // a group past the row's end is the row
        }
        runsPerRow = (cols + runLength - 1) / runLength
    }

    /// Whether each row splits into runs with parameters of their own (per group, per row).
    var isPerRun: Bool { !perTensor && !isPerColumn }

    /// Segment alignment that keeps runs whole.
    var alignment: Int { perTensor || isPerColumn ? 1 : runLength }

    /// Calls `body(offset, count, paramIndex)` for each run inside `columns` of `row`; offsets are
    /// relative to `columns.lowerBound`.
    @inline(__always)
    func forEachRun<E: Error>(row: Int, columns: Range<Int>, _ body: (Int, Int, Int) throws(E) -> Void) throws(E) {
        var start = columns.lowerBound
        while start < columns.upperBound {
            let run = start / runLength
            let end = Swift.min((run + 1) * runLength, columns.upperBound)
            try body(start - columns.lowerBound, end - start, perTensor ? 0 : row * runsPerRow + run)
            start = end
        }
    }
}
