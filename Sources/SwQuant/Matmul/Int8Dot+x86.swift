// x86 tiers of the int8 dot products, compiled only into builds for CPUs that have them (CMake's
// SWQUANT_NATIVE defines SWQUANT_AVX2 / SWQUANT_AVX512VNNI after checking this machine's CPU).
#if SWQUANT_AVX2 || SWQUANT_AVX512VNNI
import _Builtin_intrinsics.intel

/// Per block: 32 unsigned codes times 32 int8 activations, as 8 int32 partial sums; the float
/// accumulation runs in 8 lanes and is reduced once per row.
@inline(__always)
func _vectorGroupedSum(_ o: _Int8DotOperands, _ blockDot: (Int) -> __m256i) -> Float {
    var total = _mm256_setzero_ps()
    var b = 0
    var group = 0
    while b < o.blocks {
        let end = Swift.min(b + o.blocksPerGroup, o.blocks)
        var groupSum = _mm256_setzero_ps()
        while b < end {
            groupSum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(blockDot(b)), _mm256_set1_ps(o.activationScales[b]), groupSum)
            b += 1
        }
        total = _mm256_fmadd_ps(groupSum, _mm256_set1_ps(o.groupScales[group]), total)
        group += 1
    }
    let lanes = total  // __m256 is SIMD8<Float>
    let four = lanes.lowHalf + lanes.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// 16 packed bytes of 4-bit codes as 32 unsigned bytes: low nibbles, then high nibbles.
@inline(__always)
func _unpackNibbles(_ pointer: UnsafePointer<UInt8>, flip: __m128i) -> __m256i {
    let bytes = _load128(pointer)
    let mask = _mm_set1_epi8(0x0F)
    let low = _mm_xor_si128(_mm_and_si128(bytes, mask), flip)
    let high = _mm_xor_si128(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), flip)
    return _mm256_set_m128i(high, low)
}

/// Block `b`'s 32 activation codes in the order `_unpackNibbles` gives its weights: even, then odd.
@inline(__always)
func _interleavedActivations(_ o: _Int8DotOperands, _ b: Int) -> __m256i {
    let even = o.activations + _evenHalfOffset(b)
    return _mm256_set_m128i(_load128(even + 32), _load128(even))
}

/// 16 unaligned bytes as a vector (the header's load intrinsics want typed pointers).
@inline(__always)
func _load128<T>(_ pointer: UnsafePointer<T>) -> __m128i { UnsafeRawPointer(pointer).loadUnaligned(as: __m128i.self) }

/// 32 unaligned bytes as a vector.
@inline(__always)
func _load256<T>(_ pointer: UnsafePointer<T>) -> __m256i { UnsafeRawPointer(pointer).loadUnaligned(as: __m256i.self) }
#endif

#if SWQUANT_AVX2
/// AVX2 tier: `vpmaddubsw` (u8 x s8 -> s16 pairs, no saturation for 4-bit codes) then `vpmaddwd`.
enum _AVX2Int8Dot {
    static func dot4(_ o: _Int8DotOperands) -> Float {
        let flip = _mm_set1_epi8(o.signed ? 0x08 : 0)
        let ones = _mm256_set1_epi16(1)
        return _vectorGroupedSum(o) { b in
            let codes = _unpackNibbles(o.weights + b * 16, flip: flip)
            return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, _interleavedActivations(o, b)), ones)
        }
    }

    /// 8-bit codes reach 255 * 127 * 2, beyond `vpmaddubsw`'s int16: widen to int16 and use `vpmaddwd`.
    static func dot8(_ o: _Int8DotOperands) -> Float {
        let flip = _mm_set1_epi8(o.signed ? -128 : 0)
        return _vectorGroupedSum(o) { b in
            let w = o.weights + b * 32, a = o.activations + b * 32
            let low = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_xor_si128(_load128(w), flip)),
                                        _mm256_cvtepi8_epi16(_load128(a)))
            let high = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_xor_si128(_load128(w + 16), flip)),
                                         _mm256_cvtepi8_epi16(_load128(a + 16)))
            return _mm256_add_epi32(low, high)
        }
    }
}
#endif

