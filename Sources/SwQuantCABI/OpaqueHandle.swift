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

/// The two-call `swq_*_serialize` protocol: `size` always receives the byte count; the bytes are copied
/// when `out` is not NULL and `capacity` holds them.
func _writeSerialized(
    _ bytes: [UInt8], to out: UnsafeMutablePointer<UInt8>?, capacity: Int64, size: UnsafeMutablePointer<Int64>?
) throws(QuantError) {
    try _required(size, "size").pointee = Int64(bytes.count)
    if let out { try _copy(bytes, to: out, capacity: capacity) }
}

/// The `size` bytes a `swq_*_deserialize` call reads, copied into an array.
func _serializedBytes(_ bytes: UnsafePointer<UInt8>?, _ size: Int64) throws(QuantError) -> [UInt8] {
    Array(UnsafeBufferPointer(start: try _required(bytes, "bytes"), count: try _count(size, "size")))
}
