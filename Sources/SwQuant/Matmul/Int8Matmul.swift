extension QuantizedTensor {
    /// The dynamic int8 path (see `MatmulPath.dynamicInt8`): activations to int8 per block of 32, then
    /// per weight row and activation row `sum_g s_g * sum_b sx_b * (dot_b - z'_g * xsum_b)`, where
    /// `z' = zeroPoint - qmin` matches the unsigned codes the kernels see.
    func _int8Matmul(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                     kernel: KernelPath) throws(QuantError) {
        let bits = scheme.bits, (n, k) = (rows, cols)
        let blockLength = _Int8Activations.blockLength
        let activations = try _Int8Activations(x, rows: batch, cols: k, interleaved: bits == 4)
        let blocks = activations.blocksPerRow, fullBlocks = k / blockLength
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
        let dot: (_Int8DotOperands) -> Float
        switch (kernel, bits) {
        #if SWQUANT_AVX512VNNI
        case (.avx512vnni, 4): dot = _VNNIInt8Dot.dot4
        case (.avx512vnni, _): dot = _VNNIInt8Dot.dot8
        #endif
        #if SWQUANT_AVX2
        case (.avx2, 4): dot = _AVX2Int8Dot.dot4
        case (.avx2, _): dot = _AVX2Int8Dot.dot8
        #endif
        case (.scalar, 4): dot = _ScalarInt8Dot.dot4
        case (.scalar, _): dot = _ScalarInt8Dot.dot8
        case (_, 4): dot = _SIMDInt8Dot.dot4
        default: dot = _SIMDInt8Dot.dot8
        }
        let signed = scheme.grid == .signed, qmin = scheme.qmin, perTensor = layout.perTensor
        let bytesPerBlock = blockLength * bits / 8
        let rowTile = 8
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        zeroPoints.withUnsafeBufferPointer { zeroPoints in
        activations.codes.withUnsafeBufferPointer { codes in
        activations.scales.withUnsafeBufferPointer { blockScales in
        zeroTerms.withUnsafeBufferPointer { zeroTerms in
            _parallelForRanges(itemCount: (n + rowTile - 1) / rowTile) { tiles in
                for row in (tiles.lowerBound * rowTile)..<Swift.min(tiles.upperBound * rowTile, n) {
                    let params = perTensor ? 0 : row * groupsPerRow
                    let weights = packed.baseAddress! + row * rowStride
                    for m in 0..<batch {
                        let operands = _Int8DotOperands(
                            weights: weights, activations: codes.baseAddress! + m * blocks * blockLength,
                            activationScales: blockScales.baseAddress! + m * blocks, groupScales: scales.baseAddress! + params,
                            blocks: fullBlocks, blocksPerGroup: blocksPerGroup, signed: signed)
                        var total = dot(operands)
                        if fullBlocks < blocks {
                            total += scales[params + fullBlocks / blocksPerGroup] * blockScales[m * blocks + fullBlocks]
                                * Float(_tailDot(weights + fullBlocks * bytesPerBlock, codes.baseAddress! + (m * blocks + fullBlocks) * blockLength,
                                                 count: k - fullBlocks * blockLength, bits: bits, signed: signed))
                        }
                        for g in 0..<groupsPerRow {
                            total -= scales[params + (perTensor ? 0 : g)] * Float(zeroPoints[params + (perTensor ? 0 : g)] - qmin) * zeroTerms[m * groupsPerRow + g]
                        }
                        y[m * n + row] = total + (bias?[row] ?? 0)
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

/// Integer dot product of a partial block (`count` < 32 elements) of unsigned weight codes with its
/// activation codes, reading only the weight bytes that exist.
func _tailDot(_ weights: UnsafePointer<UInt8>, _ activations: UnsafePointer<Int8>, count: Int, bits: Int, signed: Bool) -> Int32 {
    var sum: Int32 = 0
    for i in 0..<count {
        let code: UInt8
        if bits == 4 {
            let byte = weights[i / 2]
            code = ((i & 1 == 0 ? byte & 0x0F : byte >> 4)) ^ (signed ? 0x08 : 0)
            sum += Int32(code) * Int32(activations[(i & 1) * 16 + i / 2])
        } else {
            code = weights[i] ^ (signed ? 0x80 : 0)
            sum += Int32(code) * Int32(activations[i])
        }
    }
    return sum
}
