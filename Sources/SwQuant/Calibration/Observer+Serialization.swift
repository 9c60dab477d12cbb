// Observer state as bytes, for calibration split across processes or machines. Little-endian:
//   "SWQOBS01" | method u8 | method parameter f64 | bits u8 | symmetric u8 | axis i8 (-1: none) |
//   bins u32 | count i64 | channels u32 | minimums f32[channels] | maximums f32[channels] |
//   histograms u32 | per histogram: bin width f64 | counts i64[bins]

extension Observer {
    private static let magic: [UInt8] = Array("SWQOBS01".utf8)

    /// The observer's configuration and statistics as bytes (see `init(serialized:)`).
    public func serialized() -> [UInt8] {
        var out = _ByteWriter()
        out.bytes.append(contentsOf: Self.magic)
        let (tag, parameter) = method.encoded
        out.u8(tag)
        out.u64(parameter.bitPattern)
        out.u8(UInt8(bits))
        out.u8(symmetric ? 1 : 0)
        out.u8(UInt8(bitPattern: Int8(axis ?? -1)))
        out.u32(UInt32(bins))
        out.u64(UInt64(bitPattern: Int64(count)))
        out.u32(UInt32(minimums.count))
        for v in minimums { out.u32(v.bitPattern) }
        for v in maximums { out.u32(v.bitPattern) }
        out.u32(UInt32(histograms.count))
        for histogram in histograms {
            out.u64(histogram.binWidth.bitPattern)
            for c in histogram.counts { out.u64(UInt64(bitPattern: c)) }
        }
        return out.bytes
    }

    /// An observer restored from `serialized()` bytes; throws `.invalidArgument` for bytes that are not
    /// a complete, consistent observer state.
    public convenience init(serialized bytes: [UInt8]) throws(QuantError) {
        var reader = _ByteReader(bytes)
        guard try reader.bytes(8) == Self.magic else { throw QuantError(.invalidArgument, "not a serialized swquant observer") }
        let method = try CalibrationMethod(tag: reader.u8(), parameter: Double(bitPattern: reader.u64()))
        let bits = Int(try reader.u8()), symmetric = try reader.u8() != 0
        let axis = Int(Int8(bitPattern: try reader.u8()))
        let bins = Int(try reader.u32())
        try self.init(method: method, bits: bits, symmetric: symmetric, axis: axis < 0 ? nil : axis, bins: bins)
        let count = Int64(bitPattern: try reader.u64())
        let channels = Int(try reader.u32())
        guard count >= 0, channels <= bytes.count / 8 else { throw QuantError(.invalidArgument, "corrupt observer state") }
        var minimums = [Float](), maximums = [Float]()
        for _ in 0..<channels { minimums.append(Float(bitPattern: try reader.u32())) }
        for _ in 0..<channels { maximums.append(Float(bitPattern: try reader.u32())) }
        let histogramCount = Int(try reader.u32())
        guard histogramCount == 0 || (method.usesHistogram && histogramCount == channels),
              histogramCount * bins <= bytes.count / 8 else {
            throw QuantError(.invalidArgument, "corrupt observer histograms")
        }
        var histograms = [_Histogram]()
        for _ in 0..<histogramCount {
            let width = Double(bitPattern: try reader.u64())
            guard width >= 0, width.isFinite else { throw QuantError(.invalidArgument, "corrupt observer histogram") }
            var counts = [Int64]()
            counts.reserveCapacity(bins)
            for _ in 0..<bins { counts.append(Int64(bitPattern: try reader.u64())) }
            histograms.append(_Histogram(binWidth: width, counts: counts))
        }
        guard reader.isAtEnd, (count == 0) == (channels == 0) else { throw QuantError(.invalidArgument, "corrupt observer state") }
        self.count = Int(count)
        self.minimums = minimums
        self.maximums = maximums
        self.histograms = histograms
    }
}

extension CalibrationMethod {
    /// Tag (the C ABI's `swq_observer_method`) and parameter.
    var encoded: (UInt8, Double) {
        switch self {
        case .minMax: (0, 0)
        case .movingAverage(let momentum): (1, momentum)
        case .percentile(let p): (2, p)
        case .mse: (3, 0)
        case .entropy(let quantizedBins): (4, Double(quantizedBins))
        }
    }

    /// The method of a tag and parameter; throws `.invalidArgument` for an unknown tag.
    public init(tag: UInt8, parameter: Double) throws(QuantError) {
        switch tag {
        case 0: self = .minMax
        case 1: self = .movingAverage(momentum: parameter)
        case 2: self = .percentile(parameter)
        case 3: self = .mse
        case 4:
            guard parameter.isFinite, parameter >= 0, parameter <= 1e6 else {
                throw QuantError(.invalidArgument, "quantized bins must be a count, got \(parameter)")
            }
            self = .entropy(quantizedBins: Int(parameter))
        default: throw QuantError(.invalidArgument, "unknown observer method \(tag)")
        }
    }
}

/// Writes little-endian fields.
private struct _ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
    mutating func u64(_ v: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
}

/// Reads little-endian fields, throwing at the end of the bytes.
private struct _ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func bytes(_ n: Int) throws(QuantError) -> [UInt8] {
        guard offset + n <= bytes.count else { throw QuantError(.invalidArgument, "serialized observer is truncated") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(QuantError) -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return raw.reversed().reduce(T(0)) { ($0 << 8) | T($1) }
    }

    mutating func u8() throws(QuantError) -> UInt8 { try integer(UInt8.self) }
    mutating func u32() throws(QuantError) -> UInt32 { try integer(UInt32.self) }
    mutating func u64() throws(QuantError) -> UInt64 { try integer(UInt64.self) }
}
