// Layer statistics as bytes, little-endian:
//   "SWQLST01" | inFeatures u32 | count i64 | sumAbs f64[inFeatures] | sumSquares f64[inFeatures] |
//   gram f64[inFeatures * inFeatures]

extension LayerStats {
    private static let magic: [UInt8] = Array("SWQLST01".utf8)

    /// The statistics as bytes (see `init(serialized:)`).
    public func serialized() -> [UInt8] {
        var out = _ByteWriter(reservingCapacity: 20 + 8 * (2 * inFeatures + gram.count))
        out.append(Self.magic)
        out.integer(UInt32(inFeatures))
        out.integer(Int64(rowCount))
        out.f64s(sumAbs)
        out.f64s(sumSquares)
        out.f64s(gram)
        return out.bytes
    }

    /// Statistics restored from `serialized()` bytes; throws `.invalidArgument` for other bytes.
    public convenience init(serialized bytes: [UInt8]) throws(QuantError) {
        var reader = _ByteReader(bytes, what: "serialized layer statistics")
        try reader.expect(magic: Self.magic)
        let k = Int(try reader.integer(UInt32.self))
        guard k >= 1, k <= Self.maxInFeatures, reader.remaining == 8 + 8 * (2 * k + k * k) else {
            throw reader.corrupt("truncated, or not \(k) input features")
        }
        try self.init(inFeatures: k)
        let rows = try reader.integer(Int64.self)
        guard rows >= 0 else { throw reader.corrupt("negative row count") }
        rowCount = Int(rows)
        sumAbs = try reader.f64s(k)
        sumSquares = try reader.f64s(k)
        gram = try reader.f64s(k * k)
    }
}
