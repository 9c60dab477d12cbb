/// Rows of activations quantized to int8 on the fly in blocks of 32 along the reduction dimension,
/// as ggml's q8_0: `scale = max|x| / 127` per block, `code = round_half_even(x / scale)`.
///
/// Blocks are zero-padded to 32. With `interleaved`, each block stores its 16 even elements then its
/// 16 odd ones, the order in which a block of 4-bit weights unpacks (low nibbles, then high).
struct _Int8Activations {
    static let blockLength = 32

    let rows: Int
    let blocksPerRow: Int
    /// `rows * blocksPerRow * 32` codes.
    var codes: [Int8]
    /// One scale per block.
    var scales: [Float]
    /// The sum of each block's codes, for zero-point corrections.
    var sums: [Int32]

    /// Quantizes `x` (`rows * cols`, row-major). Throws `.nonFinite` for NaN or infinity.
    init(_ x: UnsafePointer<Float>, rows: Int, cols: Int, interleaved: Bool) throws(QuantError) {
        let blocksPerRow = (cols + Self.blockLength - 1) / Self.blockLength
        let blocks = rows * blocksPerRow
        var codes = [Int8](repeating: 0, count: blocks * Self.blockLength)
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
                            let amax = Swift.max(-low, high)
                            let scale = amax == 0 ? 1 : Swift.max(amax / 127, Float.leastNormalMagnitude)
                            scales[index] = scale
                            var sum: Int32 = 0
                            let out = codes.baseAddress! + index * Self.blockLength
                            for i in 0..<Self.blockLength {
                                let q = Int8(Swift.max(Swift.min((block[i] / scale).rounded(.toNearestOrEven), 127), -127))
                                sum += Int32(q)
                                out[interleaved ? (i & 1) * 16 + i / 2 : i] = q
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
        self.rows = rows
        self.blocksPerRow = blocksPerRow
        self.codes = codes
        self.scales = scales
        self.sums = sums
    }

    /// The dequantized activations (`rows * cols`), for references and tests.
    func dequantized(cols: Int, interleaved: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for row in 0..<rows {
            for c in 0..<cols {
                let b = c / Self.blockLength, i = c % Self.blockLength
                let index = row * blocksPerRow + b
                out[row * cols + c] = Float(codes[index * Self.blockLength + (interleaved ? (i & 1) * 16 + i / 2 : i)]) * scales[index]
            }
        }
        return out
    }
}
