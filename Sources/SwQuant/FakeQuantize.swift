/// Fake quantization, the forward pass of quantization-aware training: each element becomes
/// `(clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax) - zeroPoint) * scale`, in float.
///
/// `params` holds `scheme.qparamCount(rows:cols:)` pairs in the order `QuantizedTensor.scales` uses;
/// the result equals `QuantizedTensor` quantization followed by `dequantize()` with the same
/// parameters, bit for bit. Throws `.nonFinite` for NaN or infinity in the input, `.shape` for a wrong
/// number of parameters, `.invalidArgument` for a non-positive or non-finite scale, an off-grid
/// zero point or a bfloat16 output. `destination` receives `rows * cols` elements of `outputType`
/// (float32 or float16) and may alias the source when the types match.
///
/// ```swift
/// let scheme = QuantScheme(bits: 8, symmetric: true)
/// try fakeQuantize(view, scheme: scheme, params: [QuantParams(scale: 0.1, zeroPoint: 0)],
///                  into: out, as: .float32)
/// ```
public func fakeQuantize(
    _ source: TensorView, scheme: QuantScheme, params: [QuantParams],
    into destination: UnsafeMutableRawPointer, as outputType: ElementType
) throws(QuantError) {
    let scheme = try scheme.validated()
    try _checkParams(params, scheme: scheme, rows: source.rows, cols: source.cols)
    guard outputType != .bfloat16 else { throw QuantError(.invalidArgument, "fake quantization writes float32 or float16") }
    let bits = scheme.bits, signed = scheme.grid == .signed, qmin = scheme.qmin, qmax = scheme.qmax
    let layout = _ParamLayout(scheme, cols: source.cols)
    let columnScales = layout.isPerColumn ? params.map(\.scale) : []
    let columnZeros = layout.isPerColumn ? params.map { Float($0.zeroPoint) } : []
    let columnZeroInts = layout.isPerColumn ? params.map(\.zeroPoint) : []
    let plan = _WorkPlan(rows: source.rows, cols: source.cols, alignment: layout.alignment)
    let cols = source.cols
    var finite = [Bool](repeating: true, count: plan.itemCount)
    finite.withUnsafeMutableBufferPointer { finite in
    params.withUnsafeBufferPointer { params in
    columnScales.withUnsafeBufferPointer { columnScales in
    columnZeros.withUnsafeBufferPointer { columnZeros in
    columnZeroInts.withUnsafeBufferPointer { columnZeroInts in
        plan.forEachItem { row, columns, floats, codes in
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            guard _allFinite(x, columns.count) else {
                finite[row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength] = false
                return
            }
            if layout.isPerColumn {
                let scale = columnScales.baseAddress! + columns.lowerBound
                _quantizeSpan(x, columns.count, scales: scale, zeroPoints: columnZeros.baseAddress! + columns.lowerBound,
                              qmin: qmin, qmax: qmax, into: codes)
                _dequantizeSpan(codes, columns.count, scales: scale, zeroPoints: columnZeroInts.baseAddress! + columns.lowerBound,
                                bits: bits, signed: signed, into: floats)
            } else {
                layout.forEachRun(row: row, columns: columns) { offset, count, index in
                    _quantizeSpan(x + offset, count, params[index], qmin: qmin, qmax: qmax, into: codes + offset)
                    _dequantizeSpan(codes + offset, count, params[index], bits: bits, signed: signed, into: floats + offset)
                }
            }
            _store(floats, count: columns.count, to: destination, offset: row * cols + columns.lowerBound, as: outputType)
        }
    }
    }
    }
    }
    }
    guard finite.allSatisfy({ $0 }) else { throw _nonFiniteError(source) }
}

/// Quantizes with given parameters (static quantization, e.g. calibrated activation ranges) to one code
/// per byte, row-major: `clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax)`, as the bits-wide two's
/// complement (an `Int8` bit pattern) on a signed grid. `params` as for `fakeQuantize`; `codes` receives
/// `rows * cols` bytes. Throws as `fakeQuantize` does.
public func quantizeCodes(
    _ source: TensorView, scheme: QuantScheme, params: [QuantParams], into codes: UnsafeMutablePointer<UInt8>
) throws(QuantError) {
    let scheme = try scheme.validated()
    try _checkParams(params, scheme: scheme, rows: source.rows, cols: source.cols)
    let plan = _WorkPlan(rows: source.rows, cols: source.cols)
    var finite = [Bool](repeating: true, count: plan.itemCount)
    finite.withUnsafeMutableBufferPointer { finite in
        plan.forEachItem { row, columns, floats, _ in
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            if !_allFinite(x, columns.count) {
                finite[row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength] = false
            }
        }
    }
    guard finite.allSatisfy({ $0 }) else { throw _nonFiniteError(source) }
    // Packing at 8 bits stores each code's low byte: its full two's complement.
    _encode(source, scheme, params, into: codes, bits: 8)
}

/// Checks the number and values of parameters supplied for `scheme` on a `[rows, cols]` tensor.
func _checkParams(_ params: [QuantParams], scheme: QuantScheme, rows: Int, cols: Int) throws(QuantError) {
    let expected = scheme.qparamCount(rows: rows, cols: cols)
    guard params.count == expected else {
        throw QuantError(.shape, "expected \(expected) scale/zero-point pairs for shape [\(rows), \(cols)], got \(params.count)")
    }
    for (index, p) in params.enumerated() {
        guard p.scale.isFinite, p.scale > 0 else {
            throw QuantError(.invalidArgument, "scale \(index) must be finite and positive, got \(p.scale)")
        }
        guard (scheme.qmin...scheme.qmax).contains(p.zeroPoint) else {
            throw QuantError(.invalidArgument, "zero point \(index) = \(p.zeroPoint) is outside the grid [\(scheme.qmin), \(scheme.qmax)]")
        }
    }
}
