import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let usage = """
    usage: swquant [demo | bench | info | quantize IN.gguf OUT.gguf --type PRESET
                    | quantize-file IN ROWS COLS BITS GROUP SYMMETRIC OUT]
    """

/// The schemes of the demo table, from the most to the least precise.
let demoSchemes: [(name: String, scheme: QuantScheme)] = [
    ("int8 sym per-tensor", QuantScheme(bits: 8, symmetric: true, granularity: .perTensor)),
    ("int8 sym per-channel", QuantScheme(bits: 8, symmetric: true, granularity: .perChannel(axis: 0))),
    ("int4 affine per-channel", QuantScheme(bits: 4, symmetric: false, granularity: .perChannel(axis: 0))),
    ("int4 affine g128 fp16", QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128), scaleStorage: .float16)),
    ("int4 sym g32 fp16", QuantScheme(bits: 4, symmetric: true, granularity: .perGroup(size: 32), scaleStorage: .float16)),
    ("int3 affine g64 fp16", QuantScheme(bits: 3, symmetric: false, granularity: .perGroup(size: 64), scaleStorage: .float16)),
    ("int2 affine g32 fp16", QuantScheme(bits: 2, symmetric: false, granularity: .perGroup(size: 32), scaleStorage: .float16)),
]

/// Quantizes built-in LLM-like weights (4096 x 4096, fixed seed) with each demo scheme.
func runDemo() throws {
    let weights = DemoWeights(rows: 4096, cols: 4096)
    let gigabytes = Double(weights.values.count * 4) / 1e9
    print("swquant demo: \(weights.rows) x \(weights.cols) LLM-like float32 weights (heavy tails, outlier channels), \(ThreadSettings.count) threads")
    print(pad("scheme", 24) + pad("bits/w", 9) + pad("SQNR dB", 9) + pad("max err", 10) + pad("quant GB/s", 12) + pad("dequant GB/s", 14))
    try weights.values.withUnsafeBufferPointer { buffer in
        let view = try TensorView(buffer, rows: weights.rows, cols: weights.cols)
        for (name, scheme) in demoSchemes {
            let tensor = try QuantizedTensor(quantizing: view, scheme: scheme)
            let restored = tensor.dequantize()
            let metrics = try ErrorMetrics(reference: weights.values, approx: restored)
            let quantizeSeconds = medianSeconds(repeats: 5) { _ = try? QuantizedTensor(quantizing: view, scheme: scheme) }
            let dequantizeSeconds = medianSeconds(repeats: 5) { _ = tensor.dequantize() }
            print(pad(name, 24) + pad(fixed(tensor.bitsPerWeight, 3), 9) + pad(fixed(metrics.sqnrDecibels, 2), 9)
                  + pad(fixed(metrics.maxAbsoluteError, 5), 10) + pad(fixed(gigabytes / quantizeSeconds, 2), 12)
                  + pad(fixed(gigabytes / dequantizeSeconds, 2), 14))
        }
    }
    print("GB/s counts float32 input (quantize) or output (dequantize) bytes; medians of 5 runs.")
}

/// Quantize and dequantize throughput at 1 and 2 threads on a 4096 x 4096 float32 matrix.
func runBench() throws {
    let weights = DemoWeights(rows: 4096, cols: 4096)
    let gigabytes = Double(weights.values.count * 4) / 1e9
    let schemes = [demoSchemes[3], demoSchemes[1]]
    print("swquant bench: 4096 x 4096 float32, GB/s of float data, medians of 7 runs")
    print(pad("scheme", 24) + pad("threads", 9) + pad("quantize", 10) + pad("dequantize", 12))
    try weights.values.withUnsafeBufferPointer { buffer in
        let view = try TensorView(buffer, rows: weights.rows, cols: weights.cols)
        for (name, scheme) in schemes {
            for threads in [1, 2] {
                try ThreadSettings.setCount(threads)
                let tensor = try QuantizedTensor(quantizing: view, scheme: scheme)
                let quantize = medianSeconds(repeats: 7) { _ = try? QuantizedTensor(quantizing: view, scheme: scheme) }
                let dequantize = medianSeconds(repeats: 7) { _ = tensor.dequantize() }
                print(pad(name, 24) + pad(String(threads), 9) + pad(fixed(gigabytes / quantize, 2), 10)
                      + pad(fixed(gigabytes / dequantize, 2), 12))
            }
        }
    }
    try ThreadSettings.setCount(0)
    try runMatmulBench(weights)
}

