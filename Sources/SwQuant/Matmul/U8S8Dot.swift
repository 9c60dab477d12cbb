// The exact uint8-by-int8 dot product shared by the static int8 GEMM and the per-row dynamic int8 path.
#if SWQUANT_AVX512VNNI
import _Builtin_intrinsics.intel
#endif

/// `sum_k a[k] * Int8(bitPattern: w[k] ^ flip)` for uint8 activations and int8 weights, exact in int32.
@inline(__always)
func _u8s8Dot(_ a: UnsafePointer<UInt8>, _ w: UnsafePointer<UInt8>, _ k: Int, flip: UInt8, kernel: KernelTier) -> Int32 {
    var i = 0
    var sum: Int32 = 0
    #if SWQUANT_AVX512VNNI
    if kernel == .avx512vnni {
        var acc = _mm512_setzero_si512()
        let flips = _mm512_set1_epi8(Int8(bitPattern: flip))
        while i + 64 <= k {
            acc = _mm512_dpbusd_epi32(acc, _load512(a + i), _mm512_xor_si512(_load512(w + i), flips))
            i += 64
        }
        sum = unsafeBitCast(acc, to: SIMD16<Int32>.self).wrappedSum()
    }
    #endif
    if kernel >= .simd {
        let flips = SIMD32<UInt8>(repeating: flip)
        var acc = SIMD32<Int32>()
        while i + 32 <= k {
            let av = SIMD32<Int32>(truncatingIfNeeded: UnsafeRawPointer(a + i).loadUnaligned(as: SIMD32<UInt8>.self))
            let wv = SIMD32<Int32>(truncatingIfNeeded: SIMD32<Int8>(truncatingIfNeeded: UnsafeRawPointer(w + i).loadUnaligned(as: SIMD32<UInt8>.self) ^ flips))
            acc &+= av &* wv
            i += 32
        }
        sum &+= acc.wrappedSum()
    }
    while i < k {
        sum &+= Int32(a[i]) * Int32(Int8(bitPattern: w[i] ^ flip))
        i += 1
    }
    return sum
}
