// Dequantization of ggml's K-quants, as ggml-quants.c's `dequantize_row_qN_K`.

extension _GGMLKQuants {
    static func dequantize(_ type: GGMLType, _ blocks: UnsafePointer<UInt8>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        let bytes = type.traits.blockBytes
        for block in 0..<(n / 256) {
            let b = blocks + bytes * block, o = out + 256 * block
            switch type {
            case .q2_K: dequantizeQ2K(b, o)
            case .q3_K: dequantizeQ3K(b, o)
            case .q4_K, .q5_K: dequantizeQ45K(b, o, fiveBit: type == .q5_K)
            default: dequantizeQ6K(b, o)
            }
        }
    }

    private static func dequantizeQ2K(_ b: UnsafePointer<UInt8>, _ o: UnsafeMutablePointer<Float>) {
        let d = _loadHalf(b, 80), dmin = _loadHalf(b, 82)
        var scale = 0, y = o
        for half in 0..<2 {
            let q = b + 16 + 32 * half
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let sc = b[scale]
                    scale += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 { y[l] = dl * Float((q[16 * part + l] >> UInt8(shift)) & 3) - ml }
                    y += 16
                }
            }
        }
    }

    private static func dequantizeQ3K(_ b: UnsafePointer<UInt8>, _ o: UnsafeMutablePointer<Float>) {
        let d = _loadHalf(b, 108), hmask = b, packed = b + 96
        var scale = 0, y = o, bit: UInt8 = 1
        for half in 0..<2 {
            let q = b + 32 + 32 * half
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let dl = d * Float(_scaleQ3K(scale, packed))
                    scale += 1
                    for l in 0..<16 {
                        let low = Int((q[16 * part + l] >> UInt8(shift)) & 3)
                        y[l] = dl * Float(low - (hmask[16 * part + l] & bit != 0 ? 0 : 4))
                    }
                    y += 16
                }
                bit = bit << 1
            }
        }
    }

    private static func dequantizeQ45K(_ b: UnsafePointer<UInt8>, _ o: UnsafeMutablePointer<Float>, fiveBit: Bool) {
        let d = _loadHalf(b, 0), dmin = _loadHalf(b, 2), packed = b + 4
        let qh = b + 16, ql = b + (fiveBit ? 48 : 16)
        var y = o, u1: UInt8 = 1, u2: UInt8 = 2
        for chunk in 0..<4 {
            let (sc1, m1) = _scaleMinK4(2 * chunk, packed), (sc2, m2) = _scaleMinK4(2 * chunk + 1, packed)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1), d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let q = ql + 32 * chunk
            for l in 0..<32 {
                let high = fiveBit && qh[l] & u1 != 0 ? 16 : 0
                y[l] = d1 * Float(Int(q[l] & 0xF) + high) - min1
            }
            for l in 0..<32 {
                let high = fiveBit && qh[l] & u2 != 0 ? 16 : 0
                y[32 + l] = d2 * Float(Int(q[l] >> 4) + high) - min2
            }
            y += 64
            u1 = u1 << 2
            u2 = u2 << 2
        }
    }

    private static func dequantizeQ6K(_ b: UnsafePointer<UInt8>, _ o: UnsafeMutablePointer<Float>) {
        let d = _loadHalf(b, 208)
        for half in 0..<2 {
            let ql = b + 64 * half, qh = b + 128 + 32 * half, sc = b + 192 + 8 * half, y = o + 128 * half
            @inline(__always) func scale(_ i: Int) -> Float { Float(Int8(bitPattern: sc[i])) }
            for l in 0..<32 {
                let s = l / 16
                let q1 = Int(ql[l] & 0xF | ((qh[l] >> 0) & 3) << 4) - 32
                let q2 = Int(ql[l + 32] & 0xF | ((qh[l] >> 2) & 3) << 4) - 32
                let q3 = Int(ql[l] >> 4 | ((qh[l] >> 4) & 3) << 4) - 32
                let q4 = Int(ql[l + 32] >> 4 | ((qh[l] >> 6) & 3) << 4) - 32
                y[l] = d * scale(s) * Float(q1)
                y[l + 32] = d * scale(s + 2) * Float(q2)
                y[l + 64] = d * scale(s + 4) * Float(q3)
                y[l + 96] = d * scale(s + 6) * Float(q4)
            }
        }
    }
}
