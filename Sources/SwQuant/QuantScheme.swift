/// Integer grid of the quantized codes; raw values match the C ABI's `swq_grid`.
@frozen
public enum IntegerGrid: Int32, Sendable, CaseIterable {
    /// Codes in `0 ... 2^bits - 1`.
    case unsigned = 0
    /// Codes in `-2^(bits-1) ... 2^(bits-1) - 1`, packed as bits-wide two's complement.
    case signed = 1
}

/// Which elements of a `[rows, cols]` tensor share one (scale, zero point) pair.
@frozen
public enum Granularity: Sendable, Hashable {
    /// One pair for the whole tensor.
    case perTensor
    /// One pair per row (`axis: 0`, output channels) or per column (`axis: 1`).
    case perChannel(axis: Int)
    /// One pair per run of `size` elements along each row. When `size` does not divide `cols`, the
    /// last group of every row is shorter (`cols % size` elements), e.g. 576 = 4 x 128 + 64.
    case perGroup(size: Int)
}

/// How scales are stored; raw values match the `swq_dtype` values the C ABI accepts for scales.
@frozen
public enum ScaleStorage: Int32, Sendable, CaseIterable {
    case float32 = 0
    /// Scales rounded up to the next float16 value, so the range they cover never shrinks.
    case float16 = 1

    @inlinable
    public var bitCount: Int { self == .float32 ? 32 : 16 }
}

/// A linear quantization scheme.
///
/// `q = clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax)` and `x' = (q - zeroPoint) * scale`.
///
/// - Symmetric: the zero point is fixed (0 on a signed grid, `2^(bits-1)` on an unsigned grid) and
///   `scale = max|x| / (2^(bits-1) - 1)`.
/// - Affine (asymmetric): `[min, max]` is widened to contain 0 so that 0 is exact, then
///   `scale = (max - min) / (2^bits - 1)` and `zeroPoint = qmin - roundHalfEven(min / scale)`.
///
/// A range of width 0 (an all-zero group) gets scale 1; scales are never below
/// `Float.leastNormalMagnitude`, so tiny and denormal inputs keep an invertible scale.
///
/// ```swift
/// let int4 = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128))
/// ```
@frozen
public struct QuantScheme: Sendable, Hashable {
    public var bits: Int
    public var grid: IntegerGrid
    public var symmetric: Bool
    public var granularity: Granularity
    public var scaleStorage: ScaleStorage

    /// A scheme; `grid` defaults to signed for symmetric schemes and unsigned for affine ones.
    public init(
        bits: Int = 8, grid: IntegerGrid? = nil, symmetric: Bool = true,
        granularity: Granularity = .perTensor, scaleStorage: ScaleStorage = .float32
    ) {
        self.bits = bits
        self.grid = grid ?? (symmetric ? .signed : .unsigned)
        self.symmetric = symmetric
        self.granularity = granularity
        self.scaleStorage = scaleStorage
    }

    /// The scheme itself if every field is in range, else a thrown `.invalidArgument` error.
    public func validated() throws(QuantError) -> QuantScheme {
        guard (2...8).contains(bits) else {
            throw QuantError(.invalidArgument, "bits must be between 2 and 8, got \(bits)")
        }
        switch granularity {
        case .perTensor: break
        case .perChannel(let axis):
            guard axis == 0 || axis == 1 else {
                throw QuantError(.invalidArgument, "per-channel axis must be 0 (rows) or 1 (columns), got \(axis)")
            }
        case .perGroup(let size):
            guard size >= 1 else {
                throw QuantError(.invalidArgument, "group size must be at least 1, got \(size)")
            }
        }
        return self
    }

    /// Smallest code of the grid.
    @inlinable
    public var qmin: Int32 { grid == .signed ? -(1 << Int32(bits - 1)) : 0 }

    /// Largest code of the grid.
    @inlinable
    public var qmax: Int32 { grid == .signed ? (1 << Int32(bits - 1)) - 1 : (1 << Int32(bits)) - 1 }

    /// The zero point of a symmetric scheme: 0 on a signed grid, `2^(bits-1)` on an unsigned one.
    @inlinable
    public var symmetricZeroPoint: Int32 { grid == .signed ? 0 : 1 << Int32(bits - 1) }

    /// Number of (scale, zero point) pairs for a `[rows, cols]` tensor.
    @inlinable
    public func qparamCount(rows: Int, cols: Int) -> Int {
        switch granularity {
        case .perTensor: return 1
        case .perChannel(let axis): return axis == 0 ? rows : cols
        case .perGroup(let size): return rows * groupsPerRow(cols: cols, size: size)
        }
    }

    /// Bytes of the packed codes of a `[rows, cols]` tensor: rows of `ceil(cols * bits / 8)` bytes (see
    /// `QuantizedTensor.packed`). Throws `.overflow` when the size does not fit `Int`.
    public func packedByteCount(rows: Int, cols: Int) throws(QuantError) -> Int {
        let (rowBits, overflow) = cols.multipliedReportingOverflow(by: bits)
        guard !overflow else { throw QuantError(.overflow, "[\(rows), \(cols)] at \(bits) bits overflows the address space") }
        let (total, overflowTotal) = rows.multipliedReportingOverflow(by: rowBits / 8 + (rowBits % 8 == 0 ? 0 : 1))
        guard !overflowTotal else { throw QuantError(.overflow, "[\(rows), \(cols)] at \(bits) bits overflows the address space") }
        return total
    }

    /// Groups in a row of `cols` elements; the last one is shorter when `size` does not divide `cols`.
    @inlinable
    func groupsPerRow(cols: Int, size: Int) -> Int { cols / size + (cols % size == 0 ? 0 : 1) }  // no overflow for any size
}
