/// How `QuantizedTensor.matmul` computes `y = x · Wᵀ`.
@frozen
public enum MatmulPath: Int32, Sendable, CaseIterable {
    /// The int8 path where the weights allow it, else the weight-only path.
    case automatic = 0
    /// Float activations times weights dequantized a few rows at a time into cache (never the whole
    /// matrix): the same values `dequantize()` gives, multiplied in float32. Any bits and group size.
    case weightOnly = 1
    /// Activations quantized to int8 on the fly in blocks of 32 (ggml's q8_0), integer dot products
    /// with int32 sums, float rescaling per block and group. 4- and 8-bit weights, per tensor, per row,
    /// or groups that are multiples of 32. Adds the activation rounding error (about 0.4% of each
    /// block's largest value per element) on top of the weights'.
    case dynamicInt8 = 2
    /// Each activation row quantized to int8 with one scale (per token, as LLM.int8's vector-wise
    /// quantization without its outlier split): integer sums accumulate across whole weight groups, the
    /// fastest path for batches. Any bits, per tensor, per row or any group size. Coarser than
    /// `dynamicInt8` on rows with outliers (every element moves by up to max|row| / 254).
    case dynamicInt8PerRow = 3
}

extension QuantizedTensor {
    /// Whether `path` can run on this tensor (`.automatic` always can).
    public func supports(_ path: MatmulPath) -> Bool {
        switch (path, scheme.granularity) {
        case (_, .perChannel(axis: 1)): return false
        case (.automatic, _), (.weightOnly, _), (.dynamicInt8PerRow, _): return true
        case (.dynamicInt8, .perGroup(let size)): return (scheme.bits == 4 || scheme.bits == 8) && size % 32 == 0
        case (.dynamicInt8, _): return scheme.bits == 4 || scheme.bits == 8
        }
    }

    /// `y = x · Wᵀ (+ bias)`: x is `[batch, cols]` float32 row-major, y `[batch, rows]`, bias `[rows]`.
    ///
    /// Results do not depend on the thread count. NaN or infinity in x propagate on the weight-only
    /// path and throw `.nonFinite` on the int8 path. Per-column (axis 1) weights cannot be multiplied
    /// here: their scales vary along the reduction; quantize per row or per group instead.
    ///
    /// ```swift
    /// let w = try QuantizedTensor(quantizing: weights, rows: 11008, cols: 4096,
    ///                             scheme: QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128)))
    /// let y = try w.matmul(x, batch: 1)   // 11008 outputs
    /// ```
    public func matmul(
        _ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        path: MatmulPath = .automatic
    ) throws(QuantError) {
        guard batch > 0 else { throw QuantError(.shape, "batch must be positive, got \(batch)") }
        guard !batch.multipliedReportingOverflow(by: Swift.max(rows, cols)).overflow else {
            throw QuantError(.overflow, "batch \(batch) times shape [\(rows), \(cols)] overflows")
        }
        guard supports(path) else {
            throw QuantError(.invalidArgument, scheme.granularity == .perChannel(axis: 1)
                ? "matmul needs per-tensor, per-row or per-group weights; these have per-column scales"
                : "the int8 path needs 4- or 8-bit weights in groups that are multiples of 32; use the weight-only path")
        }
        if path == .weightOnly || (path == .automatic && !supports(.dynamicInt8)) {
            _weightOnlyMatmul(x, batch: batch, bias: bias, into: y)
        } else if path == .dynamicInt8PerRow {
            guard cols < 33_025 else {
                throw QuantError(.overflow, "k = \(cols) could overflow the per-row path's int32 sums; at most 33,024 columns")
            }
            try _int8RowMatmul(x, batch: batch, bias: bias, into: y, kernel: KernelTier.active)
        } else {
            try _int8Matmul(x, batch: batch, bias: bias, into: y, kernel: KernelTier.active)
        }
    }

    /// `matmul` on arrays: x holds `batch * cols` values; returns `batch * rows` values.
    public func matmul(_ x: [Float], batch: Int, bias: [Float]? = nil, path: MatmulPath = .automatic) throws(QuantError) -> [Float] {
        guard x.count == batch * cols else {
            throw QuantError(.shape, "x holds \(x.count) values, [\(batch), \(cols)] needs \(batch * cols)")
        }
        if let bias, bias.count != rows {
            throw QuantError(.shape, "bias holds \(bias.count) values, the layer has \(rows) outputs")
        }
        var y = [Float](repeating: 0, count: batch * rows)
        let result = x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                Result { () throws(QuantError) in
                    if let bias {
                        try bias.withUnsafeBufferPointer { bias throws(QuantError) in
                            try matmul(x.baseAddress!, batch: batch, bias: bias.baseAddress!, into: y.baseAddress!, path: path)
                        }
                    } else {
                        try matmul(x.baseAddress!, batch: batch, bias: nil, into: y.baseAddress!, path: path)
                    }
                }
            }
        }
        try result.get()
        return y
    }
}
