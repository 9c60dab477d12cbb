// Layer statistics as bytes, little-endian:
//   "SWQLST01" | inFeatures u32 | count i64 | sumAbs f64[inFeatures] | sumSquares f64[inFeatures] |
//   gram f64[inFeatures * inFeatures]

extension LayerStats {
    private static let magic: [UInt8] = Array("SWQLST01".utf8)

    /// The statistics as bytes (see `init(serialized:)`).
    public func serialized() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(8 + 12 + 8 * (2 * inFeatures + gram.count))
        func append(_ value: UInt64, bytes: Int) {
            for shift in stride(from: 0, to: bytes * 8, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        append(UInt64(inFeatures), bytes: 4)
        append(UInt64(bitPattern: Int64(count)), bytes: 8)
        for v in sumAbs { append(v.bitPattern, bytes: 8) }
        for v in sumSquares { append(v.bitPattern, bytes: 8) }
        for v in gram { append(v.bitPattern, bytes: 8) }
        return out
    }

    /// Statistics restored from `serialized()` bytes; throws `.invalidArgument` for other bytes.
    public convenience init(serialized bytes: [UInt8]) throws(QuantError) {
        guard bytes.count >= 20, Array(bytes[0..<8]) == Self.magic else {
            throw QuantError(.invalidArgument, "not serialized swquant layer statistics")
        }
        var offset = 8
        func read(_ count: Int) -> UInt64 {
            defer { offset += count }
            return (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << UInt64(8 * $1) }
        }
        let k = Int(read(4))
        guard k >= 1, k <= 65_536, bytes.count == 20 + 8 * (2 * k + k * k) else {
            throw QuantError(.invalidArgument, "serialized layer statistics are truncated or corrupt")
        }
        try self.init(inFeatures: k)
        let rows = Int64(bitPattern: read(8))
        guard rows >= 0 else { throw QuantError(.invalidArgument, "corrupt layer statistics") }
        count = Int(rows)
        sumAbs = (0..<k).map { _ in Double(bitPattern: read(8)) }
        sumSquares = (0..<k).map { _ in Double(bitPattern: read(8)) }
        gram = (0..<(k * k)).map { _ in Double(bitPattern: read(8)) }
    }
}
