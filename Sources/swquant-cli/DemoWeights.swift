#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Deterministic LLM-like weights: a Gaussian scale mixture (heavy tails, as trained weights have)
/// with a few outlier input channels scaled up ten times.
struct DemoWeights {
    let rows: Int
    let cols: Int
    let values: [Float]

    init(rows: Int, cols: Int, seed: UInt64 = 0x5EED) {
        var generator = SplitMix64(seed: seed)
        let outlierColumns = Set((0..<Swift.max(1, cols / 200)).map { _ in Int(generator.next() % UInt64(cols)) })
        var values = [Float](repeating: 0, count: rows * cols)
        for i in values.indices {
            let spread = expf(0.35 * generator.nextGaussian())
            let outlier: Float = outlierColumns.contains(i % cols) ? 10 : 1
            values[i] = 0.02 * generator.nextGaussian() * spread * outlier
        }
        self.rows = rows
        self.cols = cols
        self.values = values
    }
}

/// SplitMix64: a small, fast, seedable generator (the output never depends on the platform).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func nextUniform() -> Float { (Float(next() >> 40) + 0.5) / Float(1 << 24) }

    /// Standard normal, by Box-Muller.
    mutating func nextGaussian() -> Float {
        let radius = (-2 * logf(nextUniform())).squareRoot()
        return radius * cosf(2 * Float.pi * nextUniform())
    }
}
