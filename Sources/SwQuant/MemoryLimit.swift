#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The check made before every allocation whose size comes from a caller or from untrusted bytes: a
/// request beyond the machine's physical memory throws `.outOfMemory`, where the allocation itself would
/// end the process (Swift traps when an allocation fails).
enum _MemoryLimit {
    /// Physical memory in bytes (`Int.max` where the system does not say).
    static let physicalBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return .max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? .max : bytes
    }()

    /// Throws `.outOfMemory` unless `count` elements of `elementBytes` bytes (for `what`) fit in memory.
    static func check(_ count: Int, elementBytes: Int, for what: @autoclosure () -> String) throws(QuantError) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementBytes)
        guard count >= 0, !overflow, bytes <= physicalBytes else {
            throw QuantError(.outOfMemory, "\(what()) needs \(count) x \(elementBytes) bytes, more than this machine's memory")
        }
    }
}
