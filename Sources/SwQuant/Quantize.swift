extension QuantizedTensor {
    /// Quantizes a tensor with parameters computed from its own values (see `QuantScheme` for the
    /// formulas). Throws `.nonFinite` naming the first NaN or infinity, `.invalidArgument` for a bad
    /// scheme, `.overflow` for a scale that float16 storage cannot hold. Results do not depend on the
    /// thread count.
    public init(quantizing source: TensorView, scheme: QuantScheme) throws(QuantError) {
        let scheme = try scheme.validated()
        try _checkQuantizedMemory(source, scheme)
        let rowStride = _BitPacking.byteCount(count: source.cols, bits: scheme.bits)
        var packed = [UInt8](repeating: 0, count: source.rows * rowStride)
        let params = try packed.withUnsafeMutableBufferPointer { out throws(QuantError) in
            if _ParamLayout(scheme, cols: source.cols).isPerRun {
                return try _quantizeRuns(source, scheme, into: out.baseAddress!)
            }
            let params = try _computeQParams(source, scheme)
            _encode(source, scheme, params, into: out.baseAddress!)
            return params
        }
        self.init(unchecked: source.rows, cols: source.cols, scheme: scheme, packed: packed,
                  scales: params.map(\.scale), zeroPoints: params.map(\.zeroPoint))
    }
}

extension QuantizedTensor {
    /// Quantizes with a clipping search per group or row (see `_ClipSearch`): for each, the range
    /// `[min * a, max * b]` (a, b in 1, 0.975, ..., 0.5) that minimises the quantization error weighted
    /// by `importance` (one weight per column, e.g. the mean `x²` of each input channel from
    /// `LayerStats`; nil weighs all equally).
    /// Needs a per-row or per-group scheme; throws as `init(quantizing:scheme:)` does, and `.shape` for
    /// an importance of another length or `.invalidArgument` for a negative or non-finite weight.
    public init(quantizing source: TensorView, scheme: QuantScheme, clipSearchWithImportance importance: [Float]?) throws(QuantError) {
        let scheme = try scheme.validated()
        try _checkQuantizedMemory(source, scheme)
        guard _ParamLayout(scheme, cols: source.cols).isPerRun else {
            throw QuantError(.invalidArgument, "clip search needs a per-row or per-group scheme")
        }
        if let importance {
            guard importance.count == source.cols else {
                throw QuantError(.shape, "importance has \(importance.count) values, the tensor \(source.cols) columns")
            }
            guard importance.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw QuantError(.invalidArgument, "importance weights must be finite and non-negative")
            }
        }
        let rowStride = _BitPacking.byteCount(count: source.cols, bits: scheme.bits)
        var packed = [UInt8](repeating: 0, count: source.rows * rowStride)
        let params = try packed.withUnsafeMutableBufferPointer { out throws(QuantError) in
            try _withOptionalBuffer(importance) { weights throws(QuantError) in
                try _quantizeRuns(source, scheme, into: out.baseAddress!, search: _ClipSearch(importance: weights))
            }
        }
        self.init(unchecked: source.rows, cols: source.cols, scheme: scheme, packed: packed,
                  scales: params.map(\.scale), zeroPoints: params.map(\.zeroPoint))
    }
}

extension QuantizedTensor {
    /// `source` quantized with the given parameters (one per run, in `_computeQParams` order).
    init(_encoding source: TensorView, scheme: QuantScheme, params: [QuantParams]) {
        let rowStride = _BitPacking.byteCount(count: source.cols, bits: scheme.bits)
        var packed = [UInt8](repeating: 0, count: source.rows * rowStride)
        packed.withUnsafeMutableBufferPointer { _encode(source, scheme, params, into: $0.baseAddress!) }
        self.init(unchecked: source.rows, cols: source.cols, scheme: scheme, packed: packed,
                  scales: params.map(\.scale), zeroPoints: params.map(\.zeroPoint))
    }
}

