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
