import CSwQuant
import SwQuant

/// The object behind a `swq_qtensor *`: one retain per handle, released by `swq_qtensor_free`.
final class _QTensorBox: _OpaqueHandle {
    static var handleName: StaticString { "tensor" }

    let tensor: QuantizedTensor
    init(_ tensor: QuantizedTensor) { self.tensor = tensor }

    /// The tensor behind `handle`; NULL throws.
    static func tensor(_ handle: OpaquePointer?) throws(QuantError) -> QuantizedTensor { try borrow(handle).tensor }
}

@c @implementation
public func swq_quantize(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64,
    _ scheme: UnsafePointer<swq_scheme>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let tensor = try QuantizedTensor(quantizing: _view(data, dtype, rows, cols), scheme: scheme)
        out.pointee = _QTensorBox(tensor).handle
    }
}

@c @implementation
public func swq_quantize_clip_search(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64,
    _ scheme: UnsafePointer<swq_scheme>?, _ importance: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let view = try _view(data, dtype, rows, cols)
        let weights = importance.map { Array(UnsafeBufferPointer(start: $0, count: view.cols)) }
        let tensor = try QuantizedTensor(quantizing: view, scheme: scheme, clipSearchWithImportance: weights)
        out.pointee = _QTensorBox(tensor).handle
    }
}

@c @implementation
public func swq_qtensor_from_parts(
    _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?, _ packed: UnsafePointer<UInt8>?, _ packedBytes: Int64,
    _ scales: UnsafePointer<Float>?, _ zeroPoints: UnsafePointer<Int32>?, _ qparamCount: Int64,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let (r, c) = try _shape(rows, cols)
        let packedCount = try _count(packedBytes, "packed_nbytes"), count = try _count(qparamCount, "qparam_count")
        let expected = scheme.qparamCount(rows: r, cols: c)
        guard count == expected else {
            throw QuantError(.shape, "qparam_count is \(count), the scheme needs \(expected) for [\(rows), \(cols)]")
        }
        let needed = try scheme.packedByteCount(rows: r, cols: c)
        guard packedCount == needed else {  // checked before anything is read
            throw QuantError(.shape, "packed_nbytes is \(packedCount), [\(rows), \(cols)] at \(scheme.bits) bits needs \(needed)")
        }
        let codes = Array(UnsafeBufferPointer(start: try _required(packed, "packed"), count: packedCount))
        let scaleValues = Array(UnsafeBufferPointer(start: try _required(scales, "scales"), count: count))
        let zeros: [Int32]
        if let zeroPoints {
            zeros = Array(UnsafeBufferPointer(start: zeroPoints, count: count))
        } else if scheme.symmetric {
            zeros = [Int32](repeating: scheme.symmetricZeroPoint, count: count)
        } else {
            throw QuantError(.nullPointer, "zero_points is NULL; only symmetric schemes imply theirs")
        }
        let tensor = try QuantizedTensor(rows: r, cols: c, scheme: scheme, packed: codes, scales: scaleValues, zeroPoints: zeros)
        out.pointee = _QTensorBox(tensor).handle
    }
}

@c @implementation
public func swq_qtensor_serialize(
    _ tensor: OpaquePointer?, _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int64, _ size: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _serialize(out, capacity, size) { () throws(QuantError) in try _QTensorBox.tensor(tensor).serialized() }
}

@c @implementation
public func swq_qtensor_deserialize(_ bytes: UnsafePointer<UInt8>?, _ size: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _deserialize(bytes, size, out) { (bytes) throws(QuantError) in _QTensorBox(try QuantizedTensor(serialized: bytes)).handle }
}

@c @implementation
public func swq_qtensor_free(_ tensor: OpaquePointer?) {
    _QTensorBox.release(tensor)
}

@c @implementation
public func swq_qtensor_shape(
    _ tensor: OpaquePointer?, _ rows: UnsafeMutablePointer<Int64>?, _ cols: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        let (rows, cols) = (try _required(rows, "rows"), try _required(cols, "cols"))
        rows.pointee = Int64(tensor.rows)
        cols.pointee = Int64(tensor.cols)
    }
}

@c @implementation
public func swq_qtensor_scheme(_ tensor: OpaquePointer?, _ out: UnsafeMutablePointer<swq_scheme>?) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        try _required(out, "out").pointee = tensor.scheme.cValue
    }
}

@c @implementation
public func swq_qtensor_packed(
    _ tensor: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ nbytes: UnsafeMutablePointer<Int64>?, _ rowStride: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        let (data, nbytes) = (try _required(data, "data"), try _required(nbytes, "nbytes"))
        // The box keeps the array alive and it is never mutated, so its storage address is stable
        // until swq_qtensor_free.
        data.pointee = tensor.packed.withUnsafeBufferPointer { $0.baseAddress }
        nbytes.pointee = Int64(tensor.packed.count)
        rowStride?.pointee = Int64(tensor.rowStride)
    }
}

@c @implementation
public func swq_qtensor_qparams_count(_ tensor: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        try _required(count, "count").pointee = Int64(tensor.scales.count)
    }
}

@c @implementation
public func swq_qtensor_scales(_ tensor: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int64) -> swq_status {
    _status { () throws(QuantError) in
        try _copy(_QTensorBox.tensor(tensor).scales, to: _required(out, "out"), capacity: capacity)
    }
}

@c @implementation
public func swq_qtensor_zero_points(_ tensor: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ capacity: Int64) -> swq_status {
    _status { () throws(QuantError) in
        try _copy(_QTensorBox.tensor(tensor).zeroPoints, to: _required(out, "out"), capacity: capacity)
    }
}

@c @implementation
public func swq_qtensor_storage(
    _ tensor: OpaquePointer?, _ nbytes: UnsafeMutablePointer<Int64>?, _ bitsPerWeight: UnsafeMutablePointer<Double>?
) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        nbytes?.pointee = Int64(tensor.storageByteCount)
        bitsPerWeight?.pointee = tensor.bitsPerWeight
    }
}

@c @implementation
public func swq_dequantize(_ tensor: OpaquePointer?, _ outDtype: Int32, _ out: UnsafeMutableRawPointer?, _ capacity: Int64) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(tensor)
        let type = try _elementType(outDtype, "out_dtype")
        try tensor.dequantize(into: _required(out, "out"), capacity: _count(capacity, "capacity"), as: type)
    }
}

/// Copies `values` into a C buffer of `capacity` elements.
func _copy<T>(_ values: [T], to out: UnsafeMutablePointer<T>, capacity: Int64) throws(QuantError) {
    guard capacity >= values.count else {
        throw QuantError(.bufferTooSmall, "output holds \(capacity) entries, \(values.count) are needed")
    }
    values.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: values.count) }
}
