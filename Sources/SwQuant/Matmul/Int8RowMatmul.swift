extension QuantizedTensor {
    /// The per-row dynamic int8 path (see `MatmulPath.dynamicInt8PerRow`): each activation row is
    /// quantized to int8 with one scale, so the integer dot products of a whole weight group accumulate in
    /// int32 and are converted to float once per group: `y = sx * sum_g sw_g * (dot_g - z'_g * asum_g)`.
    /// Weight rows are unpacked to bytes once per tile of rows and reused by every activation row. The
    /// AVX512-VNNI tier has its own layout and kernel (`_int8RowMatmulVNNI`) for batches of at least 4
    /// rows; below that, interleaving the weights costs more than the products it speeds up.
    func _int8RowMatmul(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                        kernel: KernelTier) throws(QuantError) {
        #if SWQUANT_AVX512VNNI
        if kernel == .avx512vnni && batch >= _ColumnTile.batch { return try _int8RowMatmulVNNI(x, batch: batch, bias: bias, into: y) }
        #endif
        let (n, k) = (rows, cols)
        let layout = _ParamLayout(scheme, cols: k)
        let (group, groups) = _rowPathGroups
        let chunk = 64
        // Every group is padded to whole 64-byte chunks so that chunks never straddle groups.
        let groupStride = (group + chunk - 1) / chunk * chunk
        let padded = groups * groupStride
        let activations = try _RowInt8Activations(x, rows: batch, cols: k, group: group, groupStride: groupStride)
        let bits = scheme.bits, perTensor = layout.perTensor
        let flip = scheme.grid == .signed ? UInt8(1 << (bits - 1)) : 0
        // Work items of 16 weight rows are unpacked once into scratch (64 KB at k = 4096); blocks of 64
        // activation rows stay in the L2 cache while the item's 2-row kernel tiles pass over them.
        let rowTile = 2, batchTile = 4, itemRows = 16, batchBlock = 64
        let scaledZeros = _scaledZeroPoints
        let kernels = _Int8KernelTable(kernel)
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        scaledZeros.withUnsafeBufferPointer { scaledZeros in
        activations.codes.withUnsafeBufferPointer { codes in
        activations.groupSums.withUnsafeBufferPointer { groupSums in
            _parallelForRanges(itemCount: (n + itemRows - 1) / itemRows) { items in
                let weights = UnsafeMutablePointer<UInt8>.allocate(capacity: itemRows * padded)
                let unpacked = UnsafeMutablePointer<UInt8>.allocate(capacity: k + 64)
                // The last activation rows of a batch that is not a multiple of 4, padded with zero rows.
                let partial = UnsafeMutablePointer<Int8>.allocate(capacity: batchTile * padded)
                var dots = [Float](repeating: 0, count: rowTile * batchTile)
                defer { weights.deallocate(); unpacked.deallocate(); partial.deallocate() }
                for item in items {
                    let itemFirst = item * itemRows, itemCount = Swift.min(itemRows, n - itemFirst)
                    // Unsigned codes of the item's rows, each group padded with zero codes to groupStride.
                    weights.initialize(repeating: 0, count: itemRows * padded)
                    for r in 0..<itemCount {
                        _BitPacking.unpack(packed.baseAddress! + (itemFirst + r) * rowStride, count: k, bits: bits, into: unpacked)
                        for g in 0..<groups {
                            let length = Swift.min(group, k - g * group)
                            let target = weights + r * padded + g * groupStride, source = unpacked + g * group
                            for i in 0..<length { target[i] = source[i] ^ flip }
                        }
                    }
                    for blockStart in stride(from: 0, to: batch, by: batchBlock) {
                        let blockEnd = Swift.min(blockStart + batchBlock, batch)
                        for tileStart in stride(from: 0, to: itemCount, by: rowTile) {
                            let first = itemFirst + tileStart, count = Swift.min(rowTile, itemCount - tileStart)
                            let tileWeights = UnsafePointer(weights + tileStart * padded)
                            var m = blockStart
                            while m < blockEnd {
                                let ms = Swift.min(batchTile, blockEnd - m)
                                var rowCodes = codes.baseAddress! + m * padded
                                if ms < batchTile {
                                    partial.initialize(repeating: 0, count: batchTile * padded)
                                    partial.update(from: rowCodes, count: ms * padded)
                                    rowCodes = UnsafePointer(partial)
                                }
                                _rowTileDots(tileWeights, padded: padded, codes: rowCodes, rows: count, batch: ms,
                                             groups: groups, groupStride: groupStride, scales: scales.baseAddress!,
                                             firstParam: perTensor ? 0 : first * groups, scaleStride: perTensor ? 0 : groups,
                                             kernels: kernels, into: &dots)
                                for i in 0..<ms {
                                    for r in 0..<count {
                                        let row = first + r, params = perTensor ? 0 : row * groups
                                        let zeroTerm = _dot(scaledZeros.baseAddress! + params, groupSums.baseAddress! + (m + i) * groups,
                                                            groups)
                                        let sum = dots[r * batchTile + i] - zeroTerm
                                        y[(m + i) * n + row] = activations.scales[m + i] * sum + (bias?[row] ?? 0)
                                    }
                                }
                                m += ms
                            }
                        }
                    }
                }
            }
        }
        }
        }
        }
        }
    }
}

