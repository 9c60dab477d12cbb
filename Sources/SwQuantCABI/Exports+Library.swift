import CSwQuant
import SwQuant

@c @implementation
public func swq_abi_version() -> UInt32 { UInt32(SWQ_ABI_VERSION) }

@c @implementation
public func swq_version() -> UnsafePointer<CChar>? { _versionString }

/// "MAJOR.MINOR.PATCH" from the header's macros, allocated once and kept for the life of the process.
nonisolated(unsafe) private let _versionString: UnsafePointer<CChar> = {
    let text = Array("\(SWQ_VERSION_MAJOR).\(SWQ_VERSION_MINOR).\(SWQ_VERSION_PATCH)".utf8CString)
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
    storage.initialize(from: text, count: text.count)
    return UnsafePointer(storage)
}()

@c @implementation
public func swq_last_error() -> UnsafePointer<CChar>? { _LastError.message ?? _cString("") }

@c @implementation
public func swq_status_name(_ status: swq_status) -> UnsafePointer<CChar>? {
    switch status {
    case SWQ_OK: _cString("SWQ_OK")
    case SWQ_ERR_INVALID_ARGUMENT: _cString("SWQ_ERR_INVALID_ARGUMENT")
    case SWQ_ERR_NULL_POINTER: _cString("SWQ_ERR_NULL_POINTER")
    case SWQ_ERR_SHAPE: _cString("SWQ_ERR_SHAPE")
    case SWQ_ERR_OVERFLOW: _cString("SWQ_ERR_OVERFLOW")
    case SWQ_ERR_NON_FINITE: _cString("SWQ_ERR_NON_FINITE")
    case SWQ_ERR_BUFFER_TOO_SMALL: _cString("SWQ_ERR_BUFFER_TOO_SMALL")
    case SWQ_ERR_OUT_OF_MEMORY: _cString("SWQ_ERR_OUT_OF_MEMORY")
    default: _cString("SWQ_ERR_UNKNOWN")
    }
}

@c @implementation
public func swq_set_num_threads(_ count: Int32) -> swq_status {
    _status { () throws(QuantError) in try ThreadSettings.setCount(Int(count)) }
}

@c @implementation
public func swq_get_num_threads() -> Int32 { Int32(clamping: ThreadSettings.count) }

/// A static, NUL-terminated C string.
@inline(__always)
func _cString(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}
