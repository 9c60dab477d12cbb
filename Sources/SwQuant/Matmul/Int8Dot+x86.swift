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
    let lanes = unsafeBitCast(total, to: SIMD8<Float>.self)
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
            let activations = _load256(o.activations + b * 32)
            return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, activations), ones)
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
/// AVX512-VNNI tier: `vpdpbusd` on 256-bit vectors (u8 x s8, four products summed per int32 lane).
enum _VNNIInt8Dot {
    static func dot4(_ o: _Int8DotOperands) -> Float {
        let flip = _mm_set1_epi8(o.signed ? 0x08 : 0)
        return _vectorGroupedSum(o) { b in
            let codes = _unpackNibbles(o.weights + b * 16, flip: flip)
            let activations = _load256(o.activations + b * 32)
            return _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), codes, activations)  // the unmasked form is a C macro
        }
    }

    static func dot8(_ o: _Int8DotOperands) -> Float {
        let flip = _mm256_set1_epi8(o.signed ? -128 : 0)
        return _vectorGroupedSum(o) { b in
            let codes = _mm256_xor_si256(_load256(o.weights + b * 32), flip)
            let activations = _load256(o.activations + b * 32)
            return _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), codes, activations)  // the unmasked form is a C macro
        }
    }
}
#endif
