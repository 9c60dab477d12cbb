import CSwQuant
import SwQuant

/// The object behind a `swq_observer *`: one retain per handle, released by `swq_observer_free`.
extension Observer: _OpaqueHandle {
    static var handleName: StaticString { "observer" }
}

@c @implementation
public func swq_observer_new(
    _ method: Int32, _ parameter: Double, _ bits: Int32, _ symmetric: Int32, _ axis: Int32, _ bins: Int32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        guard (0...255).contains(method) else { throw QuantError(.invalidArgument, "unknown observer method \(method)") }
        let tag = UInt8(method)
        let kind = try CalibrationMethod(tag: tag, parameter: parameter == 0 ? CalibrationMethod.defaultParameter(tag: tag) : parameter)
        guard axis >= -1 else { throw QuantError(.invalidArgument, "axis must be -1, 0 or 1, got \(axis)") }
        let observer = try Observer(method: kind, bits: Int(bits), symmetric: symmetric != 0,
                                    axis: axis < 0 ? nil : Int(axis), bins: bins == 0 ? Observer.defaultBins : Int(bins))
        out.pointee = observer.handle
    }
}

@c @implementation
public func swq_observer_free(_ observer: OpaquePointer?) {
    Observer.release(observer)
}

@c @implementation
public func swq_observer_observe(_ observer: OpaquePointer?, _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64) -> swq_status {
    _status { () throws(QuantError) in try Observer.borrow(observer).observe(_view(data, dtype, rows, cols)) }
}

@c @implementation
public func swq_observer_merge(_ into: OpaquePointer?, _ other: OpaquePointer?) -> swq_status {
    _status { () throws(QuantError) in
        let (target, source) = (try Observer.borrow(into), try Observer.borrow(other))
        guard target !== source else { throw QuantError(.invalidArgument, "an observer cannot merge into itself") }
        try target.merge(source)
    }
}

@c @implementation
public func swq_observer_channels(_ observer: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in
        let observer = try Observer.borrow(observer)
        try _required(count, "count").pointee = Int64(observer.channelCount)
    }
}

@c @implementation
public func swq_observer_config(
    _ observer: OpaquePointer?, _ method: UnsafeMutablePointer<Int32>?, _ parameter: UnsafeMutablePointer<Double>?,
    _ bits: UnsafeMutablePointer<Int32>?, _ symmetric: UnsafeMutablePointer<Int32>?, _ axis: UnsafeMutablePointer<Int32>?,
    _ bins: UnsafeMutablePointer<Int32>?
) -> swq_status {
    _status { () throws(QuantError) in
        let observer = try Observer.borrow(observer)
        let (tag, value) = observer.method.encoded
        method?.pointee = Int32(tag)
        parameter?.pointee = value
        bits?.pointee = Int32(observer.bits)
        symmetric?.pointee = observer.symmetric ? 1 : 0
        axis?.pointee = Int32(observer.axis ?? -1)
        bins?.pointee = Int32(observer.bins)
    }
}

@c @implementation
public func swq_observer_range(
    _ observer: OpaquePointer?, _ low: UnsafeMutablePointer<Float>?, _ high: UnsafeMutablePointer<Float>?, _ capacity: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let ranges = try Observer.borrow(observer).ranges()
        try _copy(ranges.map(\.low), to: _required(low, "low"), capacity: capacity)
        try _copy(ranges.map(\.high), to: _required(high, "high"), capacity: capacity)
    }
}

@c @implementation
public func swq_observer_qparams(
    _ observer: OpaquePointer?, _ grid: Int32, _ scales: UnsafeMutablePointer<Float>?,
    _ zeroPoints: UnsafeMutablePointer<Int32>?, _ capacity: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let observer = try Observer.borrow(observer)
        let kind: IntegerGrid?
        if grid == -1 {
            kind = nil
        } else if let parsed = IntegerGrid(rawValue: grid) {
            kind = parsed
        } else {
            throw QuantError(.invalidArgument, "grid must be -1, SWQ_GRID_UNSIGNED or SWQ_GRID_SIGNED, got \(grid)")
        }
        let params = try observer.qparams(grid: kind)
        try _copy(params.map(\.scale), to: _required(scales, "scales"), capacity: capacity)
        try _copy(params.map(\.zeroPoint), to: _required(zeroPoints, "zero_points"), capacity: capacity)
    }
}

@c @implementation
public func swq_observer_serialize(
    _ observer: OpaquePointer?, _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int64, _ size: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _serialize(out, capacity, size) { () throws(QuantError) in try Observer.borrow(observer).serialized() }
}

@c @implementation
public func swq_observer_deserialize(_ bytes: UnsafePointer<UInt8>?, _ size: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _deserialize(bytes, size, out) { (bytes) throws(QuantError) in try Observer(serialized: bytes).handle }
}
