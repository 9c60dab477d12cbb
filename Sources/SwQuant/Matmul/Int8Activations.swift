/// Rows of activations quantized to int8 on the fly in blocks of 32 along the reduction dimension,
/// as ggml's q8_0: `scale = max|x| / 127` per block, `code = round_half_even(x / scale)`.
///
/// Blocks are zero-padded to 32 and rows to an even number of blocks. With `interleaved` (for 4-bit
/// weights), each pair of blocks A, B is stored as [A even, B even, A odd, B odd] (16 codes each): the
/// order in which 32 packed bytes of 4-bit weights unpack into low nibbles then high nibbles.
struct _Int8Activations {
    static let blockLength = 32

    let rows: Int
    let blocksPerRow: Int
    /// Blocks stored per row: `blocksPerRow` rounded up to even.
    let storedBlocksPerRow: Int
    let interleaved: Bool
    /// `rows * storedBlocksPerRow * 32` codes.
    var codes: [Int8]
    /// One scale per block.
    var scales: [Float]
    /// The sum of each block's codes, for zero-point corrections.
    var sums: [Int32]
    /// Per pair of blocks, the scale of each int32 lane of a 512-bit `vpdpbusd` over the pair:
    /// [A x4, B x4, A x4, B x4] when interleaved, [A x8, B x8] otherwise. `rows * pairs * 16` values.
    var laneScales: [Float]

    /// Index of element `i` of block `b` within its row's codes.
    @inline(__always)
    static func position(_ i: Int, block b: Int, interleaved: Bool) -> Int {
        interleaved ? (b >> 1) * 64 + (i & 1) * 32 + (b & 1) * 16 + (i >> 1) : b * blockLength + i
    }

    /// Quantizes `x` (`rows * cols`, row-major). Throws `.nonFinite` for NaN or infinity.
    init(_ x: UnsafePointer<Float>, rows: Int, cols: Int, interleaved: Bool) throws(QuantError) {
        let blocksPerRow = (cols + Self.blockLength - 1) / Self.blockLength
        let stored = (blocksPerRow + 1) & ~1
        let blocks = rows * blocksPerRow
        // Per stored block: 32 codes, 16 lane scales (per pair of blocks, 32 bytes a block), a scale and a sum.
        try _MemoryLimit.check(rows * stored, elementBytes: 2 * Self.blockLength + 8, for: "the int8 activations")
        var codes = [Int8](repeating: 0, count: rows * stored * Self.blockLength)
        var scales = [Float](repeating: 0, count: blocks)
        var sums = [Int32](repeating: 0, count: blocks)
        var finite = true
        codes.withUnsafeMutableBufferPointer { codes in
            scales.withUnsafeMutableBufferPointer { scales in
                sums.withUnsafeMutableBufferPointer { sums in
                    var block = [Float](repeating: 0, count: Self.blockLength)
                    for row in 0..<rows {
                        for b in 0..<blocksPerRow {
                            let start = b * Self.blockLength
                            let count = Swift.min(Self.blockLength, cols - start)
                            for i in 0..<Self.blockLength { block[i] = i < count ? x[row * cols + start + i] : 0 }
                            let index = row * blocksPerRow + b
                            let (low, high, ok) = block.withUnsafeBufferPointer { _minMax($0.baseAddress!, Self.blockLength) }
                            guard ok else {
                                finite = false
                                continue
                            }
                            let scale = _int8ActivationScale(low: low, high: high)
                            scales[index] = scale
                            var sum: Int32 = 0
                            let out = codes.baseAddress! + row * stored * Self.blockLength
                            for i in 0..<Self.blockLength {
                                let q = _int8ActivationCode(block[i], scale: scale)
                                sum += Int32(q)
                                out[Self.position(i, block: b, interleaved: interleaved)] = q
                            }
                            sums[index] = sum
                        }
                    }
                }
            }
        }
        guard finite else {
            throw QuantError(.nonFinite, "activations hold NaN or infinity; the int8 path needs finite values")
        }
        let pairs = stored / 2
        var laneScales = [Float](repeating: 0, count: rows * pairs * 16)
        for row in 0..<rows {
            for pair in 0..<pairs {
                for lane in 0..<16 {
                    let second = interleaved ? (lane / 4) & 1 : lane / 8
                    let b = 2 * pair + second
                    laneScales[(row * pairs + pair) * 16 + lane] = b < blocksPerRow ? scales[row * blocksPerRow + b] : 0
                }
            }
        }
        self.rows = rows
        self.blocksPerRow = blocksPerRow
        self.storedBlocksPerRow = stored
        self.interleaved = interleaved
        self.codes = codes
        self.scales = scales
        self.sums = sums
        self.laneScales = laneScales
    }
}

/// The scale of symmetric int8 activations with range `[low, high]`: `max|x| / 127` (1 for all zeros,
/// at least the smallest normal float), as ggml's q8_0.
@inline(__always)
func _int8ActivationScale(low: Float, high: Float) -> Float {
    let amax = Swift.max(-low, high)
    return amax == 0 ? 1 : Swift.max(amax / 127, Float.leastNormalMagnitude)
}

/// The int8 code of an activation: `roundHalfEven(x / scale)` clamped to `[-127, 127]`; NaN (a value
/// another thread changed after the finiteness check) gives 127 rather than a trapping conversion.
@inline(__always)
func _int8ActivationCode(_ x: Float, scale: Float) -> Int8 {
    let t = (x / scale).rounded(.toNearestOrEven)
    return Int8(t < 127 ? (t > -127 ? t : -127) : 127)
}
