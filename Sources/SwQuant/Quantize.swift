extension QuantizedTensor {
    /// Quantizes a tensor with parameters computed from its own values (see `QuantScheme` for the
    /// formulas). Throws `.nonFinite` naming the first NaN or infinity, `.invalidArgument` for a bad
    /// scheme, `.overflow` for a scale that float16 storage cannot hold. Results do not depend on the
    /// thread count.
    public init(quantizing source: TensorView, scheme: QuantScheme) throws(QuantError) {
        let scheme = try scheme.validated()
        let params = try _computeQParams(source, scheme)
        let rowStride = _BitPacking.byteCount(count: source.cols, bits: scheme.bits)
        var packed = [UInt8](repeating: 0, count: source.rows * rowStride)
        packed.withUnsafeMutableBufferPointer { out in
            _encode(source, scheme, params, into: out.baseAddress!)
        }
        self.init(rows: source.rows, cols: source.cols, scheme: scheme, packed: packed,
                  scales: params.map(\.scale), zeroPoints: params.map(\.zeroPoint))
    }
}

/// The scheme's parameters for `source`, in `qparamCount` order.
func _computeQParams(_ source: TensorView, _ scheme: QuantScheme) throws(QuantError) -> [QuantParams] {
    let ranges: [(min: Float, max: Float)]
    switch scheme.granularity {
    case .perTensor: ranges = [try _tensorRange(source)]
    case .perChannel(axis: 0): ranges = try _groupRanges(source, groupSize: source.cols)
    case .perChannel: ranges = try _columnRanges(source)
    case .perGroup(let size): ranges = try _groupRanges(source, groupSize: size)
    }
    var params = [QuantParams]()
    params.reserveCapacity(ranges.count)
    for range in ranges { params.append(try scheme._qparams(min: range.min, max: range.max)) }
    return params
}

/// Quantizes and packs `source` with known parameters into `out` (`rows * rowStride` bytes).
func _encode(_ source: TensorView, _ scheme: QuantScheme, _ params: [QuantParams], into out: UnsafeMutablePointer<UInt8>) {
    let bits = scheme.bits, qmin = scheme.qmin, qmax = scheme.qmax
    let rowStride = _BitPacking.byteCount(count: source.cols, bits: bits)
    let layout = _ParamLayout(scheme, cols: source.cols)
    let (columnScales, columnZeros) = layout.isPerColumn ? (params.map(\.scale), params.map { Float($0.zeroPoint) }) : ([], [])
    let plan = _WorkPlan(rows: source.rows, cols: source.cols, alignment: layout.alignment)
    params.withUnsafeBufferPointer { params in
    columnScales.withUnsafeBufferPointer { columnScales in
    columnZeros.withUnsafeBufferPointer { columnZeros in
        plan.forEachItem { row, columns, floats, codes in
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            if layout.isPerColumn {
                _quantizeSpan(x, columns.count, scales: columnScales.baseAddress! + columns.lowerBound,
                              zeroPoints: columnZeros.baseAddress! + columns.lowerBound,
                              qmin: qmin, qmax: qmax, into: codes)
            } else {
                layout.forEachRun(row: row, columns: columns) { offset, count, index in
                    _quantizeSpan(x + offset, count, params[index], qmin: qmin, qmax: qmax, into: codes + offset)
                }
            }
            let destination = out + row * rowStride + columns.lowerBound * bits / 8
            _BitPacking.pack(codes, count: columns.count, bits: bits, into: destination)
        }
    }
    }
    }
}

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
        case .perGroup(let size): (runLength, perTensor, isPerColumn) = (size, false, false)
        }
        runsPerRow = (cols + runLength - 1) / runLength
    }

    /// Segment alignment that keeps runs whole.
    var alignment: Int { perTensor || isPerColumn ? 1 : runLength }

    /// Calls `body(offset, count, paramIndex)` for each run inside `columns` of `row`; offsets are
    /// relative to `columns.lowerBound`.
    @inline(__always)
    func forEachRun(row: Int, columns: Range<Int>, _ body: (Int, Int, Int) -> Void) {
        var start = columns.lowerBound
        while start < columns.upperBound {
            let run = start / runLength
            let end = Swift.min((run + 1) * runLength, columns.upperBound)
            body(start - columns.lowerBound, end - start, perTensor ? 0 : row * runsPerRow + run)
            start = end
        }
    }
}
