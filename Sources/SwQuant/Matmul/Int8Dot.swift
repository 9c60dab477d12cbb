// Integer dot products of one weight row with one row of int8 activations, for the dynamic int8 path.
//
// Weights are unsigned codes u = code - qmin (a signed grid's two's complement with its top bit flipped),
// so every tier computes sum(u * a) with unsigned-by-signed products, as `vpdpbusd` does. Per group g of
// blocks b the result is s[g] * sum_b sx[b] * dot_b; the caller subtracts the zero-point term.

/// Arguments shared by every tier for one (weight row, activation row) pair.
struct _Int8DotOperands {
    /// Packed weight row: 16 bytes per block at 4 bits, 32 at 8 bits.
    let weights: UnsafePointer<UInt8>
    /// The activation row's codes (see `_Int8Activations.position` for their order).
    let activations: UnsafePointer<Int8>
    /// Per pair of blocks, the scales of the 16 lanes of a 512-bit product (`_Int8Activations.laneScales`).
    let laneScales: UnsafePointer<Float>
    /// Activation scale per block.
    let activationScales: UnsafePointer<Float>
    /// Weight scale per group.
    let groupScales: UnsafePointer<Float>
    /// Full blocks to process.
    let blocks: Int
    /// Blocks per weight group (the last group may be shorter).
    let blocksPerGroup: Int
    /// Whether codes are on a signed grid (their top bit is flipped to make them unsigned).
    let signed: Bool
}

/// The reference tier: exact integer sums per block, then float scaling.
enum _ScalarInt8Dot {
    static func dot4(_ o: _Int8DotOperands) -> Float {
        let flip: UInt8 = o.signed ? 0x08 : 0
        return _groupedSum(o) { b in
            var sum: Int32 = 0
            for i in 0..<16 {
                let byte = o.weights[b * 16 + i]
                let even = o.activations + _evenHalfOffset(b)
                sum += Int32((byte & 0x0F) ^ flip) * Int32(even[i])
                sum += Int32((byte >> 4) ^ flip) * Int32(even[32 + i])
            }
            return sum
        }
    }

    static func dot8(_ o: _Int8DotOperands) -> Float {
        let flip: UInt8 = o.signed ? 0x80 : 0
        return _groupedSum(o) { b in
            var sum: Int32 = 0
            for i in 0..<32 { sum += Int32(o.weights[b * 32 + i] ^ flip) * Int32(o.activations[b * 32 + i]) }
            return sum
        }
    }
}

/// Portable Swift SIMD tier: 16-bit products, widened and summed per block.
enum _SIMDInt8Dot {
    static func dot4(_ o: _Int8DotOperands) -> Float {
        _groupedSum(o) { b in
            let block = _nibbleBlock(o, b)
            let low = SIMD16<Int16>(truncatingIfNeeded: block.low), high = SIMD16<Int16>(truncatingIfNeeded: block.high)
            let products = low &* SIMD16<Int16>(truncatingIfNeeded: block.even) &+ high &* SIMD16<Int16>(truncatingIfNeeded: block.odd)
            return SIMD16<Int32>(truncatingIfNeeded: products).wrappedSum()
        }
    }

    static func dot8(_ o: _Int8DotOperands) -> Float {
        let flip = SIMD32<UInt8>(repeating: o.signed ? 0x80 : 0)
        return _groupedSum(o) { b in
            let codes = UnsafeRawPointer(o.weights + b * 32).loadUnaligned(as: SIMD32<UInt8>.self) ^ flip
            let activations = UnsafeRawPointer(o.activations + b * 32).loadUnaligned(as: SIMD32<Int8>.self)
            let products = SIMD32<Int32>(truncatingIfNeeded: codes) &* SIMD32<Int32>(truncatingIfNeeded: activations)
            return products.wrappedSum()
        }
    }
}

/// Where block `b`'s 16 even-element activation codes start in an interleaved row; its odd ones
/// follow 32 codes later (see `_Int8Activations.position`).
@inline(__always)
func _evenHalfOffset(_ b: Int) -> Int { (b >> 1) * 64 + (b & 1) * 16 }

/// Block `b` of a 4-bit row as 16-lane vectors: the unsigned codes of its even and odd elements (low
/// and high nibbles, a signed grid's top bit flipped) and their activation codes.
@inline(__always)
func _nibbleBlock(_ o: _Int8DotOperands, _ b: Int)
    -> (low: SIMD16<UInt8>, high: SIMD16<UInt8>, even: SIMD16<Int8>, odd: SIMD16<Int8>) {
    let flip = SIMD16<UInt8>(repeating: o.signed ? 0x08 : 0)
    let bytes = UnsafeRawPointer(o.weights + b * 16).loadUnaligned(as: SIMD16<UInt8>.self)
    let even = o.activations + _evenHalfOffset(b)
    return ((bytes & 0x0F) ^ flip, (bytes &>> 4) ^ flip,
            UnsafeRawPointer(even).loadUnaligned(as: SIMD16<Int8>.self), UnsafeRawPointer(even + 32).loadUnaligned(as: SIMD16<Int8>.self))
}

/// `sum_g groupScales[g] * sum_{b in g} activationScales[b] * blockDot(b)`, in block order.
@inline(__always)
func _groupedSum(_ o: _Int8DotOperands, _ blockDot: (Int) -> Int32) -> Float {
    var total: Float = 0
    var b = 0
    var group = 0
    while b < o.blocks {
        let end = Swift.min(b + o.blocksPerGroup, o.blocks)
        var groupSum: Float = 0
        while b < end {
            groupSum += o.activationScales[b] * Float(blockDot(b))
            b += 1
        }
        total += o.groupScales[group] * groupSum
        group += 1
    }
    return total
}
