/// Dense bit packing of quantization codes.
///
/// Layout (the public contract, see `QuantizedTensor.packed`): element `j` of a packed run occupies
/// bits `[j * bits, (j + 1) * bits)` of the run read as a little-endian bit stream, where bit `k` is
/// bit `k % 8` of byte `k / 8`. At 4 bits element `2i` is the low nibble of byte `i`. Unused high bits
/// of the last byte are zero.
enum _BitPacking {
    /// Bytes needed for `count` codes of `bits` bits.
    @inline(__always)
    static func byteCount(count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }

    /// Packs the low `bits` bits of `codes[0..<count]` into `out`.
    static func pack(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int, into out: UnsafeMutablePointer<UInt8>) {
        switch bits {
        case 8: out.update(from: codes, count: count)
        case 4: packNibbles(codes, count: count, into: out)
        default: packBitStream(codes, count: count, bits: bits, into: out)
        }
    }

    /// Unpacks `count` codes of `bits` bits into bytes (zero-extended).
    static func unpack(_ packed: UnsafePointer<UInt8>, count: Int, bits: Int, into codes: UnsafeMutablePointer<UInt8>) {
        switch bits {
        case 8: codes.update(from: packed, count: count)
        case 4: unpackNibbles(packed, count: count, into: codes)
        default: unpackBitStream(packed, count: count, bits: bits, into: codes)
        }
    }

    @inline(__always)
    private static func packNibbles(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<UInt8>) {
        var i = 0
        while i + 32 <= count {
            let pair = UnsafeRawPointer(codes + i).loadUnaligned(as: SIMD32<UInt8>.self)
            let byte = (pair.evenHalf & 0x0F) | (pair.oddHalf &<< 4)
            UnsafeMutableRawPointer(out + i / 2).storeBytes(of: byte, as: SIMD16<UInt8>.self)
            i += 32
        }
        while i + 2 <= count {
            out[i / 2] = (codes[i] & 0x0F) | (codes[i + 1] &<< 4)
            i += 2
        }
        if i < count { out[i / 2] = codes[i] & 0x0F }
    }

    @inline(__always)
    private static func unpackNibbles(_ packed: UnsafePointer<UInt8>, count: Int, into codes: UnsafeMutablePointer<UInt8>) {
        let pairs = count / 2
        var i = 0
        while i + 16 <= pairs {
            let bytes = UnsafeRawPointer(packed + i).loadUnaligned(as: SIMD16<UInt8>.self)
            var interleaved = SIMD32<UInt8>()
            interleaved.evenHalf = bytes & 0x0F
            interleaved.oddHalf = bytes &>> 4
            UnsafeMutableRawPointer(codes + 2 * i).storeBytes(of: interleaved, as: SIMD32<UInt8>.self)
            i += 16
        }
        for i in i..<pairs {
            let byte = packed[i]
            codes[2 * i] = byte & 0x0F
            codes[2 * i + 1] = byte &>> 4
        }
        if count & 1 == 1 { codes[count - 1] = packed[pairs] & 0x0F }
    }

    private static func packBitStream(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int, into out: UnsafeMutablePointer<UInt8>) {
        let mask = UInt64((1 << bits) - 1)
        var accumulator: UInt64 = 0
        var filled = 0
        var written = 0
        for i in 0..<count {
            accumulator |= (UInt64(codes[i]) & mask) << UInt64(filled)
            filled += bits
            while filled >= 8 {
                out[written] = UInt8(truncatingIfNeeded: accumulator)
                accumulator >>= 8
                filled -= 8
                written += 1
            }
        }
        if filled > 0 { out[written] = UInt8(truncatingIfNeeded: accumulator) }
    }

    private static func unpackBitStream(_ packed: UnsafePointer<UInt8>, count: Int, bits: Int, into codes: UnsafeMutablePointer<UInt8>) {
        let mask = UInt64((1 << bits) - 1)
        var accumulator: UInt64 = 0
        var available = 0
        var read = 0
        for i in 0..<count {
            while available < bits {
                accumulator |= UInt64(packed[read]) << UInt64(available)
                read += 1
                available += 8
            }
            codes[i] = UInt8(truncatingIfNeeded: accumulator & mask)
            accumulator >>= UInt64(bits)
            available -= bits
        }
    }
}
