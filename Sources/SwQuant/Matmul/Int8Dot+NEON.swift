// The arm64 tier of the dynamic int8 path's dot products, compiled only into arm64 builds for CPUs
// with the ARMv8.2 dot-product extension (`SWQUANT_NEON_DOTPROD`, with `-Xcc -march=armv8.2-a+dotprod`
// or a CPU that has it; Linux reports it as `asimddp`).
#if SWQUANT_NEON_DOTPROD && arch(arm64)
import _Builtin_intrinsics.arm.neon

/// NEON tier: `sdot` (four int8 products summed per int32 lane) on 16 codes at a time, reduced per
/// block, so that its float scaling is the scalar tier's, in the same order.
///
/// `sdot` multiplies signed bytes. Unsigned 4-bit codes (0...15) are signed bytes as they are; an
/// unsigned 8-bit code u is the signed byte u - 128 (its top bit flipped), and `u * a = (u - 128) * a
/// + 128 * a` puts back 128 times the block's activation sum.
enum _NEONInt8Dot {
    static func dot4(_ o: _Int8DotOperands) -> Float {
        _groupedSum(o) { b in
            let block = _nibbleBlock(o, b)
            let low = SIMD16<Int8>(truncatingIfNeeded: block.low), high = SIMD16<Int8>(truncatingIfNeeded: block.high)
            return vaddvq_s32(vdotq_s32(vdotq_s32(vdupq_n_s32(0), low, block.even), high, block.odd))
        }
    }

    static func dot8(_ o: _Int8DotOperands) -> Float {
        // A signed grid's two's complement code c has u = c + 128: it is already u - 128.
        let flip = SIMD16<UInt8>(repeating: o.signed ? 0 : 0x80)
        let ones = SIMD16<Int8>(repeating: 1)
        return _groupedSum(o) { b in
            var products = vdupq_n_s32(0), sums = vdupq_n_s32(0)
            for half in 0..<2 {
                let bytes = UnsafeRawPointer(o.weights + b * 32 + half * 16).loadUnaligned(as: SIMD16<UInt8>.self)
                let activations = UnsafeRawPointer(o.activations + b * 32 + half * 16).loadUnaligned(as: SIMD16<Int8>.self)
                products = vdotq_s32(products, SIMD16<Int8>(truncatingIfNeeded: bytes ^ flip), activations)
                sums = vdotq_s32(sums, ones, activations)
            }
            return vaddvq_s32(products) &+ 128 &* vaddvq_s32(sums)
        }
    }
}
#endif
