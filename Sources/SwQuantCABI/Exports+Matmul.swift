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
        let tensor = try _QTensorBox.tensor(weights)
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

@c @implementation
public func swq_matmul_static_int8(
    _ weights: OpaquePointer?, _ a: UnsafePointer<UInt8>?, _ m: Int64, _ k: Int64, _ aScale: Float, _ aZeroPoint: Int32,
    _ bias: UnsafePointer<Float>?, _ output: Int32, _ outScale: Float, _ outZeroPoint: Int32,
    _ out: UnsafeMutableRawPointer?, _ outCapacity: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let tensor = try _QTensorBox.tensor(weights)
        let (a, out) = (try _required(a, "a"), try _required(out, "out"))
        let shape = try _shape(m, k)
        guard shape.cols == tensor.cols else {
            throw QuantError(.shape, "a has \(k) columns, the weights have \(tensor.cols)")
        }
        let (needed, overflow) = shape.rows.multipliedReportingOverflow(by: tensor.rows)
        guard !overflow, outCapacity >= needed else {
            throw QuantError(.bufferTooSmall, "out holds \(outCapacity) values, [\(m), \(tensor.rows)] needs \(needed)")
        }
        let kind: StaticInt8Output
        switch UInt32(bitPattern: output) {
        case SWQ_OUTPUT_INT32.rawValue: kind = .int32(out.assumingMemoryBound(to: Int32.self))
        case SWQ_OUTPUT_FLOAT32.rawValue: kind = .float(out.assumingMemoryBound(to: Float.self), bias: bias)
        case SWQ_OUTPUT_UINT8.rawValue:
            kind = .uint8(out.assumingMemoryBound(to: UInt8.self), bias: bias, outputScale: outScale, outputZeroPoint: outZeroPoint)
        default: throw QuantError(.invalidArgument, "output must be a swq_static_output value, got \(output)")
        }
        try tensor.staticInt8Matmul(a, batch: shape.rows, aScale: aScale, aZeroPoint: aZeroPoint, output: kind)
    }
}

/// The text of `swq_cpu_features`, built once and kept for the life of the process.
nonisolated(unsafe) private let _cpuFeaturesText: UnsafeMutablePointer<CChar> = {
    let text = "cpu: \(CPUFeatures.current); compiled: \(KernelTier.compiled.map(\.description).joined(separator: " ")); active: \(KernelTier.active)"
    return strdup(text)!
}()

@c @implementation
public func swq_cpu_features() -> UnsafePointer<CChar>? { UnsafePointer(_cpuFeaturesText) }
