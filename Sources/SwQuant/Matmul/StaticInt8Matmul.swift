#if SWQUANT_AVX512VNNI
import _Builtin_intrinsics.intel
#endif

/// What `QuantizedTensor.staticInt8Matmul` writes.
public enum StaticInt8Output {
    /// The exact int32 sums `sum_k (a - za) * (w - zw)`, `[batch, rows]`.
    case int32(UnsafeMutablePointer<Int32>)
    /// `y = sa * sw[n] * acc (+ bias[n])` in float32.
    case float(UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?)
    /// `clamp(round_half_even(y / outputScale) + outputZeroPoint, 0, 255)` as uint8, with y as for `.float`.
    case uint8(UnsafeMutablePointer<UInt8>, bias: UnsafePointer<Float>?, outputScale: Float, outputZeroPoint: Int32)
}

extension QuantizedTensor {
    /// Static int8 GEMM in the gemmlowp formulation, for activations quantized with calibrated ranges:
    /// `acc[m, n] = sum_k (a[m, k] - aZeroPoint) * (w[n, k] - wZeroPoint[n])` in exact int32 arithmetic,
    /// then written as int32, dequantized to float32 (`aScale * wScale[n] * acc + bias`) or requantized to
    /// uint8. `a` is uint8 `[batch, cols]`; the weights must be 8-bit, per tensor or per row.
    ///
    /// The integer sums are exact, so every kernel tier and thread count gives the same bits.
    /// K must stay below 2^31 / (255 * 255) = 33,025 elements, so that the sums cannot overflow int32.
    public func staticInt8Matmul(
        _ a: UnsafePointer<UInt8>, batch: Int, aScale: Float, aZeroPoint: Int32, output: StaticInt8Output
    ) throws(QuantError) {
        guard scheme.bits == 8, scheme.granularity == .perTensor || scheme.granularity == .perChannel(axis: 0) else {
            throw QuantError(.invalidArgument, "static int8 matmul needs 8-bit weights quantized per tensor or per row")
        }
        guard batch > 0 else { throw QuantError(.shape, "batch must be positive, got \(batch)") }
        guard cols < 33_025 else {
            throw QuantError(.overflow, "k = \(cols) could overflow the int32 sums; at most 33,024 columns")
        }
        guard (0...255).contains(aZeroPoint) else {
            throw QuantError(.invalidArgument, "the activation zero point must be in [0, 255], got \(aZeroPoint)")
        }
        guard aScale.isFinite, aScale > 0 else {
            throw QuantError(.invalidArgument, "the activation scale must be finite and positive, got \(aScale)")
        }
        if case .uint8(_, _, let outputScale, let outputZeroPoint) = output {
            guard outputScale.isFinite, outputScale > 0, (0...255).contains(outputZeroPoint) else {
                throw QuantError(.invalidArgument, "the output scale must be finite and positive and its zero point in [0, 255]")
            }
        }
        let (n, k) = (rows, cols)
        let perTensor = scheme.granularity == .perTensor
        // Signed codes w' = w - 128 for an unsigned grid (flip the top bit), with the zero point moved alike.
        let shift: Int32 = scheme.grid == .unsigned ? 128 : 0
        let flip: UInt8 = scheme.grid == .unsigned ? 0x80 : 0
        // Row sums of the activations, and (per tile, while its rows are in cache) of the signed weight
        // codes, through the same dot kernel.
        let kernels = _Int8KernelTable(KernelTier.active)
        let ones = [UInt8](repeating: 1, count: k)
        var activationSums = [Int32](repeating: 0, count: batch)
        ones.withUnsafeBufferPointer { ones in
            for m in 0..<batch { activationSums[m] = kernels.byteDot(a + m * k, ones.baseAddress!, k, flip: 0) }
        }
        packed.withUnsafeBufferPointer { packed in
        scales.withUnsafeBufferPointer { scales in
        zeroPoints.withUnsafeBufferPointer { zeroPoints in
        ones.withUnsafeBufferPointer { ones in
        activationSums.withUnsafeBufferPointer { activationSums in
            _parallelForRanges(itemCount: (n + 3) / 4) { tiles in
                for tile in tiles {
                    let first = tile * 4, count = Swift.min(4, n - first)
                    var weightSums = SIMD4<Int32>()
                    for r in 0..<count {
                        weightSums[r] = kernels.byteDot(ones.baseAddress!, packed.baseAddress! + (first + r) * k, k, flip: flip)
                    }
                    var m = 0
                    var tileDots = [Int32](repeating: 0, count: 16)
                    while m < batch {
                        let tileRows = Swift.min(4, batch - m)
                        #if SWQUANT_AVX512VNNI
                        if kernels.tier == .avx512vnni && count == 4 && tileRows == 4 {
                            _u8s8Tile(a + m * k, packed.baseAddress! + first * k, k, flip: flip, into: &tileDots)
                        } else {
                            for i in 0..<tileRows { for r in 0..<count { tileDots[4 * i + r] = kernels.byteDot(a + (m + i) * k, packed.baseAddress! + (first + r) * k, k, flip: flip) } }
                        }
                        #else
                        for i in 0..<tileRows { for r in 0..<count { tileDots[4 * i + r] = kernels.byteDot(a + (m + i) * k, packed.baseAddress! + (first + r) * k, k, flip: flip) } }
                        #endif
                        for i in 0..<tileRows {
                        for r in 0..<count {
                            let row = first + r
                            let dot = tileDots[4 * i + r]
                            let zw = zeroPoints[perTensor ? 0 : row] - shift
                            // sum (a - za)(w' - zw) = sum a w' - za sum w' - zw sum a + k za zw
                            let acc = dot &- aZeroPoint &* weightSums[r] &- zw &* activationSums[m + i] &+ Int32(k) &* aZeroPoint &* zw
                            let index = (m + i) * n + row
                            switch output {
                            case .int32(let out):
                                out[index] = acc
                            case .float(let out, let bias):
                                out[index] = aScale * scales[perTensor ? 0 : row] * Float(acc) + (bias?[row] ?? 0)
                            case .uint8(let out, let bias, let outputScale, let outputZeroPoint):
                                let y = aScale * scales[perTensor ? 0 : row] * Float(acc) + (bias?[row] ?? 0)
                                let q = (y / outputScale).rounded(.toNearestOrEven) + Float(outputZeroPoint)
                                out[index] = UInt8(Swift.max(0, Swift.min(255, q.isNaN ? 0 : q)))
                            }
                        }
                        }
                        m += tileRows
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

#if SWQUANT_AVX512VNNI
/// `_u8s8Dot` for four activation rows (`a`, `k` apart) times four weight rows (`w`, `k` apart):
/// sixteen int32 accumulators, each 64-byte load feeding four `vpdpbusd`. `dots[4 * i + r]` receives
/// activation row i times weight row r.
@inline(__always)
func _u8s8Tile(_ a: UnsafePointer<UInt8>, _ w: UnsafePointer<UInt8>, _ k: Int, flip: UInt8, into dots: inout [Int32]) {
    let flips = _mm512_set1_epi8(Int8(bitPattern: flip))
    var acc = (_TileInt32(), _TileInt32(), _TileInt32(), _TileInt32())
    var i = 0
    while i + 64 <= k {
        let w0 = _mm512_xor_si512(_load512(w + i), flips), w1 = _mm512_xor_si512(_load512(w + k + i), flips)
        let w2 = _mm512_xor_si512(_load512(w + 2 * k + i), flips), w3 = _mm512_xor_si512(_load512(w + 3 * k + i), flips)
        acc.0.add(_load512(a + i), w0, w1, w2, w3)
        acc.1.add(_load512(a + k + i), w0, w1, w2, w3)
        acc.2.add(_load512(a + 2 * k + i), w0, w1, w2, w3)
        acc.3.add(_load512(a + 3 * k + i), w0, w1, w2, w3)
        i += 64
    }
    let rows = [acc.0, acc.1, acc.2, acc.3]
    for m in 0..<4 {
        let sums = rows[m].sums
        for r in 0..<4 {
            var sum = sums[r]
            for j in i..<k { sum &+= Int32(a[m * k + j]) * Int32(Int8(bitPattern: w[r * k + j] ^ flip)) }
            dots[4 * m + r] = sum
        }
    }
}

/// One activation row's int32 accumulators against four weight rows.
struct _TileInt32 {
    var sum = (_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512())

    @inline(__always)
    mutating func add(_ a: __m512i, _ w0: __m512i, _ w1: __m512i, _ w2: __m512i, _ w3: __m512i) {
        sum.0 = _mm512_dpbusd_epi32(sum.0, a, w0)
        sum.1 = _mm512_dpbusd_epi32(sum.1, a, w1)
        sum.2 = _mm512_dpbusd_epi32(sum.2, a, w2)
        sum.3 = _mm512_dpbusd_epi32(sum.3, a, w3)
    }

    var sums: SIMD4<Int32> {
        SIMD4(unsafeBitCast(sum.0, to: SIMD16<Int32>.self).wrappedSum(), unsafeBitCast(sum.1, to: SIMD16<Int32>.self).wrappedSum(),
              unsafeBitCast(sum.2, to: SIMD16<Int32>.self).wrappedSum(), unsafeBitCast(sum.3, to: SIMD16<Int32>.self).wrappedSum())
    }
}
#endif
