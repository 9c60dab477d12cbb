// Stand-ins for the C library and Dispatch, which a bare-metal target lacks: declarations only, so
// that the core compiles for aarch64; never linked or run.
typealias FILE = OpaquePointer
let _SC_NPROCESSORS_ONLN: Int32 = 84
let _SC_PHYS_PAGES: Int32 = 85
let _SC_PAGESIZE: Int32 = 30
@_extern(c) func getenv(_ name: UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>?
@_extern(c) func sysconf(_ name: Int32) -> Int
@_extern(c) func pow(_ x: Double, _ y: Double) -> Double
@_extern(c) func log(_ x: Double) -> Double
@_extern(c) func log10(_ x: Double) -> Double
@_extern(c) func fopen(_ path: UnsafePointer<CChar>, _ mode: UnsafePointer<CChar>) -> FILE?
@_extern(c) func fgets(_ s: UnsafeMutablePointer<CChar>, _ n: Int32, _ f: FILE) -> UnsafeMutablePointer<CChar>?
@discardableResult @_extern(c) func fclose(_ f: FILE) -> Int32
enum DispatchQueue {
    static func concurrentPerform(iterations: Int, execute work: (Int) -> Void) {
        for i in 0..<iterations { work(i) }
    }
}
// Files (ModelFiles/MappedFile.swift)
typealias off_t = Int
struct stat {
    var st_mode: UInt32 = 0
    var st_size: Int = 0
}
let S_IFMT: UInt32 = 0o170000, S_IFREG: UInt32 = 0o100000, S_IFDIR: UInt32 = 0o040000
let O_RDONLY: Int32 = 0, O_CLOEXEC: Int32 = 0o2000000
let PROT_READ: Int32 = 1, MAP_PRIVATE: Int32 = 2, EINTR: Int32 = 4
let MAP_FAILED: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(bitPattern: -1)
nonisolated(unsafe) var errno: Int32 = 0
@_extern(c) func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32
@discardableResult @_extern(c) func close(_ fd: Int32) -> Int32
func fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32 { -1 }
@_extern(c) func mmap(_ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: Int32, _ flags: Int32, _ fd: Int32,
                      _ offset: Int) -> UnsafeMutableRawPointer?
@discardableResult @_extern(c) func munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int32
@_extern(c) func mkstemp(_ template: UnsafeMutablePointer<CChar>) -> Int32
@_extern(c) func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int
@_extern(c) func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int
@_extern(c) func fsync(_ fd: Int32) -> Int32
@discardableResult @_extern(c) func fchmod(_ fd: Int32, _ mode: UInt32) -> Int32
@_extern(c) func rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> Int32
@discardableResult @_extern(c) func unlink(_ path: UnsafePointer<CChar>) -> Int32
@_extern(c) func strerror(_ code: Int32) -> UnsafeMutablePointer<CChar>?
@_extern(c) func log2f(_ x: Float) -> Float
@discardableResult @_extern(c) func madvise(_ address: UnsafeMutableRawPointer, _ length: Int, _ advice: Int32) -> Int32
let MADV_DONTNEED: Int32 = 4
