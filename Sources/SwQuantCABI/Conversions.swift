import CSwQuant
import SwQuant

extension QuantScheme {
    /// The Swift scheme of a C `swq_scheme`, validated.
    init(_ c: swq_scheme) throws(QuantError) {
        guard let grid = IntegerGrid(rawValue: c.grid) else {
            throw QuantError(.invalidArgument, "grid must be SWQ_GRID_UNSIGNED or SWQ_GRID_SIGNED, got \(c.grid)")
        }
        guard c.symmetric == 0 || c.symmetric == 1 else {
            throw QuantError(.invalidArgument, "symmetric must be 0 or 1, got \(c.symmetric)")
        }
        guard let storage = ScaleStorage(rawValue: c.scale_dtype) else {
            throw QuantError(.invalidArgument, "scale_dtype must be SWQ_DTYPE_F32 or SWQ_DTYPE_F16, got \(c.scale_dtype)")
        }
        let granularity: Granularity
        switch UInt32(bitPattern: c.granularity) {
        case SWQ_PER_TENSOR.rawValue: granularity = .perTensor
        case SWQ_PER_CHANNEL.rawValue: granularity = .perChannel(axis: Int(c.axis))
        case SWQ_PER_GROUP.rawValue: granularity = .perGroup(size: Int(c.group_size))
        default: throw QuantError(.invalidArgument, "granularity must be SWQ_PER_TENSOR, SWQ_PER_CHANNEL or SWQ_PER_GROUP, got \(c.granularity)")
        }
        self = try QuantScheme(bits: Int(c.bits), grid: grid, symmetric: c.symmetric == 1,
                               granularity: granularity, scaleStorage: storage).validated()
    }

    /// The C form of this scheme.
    var cValue: swq_scheme {
        var c = swq_scheme(bits: Int32(bits), grid: grid.rawValue, symmetric: symmetric ? 1 : 0,
                           granularity: 0, axis: 0, group_size: 0, scale_dtype: scaleStorage.rawValue)
        switch granularity {
        case .perTensor: c.granularity = Int32(SWQ_PER_TENSOR.rawValue)
        case .perChannel(let axis): (c.granularity, c.axis) = (Int32(SWQ_PER_CHANNEL.rawValue), Int32(axis))
        case .perGroup(let size): (c.granularity, c.group_size) = (Int32(SWQ_PER_GROUP.rawValue), Int32(size))
        }
        return c
    }
}

/// The element type of a C `swq_dtype` value.
func _elementType(_ value: Int32, _ name: StaticString) throws(QuantError) -> ElementType {
    guard let type = ElementType(rawValue: value) else {
        throw QuantError(.invalidArgument, "\(name) must be a swq_dtype value, got \(value)")
    }
    return type
}

/// A tensor view from C arguments, checking the pointer and the dimensions.
func _view(_ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64) throws(QuantError) -> TensorView {
    let base = try _required(data, "data")
    let shape = try _shape(rows, cols)
    return try TensorView(base: base, elementType: _elementType(dtype, "dtype"), rows: shape.rows, cols: shape.cols)
}

/// Positive C dimensions as `Int`: `.shape` for a zero or negative one, `.overflow` when their product
/// does not fit.
func _shape(_ rows: Int64, _ cols: Int64) throws(QuantError) -> (rows: Int, cols: Int) {
    guard rows > 0, cols > 0, let r = Int(exactly: rows), let c = Int(exactly: cols) else {
        throw QuantError(.shape, "dimensions must be positive, got [\(rows), \(cols)]")
    }
    guard !r.multipliedReportingOverflow(by: c).overflow else {
        throw QuantError(.overflow, "shape [\(rows), \(cols)] overflows the address space")
    }
    return (r, c)
}
