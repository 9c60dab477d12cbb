#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The implementation tier of the integer dot-product kernels, from the specification to the fastest.
///
/// `scalar` is the reference, `simd` portable Swift SIMD, `avx2` uses `vpmaddubsw`, `avx512vnni` uses
/// `vpdpbusd`, `neonDot` (arm64) uses `sdot`. ISA tiers exist in builds compiled for them
/// (`SWQUANT_NATIVE` in CMake defines `SWQUANT_AVX2`/`SWQUANT_AVX512VNNI` on x86-64 and
/// `SWQUANT_NEON_DOTPROD` on arm64); the best compiled tier the CPU supports is used unless
/// `SWQUANT_ISA` (scalar, simd, avx2, avx512vnni, neondot) asks for a lower one. Every tier computes
/// the same integer sums; the float rescaling differs between tiers only in summation order.
@frozen
public enum KernelTier: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case scalar = 0
    case simd = 1
    case avx2 = 2
    case avx512vnni = 3
    case neonDot = 4

    public static func < (a: KernelTier, b: KernelTier) -> Bool { a.rawValue < b.rawValue }

    public var description: String { ["scalar", "simd", "avx2", "avx512vnni", "neondot"][rawValue] }

    /// The tiers compiled into this build.
    public static let compiled: [KernelTier] = {
        var paths: [KernelTier] = [.scalar, .simd]
        #if SWQUANT_AVX2
        paths.append(.avx2)
        #endif
        #if SWQUANT_AVX512VNNI
        paths.append(.avx512vnni)
        #endif
        #if SWQUANT_NEON_DOTPROD && arch(arm64)
        paths.append(.neonDot)
        #endif
        return paths
    }()

    /// Whether this CPU can run the tier.
    public var isSupported: Bool {
        let cpu = CPUFeatures.current
        switch self {
        case .scalar, .simd: return true
        case .avx2: return cpu.contains([.avx2, .fma])
        case .avx512vnni: return cpu.contains([.avx512f, .avx512bw, .avx512vl, .avx512vnni])
        case .neonDot: return cpu.contains(.asimddp)
        }
    }

    /// The tier in use: the best compiled and supported one, capped by `SWQUANT_ISA`.
    public static let active: KernelTier = {
        var best = compiled.filter(\.isSupported).max() ?? .scalar
        if let text = getenv("SWQUANT_ISA"), let cap = allCases.first(where: { $0.description == String(cString: text) }) {
            best = Swift.min(best, cap)
        }
        return best
    }()
}