#if SWQUANT_AVX512VNNI
/// AVX512-VNNI tier: `vpdpbusd` (u8 x s8, four products summed per int32 lane) on 512-bit vectors
/// covering two blocks at once, each int32 lane scaled by its block's activation scale; a block
/// without a partner in its group takes the 256-bit form. Up to four weight rows go together,
/// sharing the activation loads and giving four independent accumulation chains.
enum _VNNIInt8Dot {
    static func dot4(_ o: _Int8DotOperands, rows: Int, rowStride: Int, scaleStride: Int) -> SIMD4<Float> {
        let flip128 = _mm_set1_epi8(o.signed ? 0x08 : 0)
        return sums(o, bits: 4, rows: rows, rowStride: rowStride, scaleStride: scaleStride,
                    pairActivations: { b in _load512(o.activations + (b >> 1) * 64) }, single: { r, b in
            let codes = _unpackNibbles(o.weights + r * rowStride + b * 16, flip: flip128)
            return _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), codes, _interleavedActivations(o, b))  // the unmasked form is a C macro
        })
    }

    static func dot8(_ o: _Int8DotOperands, rows: Int, rowStride: Int, scaleStride: Int) -> SIMD4<Float> {
        let flip256 = _mm256_set1_epi8(o.signed ? -128 : 0)
        return sums(o, bits: 8, rows: rows, rowStride: rowStride, scaleStride: scaleStride,
                    pairActivations: { b in _load512(o.activations + b * 32) }, single: { r, b in
            let codes = _mm256_xor_si256(_load256(o.weights + r * rowStride + b * 32), flip256)
            return _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), codes, _load256(o.activations + b * 32))
        })
    }

    /// Up to four rows' sums: pairs of blocks per group when groups hold an even number of blocks (or
    /// the whole row), else pairs and lone blocks (`_pairedGroupedSums`).
    @inline(__always)
    static func sums(_ o: _Int8DotOperands, bits: Int, rows: Int, rowStride: Int, scaleStride: Int,
                     pairActivations: (Int) -> __m512i, single: (Int, Int) -> __m256i) -> SIMD4<Float> {
        let pair = { (r: Int, b: Int, activations: __m512i) in
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), pairCodes(o, bits: bits, row: r, rowStride: rowStride, block: b), activations)
        }
        if o.blocksPerGroup % 2 == 0 || o.blocksPerGroup >= o.blocks {
            return _pairedRowSums(o, rows: rows, scaleStride: scaleStride,
                                  laneBlocks: bits == 4 ? _interleavedLaneBlocks : _consecutiveLaneBlocks,
                                  pair: pair, pairActivations: pairActivations, single: single)
        }
        return _pairedGroupedSums(o, rows: rows, scaleStride: scaleStride, pair: pair, pairActivations: pairActivations, single: single)
    }
}

extension _VNNIInt8Dot {
    /// Codes of weight row `r`, blocks b and b + 1, as 64 unsigned bytes in the activations' order.
    @inline(__always)
    static func pairCodes(_ o: _Int8DotOperands, bits: Int, row r: Int, rowStride: Int, block b: Int) -> __m512i {
        if bits == 4 {  // low nibbles of the 32 bytes, then high nibbles (__m512i is SIMD8<Int64>)
            let bytes = _load256(o.weights + r * rowStride + b * 16)
            let nibbles = SIMD8<Int64>(lowHalf: bytes, highHalf: _mm256_srli_epi16(bytes, 4))
            return _mm512_and_si512(_mm512_xor_si512(nibbles, _mm512_set1_epi8(o.signed ? 0x08 : 0)), _mm512_set1_epi8(0x0F))
        }
        return _mm512_xor_si512(_load512(o.weights + r * rowStride + b * 32), _mm512_set1_epi8(o.signed ? -128 : 0))
    }