/// Matmul throughput on 4096 x 4096 weights, 4-bit groups of 128: both paths, M = 1 (weights rotated
/// through at least 512 MB of distinct copies so they stream from memory) and M = 512.
func runMatmulBench(_ weights: DemoWeights) throws {
    let (n, k) = (weights.rows, weights.cols)
    let scheme = demoSchemes[3].scheme
    var copies = [QuantizedTensor]()
    var shifted = weights.values
    while copies.count * n * k / 2 < 512 << 20 {
        copies.append(try QuantizedTensor(quantizing: shifted, rows: n, cols: k, scheme: scheme))
        for i in shifted.indices { shifted[i] += 1e-3 }
    }
    print("\nswquant bench: matmul y = x W^T, W 4096 x 4096 int4 g128 (\(copies.count) copies rotated for M = 1), medians")
    print(pad("path", 12) + pad("M", 6) + pad("threads", 9) + pad("us", 10) + pad("GFLOP/s", 10))
    for batch in [1, 512] {
        var generator = SplitMix64(seed: 7)
        let x = (0..<(batch * k)).map { _ in generator.nextGaussian() }
        for path in [MatmulPath.weightOnly, .dynamicInt8] {
            for threads in [1, 2] {
                try ThreadSettings.setCount(threads)
                var index = 0
                let seconds = medianSeconds(repeats: batch == 1 ? 31 : 3) {
                    index += 1
                    _ = try? copies[batch == 1 ? index % copies.count : 0].matmul(x, batch: batch, path: path)
                }
                print(pad(path == .weightOnly ? "weight-only" : "int8", 12) + pad(String(batch), 6) + pad(String(threads), 9)
                      + pad(fixed(seconds * 1e6, 0), 10) + pad(fixed(2 * Double(batch * n * k) / seconds / 1e9, 1), 10))
            }
        }
    }
    try ThreadSettings.setCount(0)
}

/// Quantizes a raw float32 file and writes the packed codes, scales and zero points as raw files. Every
/// argument is checked, the input must hold exactly ROWS x COLS values, and the outputs appear whole or not
/// at all: each is written to a temporary file, and all three are renamed once every write succeeded.
func runQuantizeFile(_ args: [String]) throws {
    guard args.count == 7, let rows = Int(args[1]), let cols = Int(args[2]), let bits = Int(args[3]),
          let group = Int(args[4]), let symmetric = Int(args[5]) else {
        throw QuantError(.invalidArgument, "quantize-file IN ROWS COLS BITS GROUP SYMMETRIC OUT\n\(usage)")
    }
    guard rows > 0, cols > 0, !rows.multipliedReportingOverflow(by: cols).overflow else {
        throw QuantError(.shape, "ROWS and COLS must be positive and their product must fit, got \(rows) x \(cols)")
    }
    guard symmetric == 0 || symmetric == 1 else { throw QuantError(.invalidArgument, "SYMMETRIC must be 0 or 1, got \(symmetric)") }
    let granularity: Granularity = group > 0 ? .perGroup(size: group) : group == 0 ? .perChannel(axis: 0) : .perTensor
    let values: [Float] = try readRaw(args[0], count: rows * cols)
    let tensor = try QuantizedTensor(quantizing: values, rows: rows, cols: cols,
                                     scheme: QuantScheme(bits: bits, symmetric: symmetric == 1, granularity: granularity))
    let outputs = [".packed", ".scales", ".zeros"].map { args[6] + $0 }
    do {
        try writeRaw(tensor.packed, to: outputs[0] + ".tmp")
        try writeRaw(tensor.scales, to: outputs[1] + ".tmp")
        try writeRaw(tensor.zeroPoints, to: outputs[2] + ".tmp")
    } catch {
        for path in outputs { remove(path + ".tmp") }
        throw error
    }
    for path in outputs where rename(path + ".tmp", path) != 0 {
        throw QuantError(.invalidArgument, "cannot rename \(path).tmp to \(path)")
    }
}

/// Exactly `count` values of `T` from a file that holds that many and no more, its size checked before
/// anything is allocated.
func readRaw<T>(_ path: String, count: Int) throws -> [T] {
    guard let file = fopen(path, "rb") else { throw QuantError(.invalidArgument, "cannot open \(path)") }
    defer { fclose(file) }
    let (expected, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard fseek(file, 0, SEEK_END) == 0, case let size = ftell(file), size >= 0, fseek(file, 0, SEEK_SET) == 0 else {
        throw QuantError(.invalidArgument, "cannot read the size of \(path)")
    }
    guard !overflow, size == expected else {
        throw QuantError(.shape, "\(path) holds \(size) bytes, \(count) values of \(MemoryLayout<T>.stride) bytes are \(overflow ? "too many" : String(expected))")
    }
    let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        initialized = fread(buffer.baseAddress, MemoryLayout<T>.stride, count, file)
    }
    guard values.count == count else { throw QuantError(.shape, "\(path): read \(values.count) of \(count) values") }
    return values
}

func writeRaw<T>(_ values: [T], to path: String) throws {
    guard let file = fopen(path, "wb") else { throw QuantError(.invalidArgument, "cannot create \(path)") }
    let written = values.withUnsafeBufferPointer { fwrite($0.baseAddress, MemoryLayout<T>.stride, $0.count, file) }
    guard fclose(file) == 0, written == values.count else {
        remove(path)
        throw QuantError(.invalidArgument, "cannot write \(path)")
    }
}
