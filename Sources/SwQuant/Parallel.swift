import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker threads swquant uses. Results never depend on the count: work is split into items
/// whose outputs are disjoint, and every reduction combines per-item partials in item order.
public enum ThreadSettings {
    private static let requested = Atomic<Int>(0)

    /// The number of threads used by later calls.
    public static var count: Int {
        let value = requested.load(ordering: .relaxed)
        return value > 0 ? value : defaultCount
    }

    /// The most threads a call uses: more only costs per-thread scratch memory.
    public static let maxCount = 1024

    /// Sets the thread count; 0 restores the default (`SWQUANT_NUM_THREADS`, else the core count).
    public static func setCount(_ value: Int) throws(QuantError) {
        guard (0...maxCount).contains(value) else {
            throw QuantError(.invalidArgument, "thread count must be 0 (default) to \(maxCount), got \(value)")
        }
        requested.store(value, ordering: .relaxed)
    }

    /// `SWQUANT_NUM_THREADS` when it holds a positive integer, else the number of online cores.
    public static let defaultCount: Int = {
        if let text = getenv("SWQUANT_NUM_THREADS"), let value = Int(String(cString: text)), value > 0 {
            return min(value, maxCount)
        }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()
}

/// Runs `body` over `0..<itemCount` split into one contiguous range per thread.
///
/// Work items must write disjoint outputs. Ranges are never empty; with one thread or one item the
/// body runs on the calling thread.
@inline(__always)
func _parallelForRanges(itemCount: Int, _ body: (Range<Int>) -> Void) {
    _parallelForThreads(itemCount: itemCount, threads: _threadCount(itemCount: itemCount)) { _, range in body(range) }
}

/// `_parallelForRanges` over exactly `threads` ranges (a `_threadCount(itemCount:)` the caller took once,
/// so that per-thread partials it sized stay in step even if the setting changes meanwhile), passing
/// each range's index from 0 to `threads - 1`.
@inline(__always)
func _parallelForThreads(itemCount: Int, threads: Int, _ body: (_ thread: Int, _ range: Range<Int>) -> Void) {
    if threads <= 1 {
        if itemCount > 0 { body(0, 0..<itemCount) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = _UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let start = itemCount * thread / threads
            let end = itemCount * (thread + 1) / threads
            if start < end { shared.value(thread, start..<end) }
        }
    }
}

/// The number of ranges to split `itemCount` items into: the thread setting, read once.
@inline(__always)
func _threadCount(itemCount: Int) -> Int { Swift.max(1, Swift.min(ThreadSettings.count, itemCount)) }

/// Carries a value into a `@Sendable` closure when the caller guarantees race freedom (disjoint
/// writes, as in `_parallelForRanges`).
struct _UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