extension QuantizedTensor {
    /// The per-row paths' reduction groups along k (a whole row for per-tensor and per-row schemes):
    /// their length and how many a row holds.
    var _rowPathGroups: (size: Int, count: Int) {
        let layout = _ParamLayout(scheme, cols: cols)
        let size = layout.perTensor || layout.runLength >= cols ? cols : layout.runLength
        return (size, (cols + size - 1) / size)
    }

    /// `scale * (zeroPoint - qmin)` per parameter pair: the weight side of the per-row paths' zero-point
    /// correction.
    var _scaledZeroPoints: [Float] { zip(scales, zeroPoints).map { $0 * Float($1 - scheme.qmin) } }
}

/// `sum a[i] * b[i]` over `count` floats, 16 lanes at a time.
@inline(__always)
func _dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var sum = _FloatVector()
    var i = 0
    while i + 16 <= count {
        _multiplyAdd(&sum, UnsafeRawPointer(a + i).loadUnaligned(as: _FloatVector.self),
                     UnsafeRawPointer(b + i).loadUnaligned(as: _FloatVector.self))
        i += 16
    }
    var total = sum.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

/// Activation rows quantized to int8 with one scale per row (`max|x| / 127`), stored in groups padded to
/// `groupStride` codes, with the integer sum of each group (as Float, for the zero-point term).
struct _RowInt8Activations {
    var codes: [Int8]
    var scales: [Float]
    var groupSums: [Float]

    init(_ x: UnsafePointer<Float>, rows: Int, cols: Int, group: Int, groupStride: Int) throws(QuantError) {
        let groups = (cols + group - 1) / group
        try _MemoryLimit.check(rows * groups, elementBytes: groupStride + 4, for: "the int8 activations")
        codes = [Int8](repeating: 0, count: rows * groups * groupStride)
        scales = [Float](repeating: 1, count: rows)
        groupSums = [Float](repeating: 0, count: rows * groups)
        for row in 0..<rows {
            let values = x + row * cols
            let (low, high, finite) = _minMax(values, cols)
            guard finite else {
                throw QuantError(.nonFinite, "activations hold NaN or infinity; the int8 path needs finite values")
            }
            let scale = _int8ActivationScale(low: low, high: high)
            scales[row] = scale
            for g in 0..<groups {
                var sum: Int32 = 0
                for i in 0..<Swift.min(group, cols - g * group) {
                    let q = _int8ActivationCode(values[g * group + i], scale: scale)
                    codes[(row * groups + g) * groupStride + i] = q
                    sum += Int32(q)
                }
                groupSums[row * groups + g] = Float(sum)
            }
        }
    }
}

/// `sum_g sw[r, g] * dot_g(r, m)` for a tile of weight rows and activation rows, one group at a time
/// through the table's byte dot (every tier); `dots[r * 4 + i]` receives weight row r times activation row i.
func _rowTileDots(
    _ weights: UnsafePointer<UInt8>, padded: Int, codes: UnsafePointer<Int8>, rows: Int, batch: Int, groups: Int,
    groupStride: Int, scales: UnsafePointer<Float>, firstParam: Int, scaleStride: Int, kernels: _Int8KernelTable,
    into dots: inout [Float]
) {
    for r in 0..<rows {
        for i in 0..<batch {
            var total: Float = 0
            for g in 0..<groups {
                let offset = g * groupStride
                let activations = UnsafeRawPointer(codes + i * padded + offset).assumingMemoryBound(to: UInt8.self)
                let dot = kernels.byteDot(weights + r * padded + offset, activations, groupStride, flip: 0)
                total += scales[firstParam + r * scaleStride + (scaleStride == 0 ? 0 : g)] * Float(dot)
            }
            dots[r * 4 + i] = total
        }
    }
}
