/// ggml's block types on rows of floats: the blocks exactly as ggml's reference quantizers write them
/// and as GGUF files store them, and their dequantization.
///
/// Without an importance row the codes are those of ggml's `quantize_row_*_ref` (IQ4_NL: of
/// `quantize_iq4_nl`, the path `llama-quantize` takes); with one (an imatrix row, the mean of x² per
/// input column) those of the `quant_weights` path that `llama-quantize --imatrix` takes.
///
/// ```swift
/// let blocks = try GGMLBlocks.quantize(TensorView(weights, rows: 4096, cols: 4096), to: .q4_K)
/// let back = try GGMLBlocks.dequantize(blocks, type: .q4_K, rows: 4096, cols: 4096)
/// ```
public enum GGMLBlocks {
    /// Quantizes every row of `input` into `output` (`rows · type.rowBytes(cols:)` bytes).
    ///
    /// Throws `.invalidArgument` for a type without codec, `.shape` when the row length is not a
    /// multiple of the block length (as ggml) or `importance` is not one value per column,
    /// `.nonFinite` for NaN or infinity in the input or the importance, `.invalidArgument` for a
    /// negative importance, `.bufferTooSmall` for a short output.
    public static func quantize(_ input: TensorView, to type: GGMLType, importance: UnsafeBufferPointer<Float>? = nil,
                                into output: UnsafeMutableRawBufferPointer) throws(QuantError) {
        let rowBytes = try checkedRowBytes(type, rows: input.rows, cols: input.cols, available: output.count)
        try checkImportance(importance, cols: input.cols)
        try checkFinite(input)
        let importance = type.traits.usesImportance ? importance?.baseAddress : nil
        let destination = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let cols = input.cols
        try _MemoryLimit.check(_threadCount(itemCount: input.rows) * cols, elementBytes: 4, for: "row scratch")
        _parallelForRanges(itemCount: input.rows) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { scratch in
                for row in rows {
                    let x = input.floats(row: row, start: 0, count: cols, scratch: scratch.baseAddress!)
                    quantizeRow(type, x, cols, destination + row * rowBytes, importance)
                }
            }
        }
    }

    /// `quantize(_:to:importance:into:)` into a new array.
    public static func quantize(_ input: TensorView, to type: GGMLType, importance: [Float]? = nil) throws(QuantError) -> [UInt8] {
        let rowBytes = try checkedRowBytes(type, rows: input.rows, cols: input.cols, available: .max)
        try _MemoryLimit.check(input.rows, elementBytes: rowBytes, for: "the \(type.traits.name) blocks")
        var blocks = [UInt8](repeating: 0, count: input.rows * rowBytes)
        let failure: QuantError? = blocks.withUnsafeMutableBytes { output in
            guard let importance else { return _caught { () throws(QuantError) in try quantize(input, to: type, into: output) } }
            return importance.withUnsafeBufferPointer { weights in
                _caught { () throws(QuantError) in try quantize(input, to: type, importance: weights, into: output) }
            }
        }
        if let failure { throw failure }
        return blocks
    }

    /// Dequantizes `rows` rows of `cols` values of `type` from `blocks` into `output` (float32).
    ///
    /// Any bytes are accepted: the values are what ggml's dequantizer gives for them (a float16 scale
    /// of infinity gives infinities). Throws `.bufferTooSmall` when `blocks` or `output` is short.
    public static func dequantize(_ blocks: UnsafeRawBufferPointer, type: GGMLType, rows: Int, cols: Int,
                                  into output: UnsafeMutableBufferPointer<Float>) throws(QuantError) {
        let rowBytes = try checkedRowBytes(type, rows: rows, cols: cols, available: blocks.count, what: "blocks")
        guard output.count / cols >= rows else {
            throw QuantError(.bufferTooSmall, "output holds \(output.count) values, \(rows) rows of \(cols) need \(rows * cols)")
        }
        let source = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self), destination = output.baseAddress!
        _parallelForRanges(itemCount: rows) { range in
            for row in range { dequantizeRow(type, source + row * rowBytes, cols, destination + row * cols) }
        }
    }

    /// `dequantize(_:type:rows:cols:into:)` into a new array.
    public static func dequantize(_ blocks: [UInt8], type: GGMLType, rows: Int, cols: Int) throws(QuantError) -> [Float] {
        _ = try checkedRowBytes(type, rows: rows, cols: cols, available: blocks.count, what: "blocks")
        try _MemoryLimit.check(rows * cols, elementBytes: 4, for: "the dequantized values")
        var values = [Float](repeating: 0, count: rows * cols)
        let failure: QuantError? = blocks.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { output in
                _caught { () throws(QuantError) in try dequantize(source, type: type, rows: rows, cols: cols, into: output) }
            }
        }
        if let failure { throw failure }
        return values
    }

    /// The row size after checking the type, the shape and that `available` bytes hold every row.
    static func checkedRowBytes(_ type: GGMLType, rows: Int, cols: Int, available: Int,
                                what: String = "output") throws(QuantError) -> Int {
        guard type.traits.hasCodec else {
            throw QuantError(.invalidArgument, "swquant has no quantizer or dequantizer for \(type.traits.name)")
        }
        guard rows > 0 else { throw QuantError(.shape, "rows must be positive, got \(rows)") }
        let rowBytes = try type.rowBytes(cols: cols)
        let (total, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow else { throw QuantError(.overflow, "\(rows) rows of \(rowBytes) bytes overflow") }
        guard total <= available else {
            throw QuantError(.bufferTooSmall, "\(what) holds \(available) bytes, \(rows) rows of \(type.traits.name) need \(total)")
        }
        return rowBytes
    }

    private static func checkImportance(_ importance: UnsafeBufferPointer<Float>?, cols: Int) throws(QuantError) {
        guard let importance else { return }
        guard importance.count == cols else {
            throw QuantError(.shape, "importance must hold one value per column (\(cols)), got \(importance.count)")
        }
        for (column, value) in importance.enumerated() {
            guard value.isFinite else { throw QuantError(.nonFinite, "importance of column \(column) is \(value)") }
            guard value >= 0 else { throw QuantError(.invalidArgument, "importance of column \(column) is negative (\(value))") }
        }
    }

    private static func checkFinite(_ input: TensorView) throws(QuantError) {
        guard _allRowsFinite(input) else { throw _nonFiniteError(input) }
    }

    /// Quantizes one row of `n` floats to `type` at `out` (the row driver of every type).
    static func quantizeRow(_ type: GGMLType, _ x: UnsafePointer<Float>, _ n: Int, _ out: UnsafeMutablePointer<UInt8>,
                            _ importance: UnsafePointer<Float>?) {
        switch type {
        case .q4_0: _GGMLLegacy.quantizeSymmetric(x, n, out, importance, nmax: 8, blockBytes: 18)
        case .q5_0: _GGMLLegacy.quantizeSymmetric(x, n, out, importance, nmax: 16, blockBytes: 22)
        case .q4_1: _GGMLLegacy.quantizeAffine(x, n, out, importance, nmax: 15, blockBytes: 20)
        case .q5_1: _GGMLLegacy.quantizeAffine(x, n, out, importance, nmax: 31, blockBytes: 24)
        case .q8_0: _GGMLLegacy.quantizeQ8_0(x, n, out)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            let bytes = type.traits.blockBytes
            _SuperBlockScratch.with { scratch in
                for block in 0..<(n / 256) {
                    let xb = x + 256 * block, yb = out + bytes * block, qw = importance.map { $0 + 256 * block }
                    switch type {
                    case .q2_K: _GGMLKQuants.quantizeQ2K(xb, yb, qw, scratch)
                    case .q3_K: _GGMLKQuants.quantizeQ3K(xb, yb, qw, scratch)
                    case .q4_K: _GGMLKQuants.quantizeQ45K(xb, yb, qw, scratch, nmax: 15)
                    case .q5_K: _GGMLKQuants.quantizeQ45K(xb, yb, qw, scratch, nmax: 31)
                    default: _GGMLKQuants.quantizeQ6K(xb, yb, qw, scratch)
                    }
                }
            }
        case .iq4_nl: _GGMLTableBlocks.quantizeIQ4NL(x, n, out, importance)
        case .mxfp4: _GGMLTableBlocks.quantizeMXFP4(x, n, out)
        case .nvfp4: _GGMLTableBlocks.quantizeNVFP4(x, n, out)
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: x, byteCount: 4 * n)
        case .f16:
            for j in 0..<n { UnsafeMutableRawPointer(out).storeBytes(of: _halfBits(x[j]), toByteOffset: 2 * j, as: UInt16.self) }
        case .bf16:
            for j in 0..<n { UnsafeMutableRawPointer(out).storeBytes(of: BFloat16(x[j]).bitPattern, toByteOffset: 2 * j, as: UInt16.self) }
        default: preconditionFailure("checked by checkedRowBytes")
        }
    }

    /// Dequantizes one row of `n` values of `type` from `blocks`.
    static func dequantizeRow(_ type: GGMLType, _ blocks: UnsafePointer<UInt8>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(blocks)
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: _GGMLLegacy.dequantize(type, blocks, n, out)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: _GGMLKQuants.dequantize(type, blocks, n, out)
        case .iq4_nl, .mxfp4, .nvfp4: _GGMLTableBlocks.dequantize(type, blocks, n, out)
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: raw, byteCount: 4 * n)
        case .f16: for j in 0..<n { out[j] = _halfValue(raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)) }
        case .bf16: for j in 0..<n { out[j] = BFloat16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)).floatValue }
        default: preconditionFailure("checked by checkedRowBytes")
        }
    }
}

/// The error `body` throws, or nil: carries a typed error out of the standard library's `rethrows`
/// buffer closures.
@inline(__always)
func _caught(_ body: () throws(QuantError) -> Void) -> QuantError? {
    do { try body() } catch { return error }
    return nil
}
