extension QuantizedTensor {
    /// The dynamic int8 path (see `MatmulPath.dynamicInt8`): activations to int8 per block of 32, then
    /// per weight row and activation row `sum_g s_g * sum_b sx_b * (dot_b - z'_g * xsum_b)`, where
    /// `z' = zeroPoint - qmin` matches the unsigned codes the kernels see.
    func _int8Matmul(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                     kernel: KernelTier) throws(QuantError) {
        let activations = try _Int8Activations(x, rows: batch, cols: cols, interleaved: scheme.bits == 4)
        let layout = _ParamLayout(scheme, cols: cols)
        let blocks = activations.blocksPerRow
        let blocksPerGroup = layout.isPerRun && layout.runLength < cols ? layout.runLength / _Int8Activations.blockLength : blocks
        let groupsPerRow = (blocks + blocksPerGroup - 1) / blocksPerGroup
        // T[m, g] = sum over blocks b of group g of sx_b * xsum_b: the zero-point term's activation side.
        var zeroTerms = [Float](repeating: 0, count: batch * groupsPerRow)
        for m in 0..<batch {
            for b in 0..<blocks {
                zeroTerms[m * groupsPerRow + b / blocksPerGroup] += activations.scales[m * blocks + b] * Float(activations.sums[m * blocks + b])
            }
        }
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        zeroPoints.withUnsafeBufferPointer { zeroPoints in
        activations.codes.withUnsafeBufferPointer { codes in
        activations.scales.withUnsafeBufferPointer { blockScales in
        activations.laneScales.withUnsafeBufferPointer { laneScales in
        zeroTerms.withUnsafeBufferPointer { zeroTerms in
            let rows = _Int8MatmulRows(
                tensor: self, kernel: kernel, batch: batch, bias: bias, y: y, blocksPerGroup: blocksPerGroup,
                groupsPerRow: groupsPerRow, storedBlocks: activations.storedBlocksPerRow, blocks: blocks,
                packed: packed.baseAddress!, scales: scales.baseAddress!, zeroPoints: zeroPoints.baseAddress!,
                codes: codes.baseAddress!, blockScales: blockScales.baseAddress!, laneScales: laneScales.baseAddress!,
                zeroTerms: zeroTerms.baseAddress!)
            _parallelForRanges(itemCount: (rows.n + _Int8MatmulRows.rowTile - 1) / _Int8MatmulRows.rowTile) { tiles in
                if batch == 1 { rows.singleActivationRow(tiles) } else { rows.batch(tiles) }
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

/// The dynamic int8 path over borrowed operands: weight rows in tiles of four, each tile against every
/// activation row.
struct _Int8MatmulRows {
    static let rowTile = 4  // four weight rows share each activation load
    /// Activation rows go in blocks that stay in the L2 cache while every weight tile of a thread
    /// passes over them.
    static let batchBlock = 64

    let n: Int, k: Int, bits: Int, batch: Int
    let kernel: KernelTier
    let dot: _Int8KernelTable.BlockDot
    let bias: UnsafePointer<Float>?
    let y: UnsafeMutablePointer<Float>
    let blocks: Int, fullBlocks: Int, storedBlocks: Int, blocksPerGroup: Int, groupsPerRow: Int
    let rowStride: Int, scaleStride: Int
    let signed: Bool, perTensor: Bool, qmin: Int32
    let packed: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Int32>
    let codes: UnsafePointer<Int8>, blockScales: UnsafePointer<Float>, laneScales: UnsafePointer<Float>
    let zeroTerms: UnsafePointer<Float>

    init(tensor: QuantizedTensor, kernel: KernelTier, batch: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
         blocksPerGroup: Int, groupsPerRow: Int, storedBlocks: Int, blocks: Int,
         packed: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Int32>,
         codes: UnsafePointer<Int8>, blockScales: UnsafePointer<Float>, laneScales: UnsafePointer<Float>,
         zeroTerms: UnsafePointer<Float>) {
        (n, k, bits, self.batch) = (tensor.rows, tensor.cols, tensor.scheme.bits, batch)
        self.kernel = kernel
        dot = _Int8KernelTable(kernel).blockDot(bits: bits)
        (self.bias, self.y) = (bias, y)
        (self.blocks, fullBlocks, self.storedBlocks) = (blocks, tensor.cols / _Int8Activations.blockLength, storedBlocks)
        (self.blocksPerGroup, self.groupsPerRow) = (blocksPerGroup, groupsPerRow)
        perTensor = _ParamLayout(tensor.scheme, cols: tensor.cols).perTensor
        (rowStride, scaleStride) = (tensor.rowStride, perTensor ? 0 : groupsPerRow)
        (signed, qmin) = (tensor.scheme.grid == .signed, tensor.scheme.qmin)
        (self.packed, self.scales, self.zeroPoints) = (packed, scales, zeroPoints)
        (self.codes, self.blockScales, self.laneScales, self.zeroTerms) = (codes, blockScales, laneScales, zeroTerms)
    }

    /// The operands of weight row `first` (and the rows after it) against activation row `m`.
    @inline(__always)
    func operands(first: Int, m: Int) -> _Int8DotOperands {
        _Int8DotOperands(
            weights: packed + first * rowStride, activations: codes + m * storedBlocks * _Int8Activations.blockLength,
            laneScales: laneScales + m * storedBlocks * 8, activationScales: blockScales + m * blocks,
            groupScales: scales + first * scaleStride, blocks: fullBlocks, blocksPerGroup: blocksPerGroup, signed: signed)
    }

    /// Adds the partial last block, subtracts the zero-point term and adds the bias.
    @inline(__always)
    func finish(row: Int, m: Int, sum: Float) -> Float {
        let params = row * scaleStride, rowCodes = codes + m * storedBlocks * _Int8Activations.blockLength
        var total = sum
        if fullBlocks < blocks {
            let bytesPerBlock = _Int8Activations.blockLength * bits / 8
            total += scales[params + fullBlocks / blocksPerGroup] * blockScales[m * blocks + fullBlocks]
                * Float(_tailDot(packed + row * rowStride + fullBlocks * bytesPerBlock, rowCodes, block: fullBlocks,
                                 count: k - fullBlocks * _Int8Activations.blockLength, bits: bits, signed: signed))
        }
        total -= perTensor
            ? scales[0] * Float(zeroPoints[0] - qmin) * zeroTerms[m]
            : _zeroPointTerm(scales + params, zeroPoints + params, qmin: qmin, terms: zeroTerms + m * groupsPerRow, count: groupsPerRow)
        return total + (bias?[row] ?? 0)
    }

    /// Batch 1: four sequential weight streams, one per quarter of this thread's rows (memory prefetchers
    /// follow long streams), the four rows still sharing activation loads.
    func singleActivationRow(_ tiles: Range<Int>) {
        let rowRange = tiles.lowerBound * Self.rowTile..<Swift.min(tiles.upperBound * Self.rowTile, n)
        let quarter = rowRange.count / 4
        for first in rowRange.lowerBound..<rowRange.lowerBound + quarter {
            let sums = dot(operands(first: first, m: 0), 4, quarter * rowStride, quarter * scaleStride)
            for r in 0..<4 { y[first + r * quarter] = finish(row: first + r * quarter, m: 0, sum: sums[r]) }
        }
        for row in rowRange.lowerBound + 4 * quarter..<rowRange.upperBound {
            y[row] = finish(row: row, m: 0, sum: dot(operands(first: row, m: 0), 1, rowStride, scaleStride)[0])
        }
    }

    /// Batches: each tile of four weight rows against each block of activation rows, four activation rows
    /// at a time where the VNNI tile kernel applies.
    func batch(_ tiles: Range<Int>) {
        for batchStart in stride(from: 0, to: batch, by: Self.batchBlock) {
            let batchEnd = Swift.min(batchStart + Self.batchBlock, batch)
            for tile in tiles {
                let first = tile * Self.rowTile, count = Swift.min(Self.rowTile, n - first)
                var m = batchStart
                #if SWQUANT_AVX512VNNI
                if kernel == .avx512vnni && count == 4 && fullBlocks % 2 == 0
                    && (blocksPerGroup % 2 == 0 || blocksPerGroup >= fullBlocks) {
                    while m + 4 <= batchEnd {
                        let sums = _VNNIInt8Dot.tile(operands(first: first, m: m), bits: bits, rowStride: rowStride,
                                                     scaleStride: scaleStride, activationStride: storedBlocks * _Int8Activations.blockLength,
                                                     laneScaleStride: storedBlocks * 8)
                        for (i, rowSums) in [sums.0, sums.1, sums.2, sums.3].enumerated() {
                            for r in 0..<4 { y[(m + i) * n + first + r] = finish(row: first + r, m: m + i, sum: rowSums[r]) }
                        }
                        m += 4
                    }
                }
                #endif
                while m < batchEnd {
                    let sums = dot(operands(first: first, m: m), count, rowStride, scaleStride)
                    for r in 0..<count { y[m * n + first + r] = finish(row: first + r, m: m, sum: sums[r]) }
                    m += 1
                }
            }
        }
    }
}

/// Integer dot product of a partial block `block` (`count` < 32 elements) of unsigned weight codes with
/// its activation codes (`activations` is the row's start), reading only the weight bytes that exist.
func _tailDot(_ weights: UnsafePointer<UInt8>, _ activations: UnsafePointer<Int8>, block: Int, count: Int, bits: Int, signed: Bool) -> Int32 {
    var sum: Int32 = 0
    for i in 0..<count {
        let code: UInt8
        if bits == 4 {
            let byte = weights[i / 2]
            code = ((i & 1 == 0 ? byte & 0x0F : byte >> 4)) ^ (signed ? 0x08 : 0)
            sum += Int32(code) * Int32(activations[_Int8Activations.position(i, block: block, interleaved: true)])
        } else {
            code = weights[i] ^ (signed ? 0x80 : 0)
            sum += Int32(code) * Int32(activations[block * 32 + i])
        }
    }
    return sum
}

/// `sum_g scales[g] * (zeroPoints[g] - qmin) * terms[g]`: the zero-point correction of one output.
@inline(__always)
func _zeroPointTerm(_ scales: UnsafePointer<Float>, _ zeroPoints: UnsafePointer<Int32>, qmin: Int32,
                    terms: UnsafePointer<Float>, count: Int) -> Float {
    var sum = _FloatVector()
    var g = 0
    let shift = SIMD16<Int32>(repeating: qmin)
    while g + 16 <= count {
        let zero = _exactFloat(UnsafeRawPointer(zeroPoints + g).loadUnaligned(as: SIMD16<Int32>.self) &- shift)
        sum += UnsafeRawPointer(scales + g).loadUnaligned(as: _FloatVector.self) * zero
            * UnsafeRawPointer(terms + g).loadUnaligned(as: _FloatVector.self)
        g += 16
    }
    var total = sum.sum()
    while g < count {
        total += scales[g] * Float(zeroPoints[g] - qmin) * terms[g]
        g += 1
    }
    return total
}
