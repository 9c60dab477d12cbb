// The integer dot-product kernels of each tier in one table, chosen once per matmul call (ggml's
// function table): every int8 path asks the table instead of switching on the tier itself.
#if SWQUANT_AVX512VNNI
import _Builtin_intrinsics.intel
#endif

struct _Int8KernelTable {
    /// The dynamic int8 path: up to four consecutive weight rows (`rows` of them, `rowStride` bytes and
    /// `scaleStride` group scales apart) times one row of int8 activation blocks.
    typealias BlockDot = (_ operands: _Int8DotOperands, _ rows: Int, _ rowStride: Int, _ scaleStride: Int) -> SIMD4<Float>

    let tier: KernelTier
    private let blockDot4: BlockDot
    private let blockDot8: BlockDot

    init(_ tier: KernelTier) {
        self.tier = tier
        switch tier {
        #if SWQUANT_AVX512VNNI
        case .avx512vnni:
            blockDot4 = { _VNNIInt8Dot.dot4($0, rows: $1, rowStride: $2, scaleStride: $3) }
            blockDot8 = { _VNNIInt8Dot.dot8($0, rows: $1, rowStride: $2, scaleStride: $3) }
        #endif
        #if SWQUANT_NEON_DOTPROD && arch(arm64)
        case .neonDot:
            blockDot4 = { _eachRow($0, $1, $2, $3, _NEONInt8Dot.dot4) }
            blockDot8 = { _eachRow($0, $1, $2, $3, _NEONInt8Dot.dot8) }
        #endif
        #if SWQUANT_AVX2
        case .avx2:
            blockDot4 = { _eachRow($0, $1, $2, $3, _AVX2Int8Dot.dot4) }
            blockDot8 = { _eachRow($0, $1, $2, $3, _AVX2Int8Dot.dot8) }
        #endif
        case .scalar:
            blockDot4 = { _eachRow($0, $1, $2, $3, _ScalarInt8Dot.dot4) }
            blockDot8 = { _eachRow($0, $1, $2, $3, _ScalarInt8Dot.dot8) }
        default:
            blockDot4 = { _eachRow($0, $1, $2, $3, _SIMDInt8Dot.dot4) }
            blockDot8 = { _eachRow($0, $1, $2, $3, _SIMDInt8Dot.dot8) }
        }
    }

    /// The dynamic int8 kernel for 4- or 8-bit weights.
    func blockDot(bits: Int) -> BlockDot { bits == 4 ? blockDot4 : blockDot8 }

    /// `sum_i a[i] * Int8(bitPattern: w[i] ^ flip)` over `k` bytes, exact in int32 (the static and per-row
    /// paths): a method rather than a stored kernel, so that the short per-group dots stay inlined.
    @inline(__always)
    func byteDot(_ a: UnsafePointer<UInt8>, _ w: UnsafePointer<UInt8>, _ k: Int, flip: UInt8) -> Int32 {
        _u8s8Dot(a, w, k, flip: flip, kernel: tier)
    }
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
