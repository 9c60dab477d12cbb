import CSwQuant
import SwQuant

@c @implementation
public func swq_scheme_validate(_ scheme: UnsafePointer<swq_scheme>?) -> swq_status {
    _status { () throws(QuantError) in _ = try QuantScheme(_required(scheme, "scheme").pointee) }
}

@c @implementation
public func swq_qparams_from_range(
    _ scheme: UnsafePointer<swq_scheme>?, _ min: Float, _ max: Float,
    _ scale: UnsafeMutablePointer<Float>?, _ zeroPoint: UnsafeMutablePointer<Int32>?
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let (scale, zeroPoint) = (try _required(scale, "scale"), try _required(zeroPoint, "zero_point"))
        let params = try scheme.qparams(min: min, max: max)
        scale.pointee = params.scale
        zeroPoint.pointee = params.zeroPoint
    }
}

@c @implementation
public func swq_qparams_count(
    _ scheme: UnsafePointer<swq_scheme>?, _ rows: Int64, _ cols: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let count = try _required(count, "count")
        let shape = try _shape(rows, cols)
        count.pointee = Int64(scheme.qparamCount(rows: shape.rows, cols: shape.cols))
    }
}

@c @implementation
public func swq_compute_qparams(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ scales: UnsafeMutablePointer<Float>?, _ zeroPoints: UnsafeMutablePointer<Int32>?, _ count: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let view = try _view(data, dtype, rows, cols)
        let (scales, zeroPoints) = (try _required(scales, "scales"), try _required(zeroPoints, "zero_points"))
        let needed = scheme.qparamCount(rows: view.rows, cols: view.cols)
        guard count >= needed else {
            throw QuantError(.bufferTooSmall, "scales and zero_points hold \(count) entries, the scheme needs \(needed)")
        }
        for (i, p) in try computeQParams(view, scheme: scheme).enumerated() {
            scales[i] = p.scale
            zeroPoints[i] = p.zeroPoint
        }
    }
}

@c @implementation
public func swq_round_zero_points(
    _ scheme: UnsafePointer<swq_scheme>?, _ values: UnsafePointer<Float>?, _ zeroPoints: UnsafeMutablePointer<Int32>?, _ count: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let n = try _count(count, "count")
        let (values, zeroPoints) = (try _required(values, "values"), try _required(zeroPoints, "zero_points"))
        for i in 0..<n { zeroPoints[i] = try scheme.zeroPoint(rounding: values[i]) }
    }
}
