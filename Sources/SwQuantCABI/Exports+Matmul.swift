import CSwQuant
import SwQuant

#if canImport(Glibc)
import Glibc
#endif

@c @implementation
public func swq_matmul(
    _ weights: OpaquePointer?, _ x: UnsafePointer<Float>?, _ m: Int64, _ k: Int64, _ bias: UnsafePointer<Float>?,
    _ y: UnsafeMutablePointer<Float>?, _ yCapacity: Int64, _ path: Int32
) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.borrow(weights)
        let (x, y) = (try _required(x, "x"), try _required(y, "y"))
        let shape = try _shape(m, k)
        guard shape.cols == tensor.cols else {
            throw QuantError(.shape, "x has \(k) columns, the weights have \(tensor.cols)")
        }
        guard let path = MatmulPath(rawValue: path) else {
            throw QuantError(.invalidArgument, "path must be a swq_matmul_path value, got \(path)")
        }
        let (needed, overflow) = shape.rows.multipliedReportingOverflow(by: tensor.rows)
        guard !overflow, yCapacity >= needed else {
            throw QuantError(.bufferTooSmall, "y holds \(yCapacity) values, [\(m), \(tensor.rows)] needs \(needed)")
        }
        try tensor.matmul(x, batch: shape.rows, bias: bias, into: y, path: path)
    }
}

/// The text of `swq_cpu_features`, built once and kept for the life of the process.
nonisolated(unsafe) private let _cpuFeaturesText: UnsafeMutablePointer<CChar> = {
    let text = "cpu: \(CPUFeatures.current); compiled: \(KernelPath.compiled.map(\.description).joined(separator: " ")); active: \(KernelPath.active)"
    return strdup(text)!
}()

@c @implementation
public func swq_cpu_features() -> UnsafePointer<CChar>? { UnsafePointer(_cpuFeaturesText) }