    /// A 4 x 4 tile of a batch: four weight rows (from `o.weights`) times four activation rows (from
    /// `o.activations` and `o.laneScales`, `activationStride` codes and `laneScaleStride` scales apart),
    /// for groups of an even number of blocks or whole rows and an even number of full blocks. Each
    /// unpacked weight pair feeds four products and each activation load four rows. Returns the sums
    /// by activation row.
    static func tile(_ o: _Int8DotOperands, bits: Int, rowStride: Int, scaleStride: Int,
                     activationStride: Int, laneScaleStride: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        var rows = (_TileRow(), _TileRow(), _TileRow(), _TileRow())
        var scale = (_mm512_set1_ps(o.groupScales[0]), _mm512_set1_ps(o.groupScales[scaleStride]),
                     _mm512_set1_ps(o.groupScales[2 * scaleStride]), _mm512_set1_ps(o.groupScales[3 * scaleStride]))
        var group = 0, left = o.blocksPerGroup
        let singleGroup = o.blocksPerGroup >= o.blocks
        var b = 0
        while b + 1 < o.blocks {
            let offset = (b >> 1) * 64  // activation codes per pair, in either layout
            let a = (_load512(o.activations + offset), _load512(o.activations + activationStride + offset),
                     _load512(o.activations + 2 * activationStride + offset), _load512(o.activations + 3 * activationStride + offset))
            let lanes = o.laneScales + (b >> 1) * 16
            let l = (UnsafeRawPointer(lanes).loadUnaligned(as: __m512.self),
                     UnsafeRawPointer(lanes + laneScaleStride).loadUnaligned(as: __m512.self),
                     UnsafeRawPointer(lanes + 2 * laneScaleStride).loadUnaligned(as: __m512.self),
                     UnsafeRawPointer(lanes + 3 * laneScaleStride).loadUnaligned(as: __m512.self))
            if singleGroup {  // one scale per row: applied once at the end
                rows.0.add(pairCodes(o, bits: bits, row: 0, rowStride: rowStride, block: b), a, l)
                rows.1.add(pairCodes(o, bits: bits, row: 1, rowStride: rowStride, block: b), a, l)
                rows.2.add(pairCodes(o, bits: bits, row: 2, rowStride: rowStride, block: b), a, l)
                rows.3.add(pairCodes(o, bits: bits, row: 3, rowStride: rowStride, block: b), a, l)
            } else {
                rows.0.add(pairCodes(o, bits: bits, row: 0, rowStride: rowStride, block: b), a, _scaled(l, scale.0))
                rows.1.add(pairCodes(o, bits: bits, row: 1, rowStride: rowStride, block: b), a, _scaled(l, scale.1))
                rows.2.add(pairCodes(o, bits: bits, row: 2, rowStride: rowStride, block: b), a, _scaled(l, scale.2))
                rows.3.add(pairCodes(o, bits: bits, row: 3, rowStride: rowStride, block: b), a, _scaled(l, scale.3))
            }
            b += 2
            left -= 2
            if left == 0 && b < o.blocks {
                group += 1
                left = o.blocksPerGroup
                scale = (_mm512_set1_ps(o.groupScales[group]), _mm512_set1_ps(o.groupScales[scaleStride + group]),
                         _mm512_set1_ps(o.groupScales[2 * scaleStride + group]), _mm512_set1_ps(o.groupScales[3 * scaleStride + group]))
            }
        }
        var r = (rows.0.sums, rows.1.sums, rows.2.sums, rows.3.sums)
        if singleGroup {
            r.0 *= o.groupScales[0]
            r.1 *= o.groupScales[scaleStride]
            r.2 *= o.groupScales[2 * scaleStride]
            r.3 *= o.groupScales[3 * scaleStride]
        }
        return (SIMD4(r.0[0], r.1[0], r.2[0], r.3[0]), SIMD4(r.0[1], r.1[1], r.2[1], r.3[1]),
                SIMD4(r.0[2], r.1[2], r.2[2], r.3[2]), SIMD4(r.0[3], r.1[3], r.2[3], r.3[3]))
    }
}

/// Four lane-scale vectors times one weight group scale.
@inline(__always)
func _scaled(_ l: (__m512, __m512, __m512, __m512), _ g: __m512) -> (__m512, __m512, __m512, __m512) {
    (_mm512_mul_ps(l.0, g), _mm512_mul_ps(l.1, g), _mm512_mul_ps(l.2, g), _mm512_mul_ps(l.3, g))
}

/// One weight row's four accumulators in a 4 x 4 tile.
struct _TileRow {
    var sum = (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps())

