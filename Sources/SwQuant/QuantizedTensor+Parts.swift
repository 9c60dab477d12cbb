// Rebuilding a quantized tensor from its parts (packed codes, scales, zero points), and its bytes:
//   "SWQQTN01" | rows i64 | cols i64 | bits u8 | grid u8 | symmetric u8 | granularity u8 (0 tensor,
//   1 channel, 2 group) | axis u8 | group size i64 | scale storage u8 (0 float32, 1 float16) |
//   packed u8[rows * rowStride] | scales f32[qparamCount] | zero points i32[qparamCount]
// Sizes follow from the header; every field is checked as `init(rows:cols:scheme:packed:scales:zeroPoints:)`
// checks its arguments.

extension QuantizedTensor {
    private static let magic: [UInt8] = Array("SWQQTN01".utf8)

    /// A tensor from parts that `packed`, `scales` and `zeroPoints` once gave (for example read back from
    /// a file). Every size is checked against the scheme and the shape: `.shape` for a packed buffer that
    /// is not `rows * rowStride` bytes or parameter arrays that are not `qparamCount` long; the padding
    /// bits after the last code of a row must be zero. `.invalidArgument` for a bad scheme, a scale that is
    /// not finite and positive (or not a float16 value under float16 storage) and a zero point off the
    /// grid (or other than the fixed one of a symmetric scheme). The result behaves exactly as the tensor
    /// the parts came from.
    public init(rows: Int, cols: Int, scheme: QuantScheme, packed: [UInt8], scales: [Float], zeroPoints: [Int32]) throws(QuantError) {
        let scheme = try scheme.validated()
        _ = try _checkedByteCount(rows: rows, cols: cols, elementBytes: 1)
        let rowStride = _BitPacking.byteCount(count: cols, bits: scheme.bits)
        let needed = try scheme.packedByteCount(rows: rows, cols: cols)
        guard packed.count == needed else {
            throw QuantError(.shape, "packed codes hold \(packed.count) bytes, [\(rows), \(cols)] at \(scheme.bits) bits needs \(needed)")
        }
        guard scales.count == zeroPoints.count else {
            throw QuantError(.shape, "\(scales.count) scales and \(zeroPoints.count) zero points: one of each per pair")
        }
        // The checks every parameter pair gets (count, finite positive scale, zero point on the grid), then
        // what stored parts must also satisfy.
        try _checkParams(zip(scales, zeroPoints).map(QuantParams.init), scheme: scheme, rows: rows, cols: cols)
        try Self._checkStoredForm(scheme: scheme, scales: scales, zeroPoints: zeroPoints)
        let usedBits = (cols * scheme.bits) % 8
        if usedBits != 0 {
            for row in 0..<rows where packed[row * rowStride + rowStride - 1] >> usedBits != 0 {
                throw QuantError(.invalidArgument, "row \(row) has nonzero padding bits after its last code")
            }
        }
        self.init(unchecked: rows, cols: cols, scheme: scheme, packed: packed, scales: scales, zeroPoints: zeroPoints)
    }

    /// Float16 storage holds float16 values only; a symmetric scheme's zero point is its fixed one.
    private static func _checkStoredForm(scheme: QuantScheme, scales: [Float], zeroPoints: [Int32]) throws(QuantError) {
        if scheme.scaleStorage == .float16, let index = scales.firstIndex(where: { Float(Float16($0)) != $0 }) {
            throw QuantError(.invalidArgument, "scale \(index) = \(scales[index]) is not a float16 value, as float16 storage needs")
        }
        if scheme.symmetric, let index = zeroPoints.firstIndex(where: { $0 != scheme.symmetricZeroPoint }) {
            throw QuantError(.invalidArgument,
                             "zero point \(index) = \(zeroPoints[index]): a symmetric scheme's is \(scheme.symmetricZeroPoint)")
        }
    }

    /// The tensor as bytes: shape, scheme, packed codes, scales and zero points (see `init(serialized:)`).
    public func serialized() -> [UInt8] {
        var out = _ByteWriter(reservingCapacity: 48 + packed.count + 8 * scales.count)
        out.append(Self.magic)
        out.integer(Int64(rows))
        out.integer(Int64(cols))
        out.u8(UInt8(scheme.bits))
        out.u8(UInt8(scheme.grid.rawValue))
        out.u8(scheme.symmetric ? 1 : 0)
        let (granularity, axis, groupSize): (UInt8, UInt8, Int) = switch scheme.granularity {
        case .perTensor: (0, 0, 0)
        case .perChannel(let axis): (1, UInt8(axis), 0)
        case .perGroup(let size): (2, 0, size)
        }
        out.u8(granularity)
        out.u8(axis)
        out.integer(Int64(groupSize))
        out.u8(UInt8(scheme.scaleStorage.rawValue))
        out.append(packed)
        out.f32s(scales)
        out.i32s(zeroPoints)
        return out.bytes
    }

    /// A tensor restored from `serialized()` bytes. Throws `.invalidArgument` for bytes that are not a
    /// complete serialized tensor, and whatever `init(rows:cols:scheme:packed:scales:zeroPoints:)`
    /// throws for parts that do not fit together.
    public init(serialized bytes: [UInt8]) throws(QuantError) {
        var reader = _ByteReader(bytes, what: "serialized quantized tensor")
        try reader.expect(magic: Self.magic)
        let rows = try reader.integer(Int64.self), cols = try reader.integer(Int64.self)
        let bits = Int(try reader.u8())
        guard let grid = IntegerGrid(rawValue: Int32(try reader.u8())) else { throw reader.corrupt("unknown grid") }
        let symmetric = try reader.u8() != 0
        let granularityTag = try reader.u8(), axis = Int(try reader.u8())
        let groupSize = try reader.integer(Int64.self)
        let granularity: Granularity
        switch granularityTag {
        case 0: granularity = .perTensor
        case 1: granularity = .perChannel(axis: axis)
        case 2:
            guard let size = Int(exactly: groupSize) else { throw reader.corrupt("group size \(groupSize)") }
            granularity = .perGroup(size: size)
        default: throw reader.corrupt("unknown granularity \(granularityTag)")
        }
        guard let storage = ScaleStorage(rawValue: Int32(try reader.u8())) else { throw reader.corrupt("unknown scale storage") }
        let scheme = try QuantScheme(bits: bits, grid: grid, symmetric: symmetric, granularity: granularity, scaleStorage: storage).validated()
        // Each row holds at least one byte of codes and a byte holds at most 4 codes, so larger dimensions
        // are corrupt, and within these bounds the products below cannot overflow.
        guard rows > 0, cols > 0, rows <= reader.remaining, cols <= 4 * reader.remaining else {
            throw reader.corrupt("shape [\(rows), \(cols)] does not fit \(reader.remaining) bytes")
        }
        let (r, c) = (Int(rows), Int(cols))
        let packed = try reader.raw(r * _BitPacking.byteCount(count: c, bits: bits))
        let count = scheme.qparamCount(rows: r, cols: c)
        let scales = try reader.f32s(count)
        let zeroPoints = try reader.integers(count, Int32.self)
        try reader.expectEnd()
        try self.init(rows: r, cols: c, scheme: scheme, packed: packed, scales: scales, zeroPoints: zeroPoints)
    }
}
