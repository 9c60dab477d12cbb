#if SWQUANT_AVX512VNNI
import _Builtin_intrinsics.intel

extension QuantizedTensor {
    /// The per-row dynamic int8 path on AVX512-VNNI, lanes over output channels. Each work item unpacks 32
    /// weight rows once into an interleaved layout: for every 4 codes along k, 16 rows x 4 bytes fill one
    /// 64-byte vector, so one `vpdpbusd` multiplies 4 codes of 16 rows by 4 codes of one activation row
    /// (broadcast). Sums stay in int32 across a whole group; then each group adds, per lane, its weight
    /// scale times the sum minus its zero-point term, `sw_g * dot_g - sw_g (z_g - qmin) asum_g`. Whole
    /// groups of integer work per float update keep the kernel on `vpdpbusd` rather than on conversions.
    func _int8RowMatmulVNNI(_ x: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?,
                            into y: UnsafeMutablePointer<Float>) throws(QuantError) {
        let (n, k) = (rows, cols)
        let layout = _ParamLayout(scheme, cols: k)
        let (group, groups) = _rowPathGroups
        // Each group padded to a multiple of 4 codes (zero activation codes): `steps` vectors of 4 per row.
        let steps = (group + 3) / 4, groupStride = steps * 4, padded = groups * groupStride
        let activations = try _RowInt8Activations(x, rows: batch, cols: k, group: group, groupStride: groupStride)
        let bits = scheme.bits, perTensor = layout.perTensor
        // Signed codes become unsigned (code - qmin) by flipping their top bit, in each of 4 bytes.
        let flips: UInt32 = scheme.grid == .signed ? UInt32(1 << (bits - 1)) * 0x0101_0101 : 0
        let scaledZeros = _scaledZeroPoints
        let itemRows = _ColumnTile.rows, batchTile = _ColumnTile.batch
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        scaledZeros.withUnsafeBufferPointer { scaledZeros in
        activations.codes.withUnsafeBufferPointer { codes in
        activations.groupSums.withUnsafeBufferPointer { groupSums in
            _parallelForRanges(itemCount: (n + itemRows - 1) / itemRows) { items in
                // [groups][steps][32 rows][4 codes], and per group the 32 rows' scales and zero-point terms.
                let weights = UnsafeMutablePointer<UInt8>.allocate(capacity: itemRows * padded)
                let groupScales = UnsafeMutablePointer<Float>.allocate(capacity: groups * itemRows)
                let groupZeros = UnsafeMutablePointer<Float>.allocate(capacity: groups * itemRows)
                // The item's codes row by row, groups padded to groupStride (the padding meets zero
                // activation codes; rows past the tensor's end give outputs that are never stored). Rows
                // are a cache line further apart than their length so that the 32 rows' lines read
                // together do not share one L1 set (k = 4096 would put them 4 KB apart).
                let rowPitch = padded + 64
                let rowCodes = UnsafeMutablePointer<UInt8>.allocate(capacity: itemRows * rowPitch)
                rowCodes.initialize(repeating: 0, count: itemRows * rowPitch)
                let unpacked = UnsafeMutablePointer<UInt8>.allocate(capacity: k + 64)
                // The last activation rows of a batch that is not a multiple of 4, padded with zero rows.
                let partialCodes = UnsafeMutablePointer<Int8>.allocate(capacity: batchTile * padded)
                let partialSums = UnsafeMutablePointer<Float>.allocate(capacity: batchTile * groups)
                let sums = UnsafeMutablePointer<Float>.allocate(capacity: batchTile * itemRows)
                defer {
                    weights.deallocate(); groupScales.deallocate(); groupZeros.deallocate(); rowCodes.deallocate()
                    unpacked.deallocate(); partialCodes.deallocate(); partialSums.deallocate(); sums.deallocate()
                }
                for item in items {
                    let first = item * itemRows, count = Swift.min(itemRows, n - first)
                    groupScales.initialize(repeating: 0, count: groups * itemRows)
                    groupZeros.initialize(repeating: 0, count: groups * itemRows)
                    for r in 0..<count {
                        _BitPacking.unpack(packed.baseAddress! + (first + r) * rowStride, count: k, bits: bits, into: unpacked)
                        for g in 0..<groups {
                            (rowCodes + r * rowPitch + g * groupStride).update(from: unpacked + g * group, count: Swift.min(group, k - g * group))
                            let param = perTensor ? 0 : (first + r) * groups + g
                            groupScales[g * itemRows + r] = scales[param]
                            groupZeros[g * itemRows + r] = scaledZeros[param]
                        }
                    }
                    // Interleave: 4 codes of each of the 32 rows per 128 bytes. The 32 rows' current cache
                    // lines stay in L1 while the stores run sequentially.
                    var target = UnsafeMutableRawPointer(weights)
                    for step in 0..<(padded / 4) {
                        var source = UnsafeRawPointer(rowCodes + 4 * step)
                        for _ in 0..<itemRows {
                            target.storeBytes(of: source.loadUnaligned(as: UInt32.self) ^ flips, as: UInt32.self)
                            source += rowPitch
                            target += 4
                        }
                    }
                    var m = 0
                    while m < batch {
                        let ms = Swift.min(batchTile, batch - m)
                        var tileCodes = codes.baseAddress! + m * padded, tileSums = groupSums.baseAddress! + m * groups
                        if ms < batchTile {
                            partialCodes.initialize(repeating: 0, count: batchTile * padded)
                            partialCodes.update(from: tileCodes, count: ms * padded)
                            partialSums.initialize(repeating: 0, count: batchTile * groups)
                            partialSums.update(from: tileSums, count: ms * groups)
                            (tileCodes, tileSums) = (UnsafePointer(partialCodes), UnsafePointer(partialSums))
                        }
                        _ColumnTile.run(weights, steps: steps, groups: groups, activations: tileCodes, padded: padded,
                                        groupSums: tileSums, groupScales: groupScales, groupZeros: groupZeros, into: sums)
                        for i in 0..<ms {
                            let scale = activations.scales[m + i], output = y + (m + i) * n + first
                            for r in 0..<count { output[r] = scale * sums[i * itemRows + r] + (bias?[first + r] ?? 0) }
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

/// The kernel tile of `_int8RowMatmulVNNI`: 32 weight rows (two vectors of 16 lanes) by 4 activation rows,
/// 8 int32 accumulators and 8 float totals in registers.
enum _ColumnTile {
    static let rows = 32, batch = 4

    /// `sums[i * 32 + r]`: weight row r times activation row i, in units of the activation scale.
    /// `weights` is the interleaved item, `activations` 4 rows of `padded` codes, `groupSums` their 4 rows
    /// of `groups` code sums, `groupScales` and `groupZeros` `[groups][32]`.
    @inline(__always)
    static func run(_ weights: UnsafePointer<UInt8>, steps: Int, groups: Int, activations: UnsafePointer<Int8>, padded: Int,
                    groupSums: UnsafePointer<Float>, groupScales: UnsafePointer<Float>, groupZeros: UnsafePointer<Float>,
                    into sums: UnsafeMutablePointer<Float>) {
        var low = _Totals(), high = _Totals()
        var w = weights
        for g in 0..<groups {
            var lowDots = _Accumulators(), highDots = _Accumulators()
            var a = activations + g * steps * 4
            for _ in 0..<steps {
                let codes = (broadcast(a), broadcast(a + padded), broadcast(a + 2 * padded), broadcast(a + 3 * padded))
                lowDots.add(_load512(w), codes)
                highDots.add(_load512(w + 64), codes)
                w += 128
                a += 4
            }
            let codeSums = (_mm512_set1_ps(groupSums[g]), _mm512_set1_ps(groupSums[groups + g]),
                            _mm512_set1_ps(groupSums[2 * groups + g]), _mm512_set1_ps(groupSums[3 * groups + g]))
            let params = g * rows
            low.add(lowDots, scales: load(groupScales + params), zeros: load(groupZeros + params), codeSums: codeSums)
            high.add(highDots, scales: load(groupScales + params + 16), zeros: load(groupZeros + params + 16), codeSums: codeSums)
        }
        low.store(sums, stride: rows)
        high.store(sums + 16, stride: rows)
    }

    /// Four consecutive int8 codes in every 32-bit lane.
    @inline(__always)
    static func broadcast(_ codes: UnsafePointer<Int8>) -> __m512i {
        _mm512_set1_epi32(Int32(bitPattern: UnsafeRawPointer(codes).loadUnaligned(as: UInt32.self)))
    }

    @inline(__always)
    static func load(_ values: UnsafePointer<Float>) -> __m512 { UnsafeRawPointer(values).loadUnaligned(as: __m512.self) }

    /// 16 weight rows' int32 sums against 4 activation rows.
    struct _Accumulators {
        var sum = (_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512())

        @inline(__always)
        mutating func add(_ w: __m512i, _ a: (__m512i, __m512i, __m512i, __m512i)) {
            sum.0 = _mm512_dpbusd_epi32(sum.0, w, a.0)
            sum.1 = _mm512_dpbusd_epi32(sum.1, w, a.1)
            sum.2 = _mm512_dpbusd_epi32(sum.2, w, a.2)
            sum.3 = _mm512_dpbusd_epi32(sum.3, w, a.3)
        }
    }

    /// 16 weight rows' float totals against 4 activation rows.
    struct _Totals {
        var sum = (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps())

        /// Adds a group: `scale * dot - zero * codeSum` per lane.
        @inline(__always)
        mutating func add(_ dots: _Accumulators, scales: __m512, zeros: __m512, codeSums: (__m512, __m512, __m512, __m512)) {
            sum.0 = _mm512_fnmadd_ps(zeros, codeSums.0, _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots.sum.0), scales, sum.0))
            sum.1 = _mm512_fnmadd_ps(zeros, codeSums.1, _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots.sum.1), scales, sum.1))
            sum.2 = _mm512_fnmadd_ps(zeros, codeSums.2, _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots.sum.2), scales, sum.2))
            sum.3 = _mm512_fnmadd_ps(zeros, codeSums.3, _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots.sum.3), scales, sum.3))
        }

        @inline(__always)
        func store(_ target: UnsafeMutablePointer<Float>, stride: Int) {
            UnsafeMutableRawPointer(target).storeBytes(of: sum.0, as: __m512.self)
            UnsafeMutableRawPointer(target + stride).storeBytes(of: sum.1, as: __m512.self)
            UnsafeMutableRawPointer(target + 2 * stride).storeBytes(of: sum.2, as: __m512.self)
            UnsafeMutableRawPointer(target + 3 * stride).storeBytes(of: sum.3, as: __m512.self)
        }
    }
}
#endif
