extension QuantizedTensor {
    /// The dynamic int8 path (see `MatmulPath.dynamicInt8`): activations to int8 per block of 32, then
    /// per weight row and activation row `sum_g s_g * sum_b sx_b * (dot_b - z'_g * xsum_b)`, where
    /// `z' = zeroPoint - qmin` matches the unsigned codes the kernels see.
    func _int8Matmul(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                     kernel: KernelTier) throws(QuantError) {
        let bits = scheme.bits, (n, k) = (rows, cols)
        let blockLength = _Int8Activations.blockLength
        let activations = try _Int8Activations(x, rows: batch, cols: k, interleaved: bits == 4)
        let blocks = activations.blocksPerRow, stored = activations.storedBlocksPerRow, fullBlocks = k / blockLength
        let layout = _ParamLayout(scheme, cols: k)
        let blocksPerGroup = layout.isPerRun && layout.runLength < k ? layout.runLength / blockLength : blocks
        let groupsPerRow = (blocks + blocksPerGroup - 1) / blocksPerGroup
        // T[m, g] = sum over blocks b of group g of sx_b * xsum_b: the zero-point term's activation side.
        var zeroTerms = [Float](repeating: 0, count: batch * groupsPerRow)
        for m in 0..<batch {
            for b in 0..<blocks {
                zeroTerms[m * groupsPerRow + b / blocksPerGroup] += activations.scales[m * blocks + b] * Float(activations.sums[m * blocks + b])
            }
        }
        // Each kernel takes the operands of the first of up to four consecutive weight rows.
        let dot: (_Int8DotOperands, _ rows: Int, _ rowStride: Int, _ scaleStride: Int) -> SIMD4<Float>
        switch (kernel, bits) {
        #if SWQUANT_AVX512VNNI
        case (.avx512vnni, 4): dot = { _VNNIInt8Dot.dot4($0, rows: $1, rowStride: $2, scaleStride: $3) }
        case (.avx512vnni, _): dot = { _VNNIInt8Dot.dot8($0, rows: $1, rowStride: $2, scaleStride: $3) }
        #endif
        #if SWQUANT_NEON_DOTPROD && arch(arm64)
        case (.neonDot, 4): dot = { _eachRow($0, $1, $2, $3, _NEONInt8Dot.dot4) }
        case (.neonDot, _): dot = { _eachRow($0, $1, $2, $3, _NEONInt8Dot.dot8) }
        #endif
        #if SWQUANT_AVX2
        case (.avx2, 4): dot = { _eachRow($0, $1, $2, $3, _AVX2Int8Dot.dot4) }
        case (.avx2, _): dot = { _eachRow($0, $1, $2, $3, _AVX2Int8Dot.dot8) }
        #endif
        case (.scalar, 4): dot = { _eachRow($0, $1, $2, $3, _ScalarInt8Dot.dot4) }
        case (.scalar, _): dot = { _eachRow($0, $1, $2, $3, _ScalarInt8Dot.dot8) }
        case (_, 4): dot = { _eachRow($0, $1, $2, $3, _SIMDInt8Dot.dot4) }
        default: dot = { _eachRow($0, $1, $2, $3, _SIMDInt8Dot.dot8) }
        }
        let signed = scheme.grid == .signed, qmin = scheme.qmin, perTensor = layout.perTensor
        let bytesPerBlock = blockLength * bits / 8
        let scaleStride = perTensor ? 0 : groupsPerRow
        let rowTile = 4  // four weight rows share each activation load
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        zeroPoints.withUnsafeBufferPointer { zeroPoints in
        activations.codes.withUnsafeBufferPointer { codes in
        activations.scales.withUnsafeBufferPointer { blockScales in
        activations.laneScales.withUnsafeBufferPointer { laneScales in
        zeroTerms.withUnsafeBufferPointer { zeroTerms in
            /// Adds the partial last block, subtracts the zero-point term and adds the bias.
            func finish(row: Int, m: Int, sum: Float) -> Float {
                let params = row * scaleStride, rowCodes = codes.baseAddress! + m * stored * blockLength
                var total = sum
                if fullBlocks < blocks {
                    total += scales[params + fullBlocks / blocksPerGroup] * blockScales[m * blocks + fullBlocks]
                        * Float(_tailDot(packed.baseAddress! + row * rowStride + fullBlocks * bytesPerBlock, rowCodes,
                                         block: fullBlocks, count: k - fullBlocks * blockLength, bits: bits, signed: signed))
                }
                total -= perTensor
                    ? scales[0] * Float(zeroPoints[0] - qmin) * zeroTerms[m]
                    : _zeroPointTerm(scales.baseAddress! + params, zeroPoints.baseAddress! + params, qmin: qmin,
                                     terms: zeroTerms.baseAddress! + m * groupsPerRow, count: groupsPerRow)
                return total + (bias?[row] ?? 0)
            }
            func operands(first: Int, m: Int) -> _Int8DotOperands {
                _Int8DotOperands(
                    weights: packed.baseAddress! + first * rowStride, activations: codes.baseAddress! + m * stored * blockLength,
                    laneScales: laneScales.baseAddress! + m * stored * 8, activationScales: blockScales.baseAddress! + m * blocks,
                    groupScales: scales.baseAddress! + first * scaleStride,
                    blocks: fullBlocks, blocksPerGroup: blocksPerGroup, signed: signed)
            }
            // Activation rows go in blocks that stay in the L2 cache while every weight tile of this
            // thread passes over them.
            let batchBlock = 64
            _parallelForRanges(itemCount: (n + rowTile - 1) / rowTile) { tiles in
                let rowRange = tiles.lowerBound * rowTile..<Swift.min(tiles.upperBound * rowTile, n)
                if batch == 1 {
                    // Four sequential weight streams, one per quarter of this thread's rows: memory
                    // prefetchers follow long streams, and the four rows still share activation loads.
                    let quarter = rowRange.count / 4
                    for first in rowRange.lowerBound..<rowRange.lowerBound + quarter {
                        let sums = dot(operands(first: first, m: 0), 4, quarter * rowStride, quarter * scaleStride)
                        for r in 0..<4 { y[first + r * quarter] = finish(row: first + r * quarter, m: 0, sum: sums[r]) }
                    }
                    for row in rowRange.lowerBound + 4 * quarter..<rowRange.upperBound {
                        y[row] = finish(row: row, m: 0, sum: dot(operands(first: row, m: 0), 1, rowStride, scaleStride)[0])
                    }
                    return
                }
                for batchStart in stride(from: 0, to: batch, by: batchBlock) {
                    let batchEnd = Swift.min(batchStart + batchBlock, batch)
                    for tile in tiles {
                        let first = tile * rowTile, count = Swift.min(rowTile, n - first)
                        var m = batchStart
                        #if SWQUANT_AVX512VNNI
                        if kernel == .avx512vnni && count == 4 && fullBlocks % 2 == 0
                            && (blocksPerGroup % 2 == 0 || blocksPerGroup >= fullBlocks) {
                            while m + 4 <= batchEnd {
                                let sums = _VNNIInt8Dot.tile(operands(first: first, m: m), bits: bits, rowStride: rowStride,
                                                             scaleStride: scaleStride, activationStride: stored * blockLength,
                                                             laneScaleStride: stored * 8)
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
        }
        }
        }
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

/// Runs a one-row kernel on each of `rows` consecutive weight rows.
@inline(__always)
func _eachRow(_ o: _Int8DotOperands, _ rows: Int, _ rowStride: Int, _ scaleStride: Int,
              _ dot: (_Int8DotOperands) -> Float) -> SIMD4<Float> {
    var sums = SIMD4<Float>()
    for r in 0..<rows {
        sums[r] = dot(_Int8DotOperands(
            weights: o.weights + r * rowStride, activations: o.activations, laneScales: o.laneScales,
            activationScales: o.activationScales, groupScales: o.groupScales + r * scaleStride,
            blocks: o.blocks, blocksPerGroup: o.blocksPerGroup, signed: o.signed))
    }
    return sums
}
