// Observer state as bytes, for calibration split across processes or machines. Little-endian:
//   "SWQOBS01" | method u8 | method parameter f64 | bits u8 | symmetric u8 | axis i8 (-1: none) |
//   bins u32 | count i64 | channels u32 | minimums f32[channels] | maximums f32[channels] |
//   histograms u32 | per histogram: bin width f64 | counts i64[bins]

extension Observer {
    private static let magic: [UInt8] = Array("SWQOBS01".utf8)

    /// The observer's configuration and statistics as bytes (see `init(serialized:)`).
    public func serialized() -> [UInt8] {
        var out = _ByteWriter(reservingCapacity: 40 + 8 * minimums.count + histograms.count * 8 * (bins + 1))
        out.append(Self.magic)
        let (tag, parameter) = method.encoded
        out.u8(tag)
        out.f64(parameter)
        out.u8(UInt8(bits))
        out.u8(symmetric ? 1 : 0)
        out.integer(Int8(axis ?? -1))
        out.integer(UInt32(bins))
        out.integer(Int64(valueCount))
        out.integer(UInt32(minimums.count))
        out.f32s(minimums)
        out.f32s(maximums)
        out.integer(UInt32(histograms.count))
        for histogram in histograms {
            out.f64(histogram.binWidth)
            for c in histogram.counts { out.integer(c) }
        }
        return out.bytes
    }

    /// An observer restored from `serialized()` bytes; throws `.invalidArgument` for bytes that are not
    /// a complete, consistent observer state.
    public convenience init(serialized bytes: [UInt8]) throws(QuantError) {
        var reader = _ByteReader(bytes, what: "serialized observer")
        try reader.expect(magic: Self.magic)
        let method = try CalibrationMethod(tag: reader.u8(), parameter: reader.f64())
        let bits = Int(try reader.u8()), symmetric = try reader.u8() != 0
        let axis = Int(try reader.integer(Int8.self))
        let bins = Int(try reader.integer(UInt32.self))
        try self.init(method: method, bits: bits, symmetric: symmetric, axis: axis < 0 ? nil : axis, bins: bins)
        let valueCount = try reader.integer(Int64.self)
        let channels = try reader.checkedCount(reader.integer(UInt32.self), elementBytes: 8)
        guard valueCount >= 0 else { throw reader.corrupt("negative value count") }
        let minimums = try reader.f32s(channels)
        let maximums = try reader.f32s(channels)
        let histogramCount = try reader.checkedCount(reader.integer(UInt32.self), elementBytes: 8 * (bins + 1))
        var histograms = [_Histogram]()
        for _ in 0..<histogramCount {
            let width = try reader.f64()
            guard _Histogram.isValidWidth(width) else { throw reader.corrupt("histogram bin width \(width)") }
            let counts = try reader.integers(bins, Int64.self)
            // Every count is one of the values seen: none negative, and their sum within the value count,
            // so that no later sum can overflow.
            var total: Int64 = 0
            for c in counts {
                let (sum, overflow) = total.addingReportingOverflow(c)
                guard c >= 0, !overflow, sum <= valueCount else { throw reader.corrupt("histogram counts exceed the values seen") }
                total = sum
            }
            histograms.append(_Histogram(binWidth: width, counts: counts))
        }
        try reader.expectEnd()
        guard (valueCount == 0) == (channels == 0) else { throw reader.corrupt("value count and channels disagree") }
        guard axis >= 0 || channels <= 1 else { throw reader.corrupt("a per-tensor observer with \(channels) channels") }
        guard !method.usesHistogram || histogramCount == channels, method.usesHistogram || histogramCount == 0 else {
            throw reader.corrupt("\(histogramCount) histograms for \(channels) channels")
        }
        guard zip(minimums, maximums).allSatisfy({ $0.isFinite && $1.isFinite && $0 <= $1 }) else {
            throw reader.corrupt("ranges must be finite with minimum <= maximum")
        }
        self.valueCount = Int(valueCount)
        self.minimums = minimums
        self.maximums = maximums
        self.histograms = histograms
    }
}

extension CalibrationMethod {
    /// Tag (the C ABI's `swq_observer_method`) and parameter.
    public var encoded: (UInt8, Double) {
        switch self {
        case .minMax: (0, 0)
        case .movingAverage(let momentum): (1, momentum)
        case .percentile(let p): (2, p)
        case .mse: (3, 0)
        case .entropy(let quantizedBins): (4, Double(quantizedBins))
        }
    }

    /// The parameter each method takes when none is given, by tag (`swq_observer_method`): the moving
    /// average's momentum 0.01, the percentile 99.999 and the entropy method's 128 quantized bins
    /// (ONNX Runtime's defaults); 0 for the methods without a parameter and for unknown tags.
    public static func defaultParameter(tag: UInt8) -> Double {
        switch tag {
        case 1: 0.01
        case 2: 99.999
        case 4: 128
        default: 0
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
