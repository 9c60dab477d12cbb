#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Instruction-set extensions of the running CPU that swquant's kernels use.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let avx2 = CPUFeatures(rawValue: 1 << 0)
    public static let fma = CPUFeatures(rawValue: 1 << 1)
    public static let f16c = CPUFeatures(rawValue: 1 << 2)
    public static let avx512f = CPUFeatures(rawValue: 1 << 3)
    public static let avx512bw = CPUFeatures(rawValue: 1 << 4)
    public static let avx512vl = CPUFeatures(rawValue: 1 << 5)
    public static let avx512vnni = CPUFeatures(rawValue: 1 << 6)
    public static let avxvnni = CPUFeatures(rawValue: 1 << 7)
    public static let avx512bf16 = CPUFeatures(rawValue: 1 << 8)
    /// arm64's dot-product extension (`sdot`/`udot`, ARMv8.2).
    public static let asimddp = CPUFeatures(rawValue: 1 << 9)

    static let names: [(CPUFeatures, String)] = [
        (.avx2, "avx2"), (.fma, "fma"), (.f16c, "f16c"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
        (.avx512vl, "avx512vl"), (.avx512vnni, "avx512_vnni"), (.avxvnni, "avx_vnni"), (.avx512bf16, "avx512_bf16"),
        (.asimddp, "asimddp"),
    ]

    /// The features of this machine, read once from the kernel's CPU description (Linux `flags` on
    /// x86-64, `Features` on arm64);
    /// empty where that is not available, which selects the portable kernels.
    public static let current: CPUFeatures = {
        var features = CPUFeatures()
        guard let file = fopen("/proc/cpuinfo", "r") else { return features }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            guard text.hasPrefix("flags") || text.hasPrefix("Features") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            for (feature, name) in names where flags.contains(name) { features.insert(feature) }
            break
        }
        return features
    }()

    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }
}
