import CSwQuant
import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-thread message behind `swq_last_error`: a malloc'd C string under a pthread key, freed
/// when the thread exits or the next failure replaces it.
enum _LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    static func set(_ message: String) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
    }

    static var message: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }
}

/// Runs an export's body: SWQ_OK when it returns, else the error's status with its message stored
/// for `swq_last_error`.
@inline(__always)
func _status(_ body: () throws(QuantError) -> Void) -> swq_status {
    do {
        try body()
        return SWQ_OK
    } catch {
        _LastError.set(error.message)
        return swq_status(rawValue: UInt32(error.status.rawValue))
    }
}

/// The pointee of a required pointer argument, or a `.nullPointer` error naming it.
@inline(__always)
func _required<T>(_ pointer: T?, _ name: StaticString) throws(QuantError) -> T {
    guard let pointer else { throw QuantError(.nullPointer, "\(name) must not be NULL") }
    return pointer
}

/// A C `int32_t`/`int64_t` count as `Int`, or a `.shape` error when negative.
@inline(__always)
func _count(_ value: Int64, _ name: StaticString) throws(QuantError) -> Int {
    guard value >= 0, let count = Int(exactly: value) else {
        throw QuantError(.shape, "\(name) must be non-negative, got \(value)")
    }
    return count
}