    /// Adds the products of one pair of weight blocks with four activation rows, each int32 lane
    /// scaled by `l` (the activation block's scale, times the weight group's when groups vary).
    @inline(__always)
    mutating func add(_ codes: __m512i, _ a: (__m512i, __m512i, __m512i, __m512i), _ l: (__m512, __m512, __m512, __m512)) {
        let zero = _mm512_setzero_si512()
        sum.0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, codes, a.0)), l.0, sum.0)
        sum.1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, codes, a.1)), l.1, sum.1)
        sum.2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, codes, a.2)), l.2, sum.2)
        sum.3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, codes, a.3)), l.3, sum.3)
    }

    var sums: SIMD4<Float> {
        let zero = _mm256_setzero_ps()
        return SIMD4(_reduce(sum.0, zero), _reduce(sum.1, zero), _reduce(sum.2, zero), _reduce(sum.3, zero))
    }
}

/// Float accumulators of up to four weight rows (`rows`; the unused ones stay 0), 16 lanes each: the
/// pair sums that `_pairedGroupedSums` and `_pairedRowSums` share.
struct _FourRowLanes {
    var sum = (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps())

    /// Adds row r's int32 lanes `product(r)` times `scales`, for each row.
    @inline(__always)
    mutating func add(rows: Int, scales: __m512, _ product: (Int) -> __m512i) {
        sum.0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(product(0)), scales, sum.0)
        if rows > 1 { sum.1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(product(1)), scales, sum.1) }
        if rows > 2 { sum.2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(product(2)), scales, sum.2) }
        if rows > 3 { sum.3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(product(3)), scales, sum.3) }
    }

    /// Adds a group's lanes times each row's weight scale for the group (`g[r * scaleStride]`).
    @inline(__always)
    mutating func add(rows: Int, group: _FourRowLanes, scales g: UnsafePointer<Float>, scaleStride: Int) {
        sum.0 = _mm512_fmadd_ps(group.sum.0, _mm512_set1_ps(g[0]), sum.0)
        if rows > 1 { sum.1 = _mm512_fmadd_ps(group.sum.1, _mm512_set1_ps(g[scaleStride]), sum.1) }
        if rows > 2 { sum.2 = _mm512_fmadd_ps(group.sum.2, _mm512_set1_ps(g[2 * scaleStride]), sum.2) }
        if rows > 3 { sum.3 = _mm512_fmadd_ps(group.sum.3, _mm512_set1_ps(g[3 * scaleStride]), sum.3) }
    }

    /// Each row's total with 8 more lanes.
    @inline(__always)
    func reduced(with narrow: (__m256, __m256, __m256, __m256)) -> SIMD4<Float> {
        SIMD4(_reduce(sum.0, narrow.0), _reduce(sum.1, narrow.1), _reduce(sum.2, narrow.2), _reduce(sum.3, narrow.3))
    }
}

/// `_groupedSum` for up to four weight rows (`rows`; unused rows give 0): pairs of blocks
/// (`pair(r, b, activations)` for blocks b, b + 1 with b even, 16 lanes) and lone blocks
/// (`single(r, b)`, 8 lanes), accumulated in float lanes and reduced once per row.
@inline(__always)
func _pairedGroupedSums(
    _ o: _Int8DotOperands, rows: Int, scaleStride: Int, pair: (Int, Int, __m512i) -> __m512i,
    pairActivations: (Int) -> __m512i, single: (Int, Int) -> __m256i
) -> SIMD4<Float> {
    var total = _FourRowLanes()
    var totalSingle = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    var b = 0
    var group = 0
    while b < o.blocks {
        let end = Swift.min(b + o.blocksPerGroup, o.blocks)
        var sum = _FourRowLanes()
        while b + 1 < end && b & 1 == 0 {
            let scales = UnsafeRawPointer(o.laneScales + (b >> 1) * 16).loadUnaligned(as: __m512.self)
            let activations = pairActivations(b)
            sum.add(rows: rows, scales: scales) { pair($0, b, activations) }
            b += 2
        }
        var sumSingle = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
        while b < end {
            let scale = _mm256_set1_ps(o.activationScales[b])
            sumSingle.0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(single(0, b)), scale, sumSingle.0)
            if rows > 1 { sumSingle.1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(single(1, b)), scale, sumSingle.1) }
            if rows > 2 { sumSingle.2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(single(2, b)), scale, sumSingle.2) }
            if rows > 3 { sumSingle.3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(single(3, b)), scale, sumSingle.3) }
            b += 1
        }
        let g = o.groupScales + group
        total.add(rows: rows, group: sum, scales: g, scaleStride: scaleStride)
        totalSingle.0 = _mm256_fmadd_ps(sumSingle.0, _mm256_set1_ps(g[0]), totalSingle.0)
        if rows > 1 { totalSingle.1 = _mm256_fmadd_ps(sumSingle.1, _mm256_set1_ps(g[scaleStride]), totalSingle.1) }
        if rows > 2 { totalSingle.2 = _mm256_fmadd_ps(sumSingle.2, _mm256_set1_ps(g[2 * scaleStride]), totalSingle.2) }
        if rows > 3 { totalSingle.3 = _mm256_fmadd_ps(sumSingle.3, _mm256_set1_ps(g[3 * scaleStride]), totalSingle.3) }
        group += 1
    }
    return total.reduced(with: totalSingle)
}

