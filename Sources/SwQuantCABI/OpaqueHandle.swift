import CSwQuant
import SwQuant

/// A Swift class handed to C as an opaque handle: each handle holds one retain, dropped by the type's
/// `swq_*_free` function.
protocol _OpaqueHandle: AnyObject {
    /// The argument name a NULL handle is reported under.
    static var handleName: StaticString { get }
}

extension _OpaqueHandle {
    /// A new handle owning one reference to `self`.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// The object behind `handle`, without taking ownership; NULL throws.
    static func borrow(_ handle: OpaquePointer?) throws(QuantError) -> Self {
        Unmanaged<Self>.fromOpaque(UnsafeRawPointer(try _required(handle, handleName))).takeUnretainedValue()
    }

    /// Drops the reference `handle` holds; NULL is ignored, as `free(NULL)` is.
    static func release(_ handle: OpaquePointer?) {
        guard let handle else { return }
        Unmanaged<Self>.fromOpaque(UnsafeRawPointer(handle)).release()
    }
}

/// The body of every `swq_*_serialize`: the two-call protocol, where `size` always receives the byte
/// count and the bytes are copied when `out` is not NULL and `capacity` holds them.
func _serialize(
    _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int64, _ size: UnsafeMutablePointer<Int64>?,
    _ bytes: () throws(QuantError) -> [UInt8]
) -> swq_status {
    _status { () throws(QuantError) in
        let size = try _required(size, "size")
        let bytes = try bytes()
        size.pointee = Int64(bytes.count)
        if let out { try _copy(bytes, to: out, capacity: capacity) }
    }
}

/// The body of every `swq_*_deserialize`: `*out` is NULL unless `restore` builds a handle from the
/// `size` bytes.
func _deserialize(
    _ bytes: UnsafePointer<UInt8>?, _ size: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ restore: ([UInt8]) throws(QuantError) -> OpaquePointer
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        out.pointee = try restore(Array(UnsafeBufferPointer(start: try _required(bytes, "bytes"), count: try _count(size, "size"))))
    }
}