/// Throws `.outOfMemory` unless the quantized form of `source` (codes, parameters) fits in memory.
func _checkQuantizedMemory(_ source: TensorView, _ scheme: QuantScheme) throws(QuantError) {
    try _MemoryLimit.check(scheme.packedByteCount(rows: source.rows, cols: source.cols), elementBytes: 1, for: "the packed codes")
    try _MemoryLimit.check(scheme.qparamCount(rows: source.rows, cols: source.cols), elementBytes: 16, for: "the scales and zero points")
}

/// Calls `body` with the array's base address, or nil for a nil array.
func _withOptionalBuffer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) throws(QuantError) -> R) throws(QuantError) -> R {
    guard let values else { return try body(nil) }
    let result = values.withUnsafeBufferPointer { buffer in Result { () throws(QuantError) in try body(buffer.baseAddress) } }
    return try result.get()
}

/// The scheme's parameters for `source`, in `qparamCount` order.
func _computeQParams(_ source: TensorView, _ scheme: QuantScheme) throws(QuantError) -> [QuantParams] {
    let range: [(min: Float, max: Float)]
    switch scheme.granularity {
    case .perTensor: range = [try _tensorRange(source)]
    case .perChannel(axis: 1): range = try _columnRanges(source)
    default: return try _quantizeRuns(source, scheme, into: nil)
    }
    var params = [QuantParams]()
    params.reserveCapacity(range.count)
    for r in range { params.append(try scheme._qparams(min: r.min, max: r.max)) }
    return params
}

/// Per-group and per-row quantization in one pass over the data: for each run of a row, its range,
/// its parameters, then its codes, while the run is in the L1 cache. With `out` nil, only the
/// parameters are computed.
func _quantizeRuns(_ source: TensorView, _ scheme: QuantScheme, into out: UnsafeMutablePointer<UInt8>?,
                   search: _ClipSearch? = nil) throws(QuantError) -> [QuantParams] {
    let bits = scheme.bits, qmin = scheme.qmin, qmax = scheme.qmax
    let rowStride = _BitPacking.byteCount(count: source.cols, bits: bits)
    let layout = _ParamLayout(scheme, cols: source.cols)
    let plan = _WorkPlan(rows: source.rows, cols: source.cols, alignment: layout.alignment)
    var params = [QuantParams](repeating: QuantParams(scale: 1, zeroPoint: 0), count: source.rows * layout.runsPerRow)
    var failures = [QuantError?](repeating: nil, count: plan.itemCount)
    params.withUnsafeMutableBufferPointer { params in
        failures.withUnsafeMutableBufferPointer { failures in
            plan.forEachItem { row, columns, floats, codes in
                let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
                do throws(QuantError) {
                    try layout.forEachRun(row: row, columns: columns) { offset, count, index throws(QuantError) in
                        let range = _minMax(x + offset, count)
                        guard range.finite else { throw _nonFiniteError(source) }
                        let p: QuantParams
                        if let search {
                            p = try search.params(x + offset, count, column: columns.lowerBound + offset, scheme: scheme,
                                                  min: range.min, max: range.max)
                        } else {
                            p = try scheme._qparams(min: range.min, max: range.max)
                        }
                        params[index] = p
                        if out != nil { _quantizeSpan(x + offset, count, p, qmin: qmin, qmax: qmax, into: codes + offset) }
                    }
                } catch {
                    failures[row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength] = error
                    return
                }
                if let out {
                    _BitPacking.pack(codes, count: columns.count, bits: bits, into: out + row * rowStride + columns.lowerBound * bits / 8)
                }
            }
        }
    }
    if let failure = failures.first(where: { $0 != nil }) { throw failure! }
    return params
}

/// Quantizes and packs `source` with known parameters into `out` (`rows * rowStride` bytes), packing
/// `bits` bits per code (the scheme's unless given: 8 keeps one code per byte).
func _encode(_ source: TensorView, _ scheme: QuantScheme, _ params: [QuantParams], into out: UnsafeMutablePointer<UInt8>,
             bits packedBits: Int? = nil) {
    let bits = packedBits ?? scheme.bits, qmin = scheme.qmin, qmax = scheme.qmax
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
