// Little-endian fields to and from bytes: the one codec behind every serialized swquant state
// (observers, layer statistics, quantized tensors).

/// Appends little-endian fields to a growing byte array.
struct _ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func f32(_ value: Float) { integer(value.bitPattern) }
    mutating func f64(_ value: Double) { integer(value.bitPattern) }

    mutating func f32s(_ values: [Float]) { for v in values { f32(v) } }
    mutating func f64s(_ values: [Double]) { for v in values { f64(v) } }
    mutating func i32s(_ values: [Int32]) { for v in values { integer(v) } }
}

/// Reads little-endian fields from untrusted bytes. Every read is bounds-checked and throws
/// `.invalidArgument` naming `what` (for example "serialized observer") at the end of the bytes, so a
/// truncated or crafted input never reads past its end or allocates more than it holds.
struct _ByteReader {
    private let bytes: [UInt8]
    private let what: String
    private(set) var offset = 0

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    /// An error about these bytes: "`what`: `message`".
    func corrupt(_ message: String) -> QuantError { QuantError(.invalidArgument, "\(what): \(message)") }

    /// Consumes `magic`, or throws when the bytes do not start with it.
    mutating func expect(magic: [UInt8]) throws(QuantError) {
        guard remaining >= magic.count, Array(bytes[offset..<(offset + magic.count)]) == magic else {
            throw corrupt("not this kind of data (wrong magic bytes)")
        }
        offset += magic.count
    }

    /// Throws unless the bytes are fully consumed.
    func expectEnd() throws(QuantError) {
        guard isAtEnd else { throw corrupt("\(remaining) unexpected bytes at the end") }
    }

    /// `count` elements of `elementBytes` each as an Int, after checking that they fit the bytes left:
    /// the check to make before allocating for a count read from the data.
    func checkedCount<T: FixedWidthInteger>(_ count: T, elementBytes: Int) throws(QuantError) -> Int {
        guard count >= 0, let n = Int(exactly: count), n <= remaining / Swift.max(elementBytes, 1) else {
            throw corrupt("a count of \(count) exceeds the \(remaining) bytes left")
        }
        return n
    }

    mutating func raw(_ count: Int) throws(QuantError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw corrupt("truncated") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(QuantError) -> T {
        try integers(1, T.self)[0]
    }

    mutating func u8() throws(QuantError) -> UInt8 { try integer(UInt8.self) }
    mutating func f32() throws(QuantError) -> Float { Float(bitPattern: try integer(UInt32.self)) }
    mutating func f64() throws(QuantError) -> Double { Double(bitPattern: try integer(UInt64.self)) }

    /// `count` integers, the count checked against the bytes left before anything is allocated.
    mutating func integers<T: FixedWidthInteger>(_ count: Int, _: T.Type) throws(QuantError) -> [T] {
        let size = MemoryLayout<T>.size
        let n = try checkedCount(count, elementBytes: size)
        let start = offset
        offset += n * size
        return bytes.withUnsafeBytes { raw in
            (0..<n).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: start + $0 * size, as: T.self)) }
        }
    }

    mutating func f32s(_ count: Int) throws(QuantError) -> [Float] { try integers(count, UInt32.self).map(Float.init(bitPattern:)) }
    mutating func f64s(_ count: Int) throws(QuantError) -> [Double] { try integers(count, UInt64.self).map(Double.init(bitPattern:)) }
}
