extension QuantizedTensor {
    /// Weight rows per work item: dequantized together into the L1/L2 cache and multiplied by each
    /// activation row with one load of x per four rows.
    static let _rowTile = 4

    /// The weight-only path: each tile of weight rows is dequantized (exactly as `dequantize()`) into
    /// per-thread scratch, then dotted with every activation row in float32.
    func _weightOnlyMatmul(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let tile = Self._rowTile
        let (n, k) = (rows, cols)
        let tiles = (n + tile - 1) / tile
        _parallelForRanges(itemCount: tiles) { range in
            let weights = UnsafeMutablePointer<Float>.allocate(capacity: tile * k)
            let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: k + 64)
            defer { weights.deallocate(); codes.deallocate() }
            for t in range {
                let first = t * tile, count = Swift.min(tile, n - first)
                for r in 0..<count { _dequantizeRow(first + r, codes: codes, into: weights + r * k) }
                for m in 0..<batch {
                    let out = y + m * n + first
                    if count == tile {
                        let s = _dot4(x + m * k, weights, k)
                        (out[0], out[1], out[2], out[3]) = (s.0, s.1, s.2, s.3)
                    } else {
                        for r in 0..<count { out[r] = _dot4(x + m * k, weights + r * k, k, rowsAvailable: 1).0 }
                    }
                    if let bias { for r in 0..<count { out[r] += bias[first + r] } }
                }
            }
        }
    }

    /// Dequantizes weight row `row` into `out[0..<cols]`.
    @inline(__always)
    func _dequantizeRow(_ row: Int, codes: UnsafeMutablePointer<UInt8>, into out: UnsafeMutablePointer<Float>) {
        let bits = scheme.bits, signed = scheme.grid == .signed
        let layout = _ParamLayout(scheme, cols: cols)
        packed.withUnsafeBufferPointer { packed in
            _BitPacking.unpack(packed.baseAddress! + row * rowStride, count: cols, bits: bits, into: codes)
        }
        layout.forEachRun(row: row, columns: 0..<cols) { offset, count, index in
            _dequantizeSpan(codes + offset, count, QuantParams(scale: scales[index], zeroPoint: zeroPoints[index]),
                            bits: bits, signed: signed, into: out + offset)
        }
    }
}

/// Dot products of one activation row with up to four consecutive weight rows (`k` apart), in float32
/// with 16-lane accumulators and a fixed summation order.
@inline(__always)
func _dot4(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ k: Int, rowsAvailable: Int = 4) -> (Float, Float, Float, Float) {
    var a0 = _FloatVector(), a1 = _FloatVector(), a2 = _FloatVector(), a3 = _FloatVector()
    var i = 0
    if rowsAvailable == 4 {
        while i + 16 <= k {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: _FloatVector.self)
            _multiplyAdd(&a0, v, UnsafeRawPointer(w + i).loadUnaligned(as: _FloatVector.self))
            _multiplyAdd(&a1, v, UnsafeRawPointer(w + k + i).loadUnaligned(as: _FloatVector.self))
            _multiplyAdd(&a2, v, UnsafeRawPointer(w + 2 * k + i).loadUnaligned(as: _FloatVector.self))
            _multiplyAdd(&a3, v, UnsafeRawPointer(w + 3 * k + i).loadUnaligned(as: _FloatVector.self))
            i += 16
        }
    } else {
        while i + 16 <= k {
            _multiplyAdd(&a0, UnsafeRawPointer(x + i).loadUnaligned(as: _FloatVector.self),
                          UnsafeRawPointer(w + i).loadUnaligned(as: _FloatVector.self))
            i += 16
        }
    }
    var s = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
    while i < k {
        s.0 += x[i] * w[i]
        if rowsAvailable == 4 {
            s.1 += x[i] * w[k + i]
            s.2 += x[i] * w[2 * k + i]
            s.3 += x[i] * w[3 * k + i]
        }
        i += 1
    }
    return s
}

/// `accumulator += a * b`: fused where the build targets FMA hardware (`SWQUANT_AVX2` builds, arm64),
/// else a multiply and an add (a fused form would call a library routine per lane).
@inline(__always)
func _multiplyAdd<Vector: SIMD>(_ accumulator: inout Vector, _ a: Vector, _ b: Vector) where Vector.Scalar: FloatingPoint {
    #if SWQUANT_AVX2 || arch(arm64)
    accumulator.addProduct(a, b)
    #else
    accumulator += a * b
    #endif
}
