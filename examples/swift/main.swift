// Quantizes a weight matrix to 4 bits in groups of 128 with the Swift API and reports the error.
// Run: swift run swquant-example
import SwQuant

let rows = 64, cols = 576  // 576 = 4 x 128 + 64: each row ends with a 64-element group
let weights: [Float] = (0..<(rows * cols)).map { i in
    let phase = Float(i % 1009) / 1009 * 2 - 1
    return 0.02 * phase * phase * phase * Float(1 + i % 7)
}

do {
    let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 128), scaleStorage: .float16)
    let tensor = try QuantizedTensor(quantizing: weights, rows: rows, cols: cols, scheme: scheme)
    let metrics = try ErrorMetrics(reference: weights, approx: tensor.dequantize())
    print("\(rows) x \(cols) weights -> \(tensor.storageByteCount) bytes, \(tensor.bitsPerWeight) bits per weight")
    print("SQNR \(metrics.sqnrDecibels) dB, max abs error \(metrics.maxAbsoluteError)")
} catch {
    print("swquant: \(error)")
}