/// `_groupedSum` for up to four weight rows whose groups hold an even number of blocks (or the whole
/// row): each pair of blocks is scaled per lane by its activation blocks' scales, broadcast from the
/// per-block scales (which, unlike `laneScales`, stay in L1 beside the codes for rows of any length)
/// and shared by the rows; each group's sum then takes its weight scale. The lone blocks of
/// `_pairedGroupedSums` stay out of this loop: they cost it speed on groups of 128.
@inline(__always)
func _pairedRowSums(
    _ o: _Int8DotOperands, rows: Int, scaleStride: Int, laneBlocks: __m512i, pair: (Int, Int, __m512i) -> __m512i,
    pairActivations: (Int) -> __m512i, single: (Int, Int) -> __m256i
) -> SIMD4<Float> {
    var total = _FourRowLanes()
    var lone = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    var b = 0, group = 0
    while b < o.blocks {
        let end = Swift.min(b + o.blocksPerGroup, o.blocks)
        var sum = _FourRowLanes()
        while b + 1 < end {
            let pairScales = _mm512_castpd_ps(_mm512_set1_pd(UnsafeRawPointer(o.activationScales + b).loadUnaligned(as: Double.self)))
            let scales = _mm512_permutexvar_ps(laneBlocks, pairScales)
            let activations = pairActivations(b)
            sum.add(rows: rows, scales: scales) { pair($0, b, activations) }
            b += 2
        }
        let g = o.groupScales + group
        total.add(rows: rows, group: sum, scales: g, scaleStride: scaleStride)
        if b < end {  // an odd last block, in the last group
            let scale = o.activationScales[b]
            lone.0 = _mm256_mul_ps(_mm256_cvtepi32_ps(single(0, b)), _mm256_set1_ps(scale * g[0]))
            if rows > 1 { lone.1 = _mm256_mul_ps(_mm256_cvtepi32_ps(single(1, b)), _mm256_set1_ps(scale * g[scaleStride])) }
            if rows > 2 { lone.2 = _mm256_mul_ps(_mm256_cvtepi32_ps(single(2, b)), _mm256_set1_ps(scale * g[2 * scaleStride])) }
            if rows > 3 { lone.3 = _mm256_mul_ps(_mm256_cvtepi32_ps(single(3, b)), _mm256_set1_ps(scale * g[3 * scaleStride])) }
            b += 1
        }
        group += 1
    }
    return total.reduced(with: lone)
}

/// For each lane of a `vpdpbusd` over a pair of blocks, which block (0 or 1) it sums: the lane
/// pattern of `_Int8Activations.laneScales`, as `vpermps` indices into the pair's two scales.
let _consecutiveLaneBlocks = unsafeBitCast(SIMD16<Int32>(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), to: __m512i.self)
let _interleavedLaneBlocks = unsafeBitCast(SIMD16<Int32>(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1), to: __m512i.self)

/// The sum of the 16 + 8 lanes of two accumulators.
@inline(__always)
func _reduce(_ wide: __m512, _ narrow: __m256) -> Float {
    let eight = wide.lowHalf + wide.highHalf + narrow  // __m512 and __m256 are SIMD16<Float> and SIMD8<Float>
    let four = eight.lowHalf + eight.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// 64 unaligned bytes as a vector.
@inline(__always)
func _load512<T>(_ pointer: UnsafePointer<T>) -> __m512i { UnsafeRawPointer(pointer).loadUnaligned(as: __m512i.self) }
#endif
