import CSwQuant
import SwQuant

@c @implementation
public func swq_fake_quantize(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ scales: UnsafePointer<Float>?, _ zeroPoints: UnsafePointer<Int32>?, _ qparamCount: Int64,
    _ out: UnsafeMutableRawPointer?, _ outDtype: Int32
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let view = try _view(data, dtype, rows, cols)
        let params = try _params(scheme, view, scales, zeroPoints, qparamCount)
        try fakeQuantize(view, scheme: scheme, params: params, into: _required(out, "out"),
                         as: _elementType(outDtype, "out_dtype"))
    }
}

@c @implementation
public func swq_quantize_codes(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ scales: UnsafePointer<Float>?, _ zeroPoints: UnsafePointer<Int32>?, _ qparamCount: Int64,
    _ codes: UnsafeMutablePointer<UInt8>?, _ codesCapacity: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let view = try _view(data, dtype, rows, cols)
        let params = try _params(scheme, view, scales, zeroPoints, qparamCount)
        let codes = try _required(codes, "codes")
        guard codesCapacity >= view.count else {
            throw QuantError(.bufferTooSmall, "codes holds \(codesCapacity) bytes, the tensor has \(view.count) elements")
        }
        try quantizeCodes(view, scheme: scheme, params: params, into: codes)
    }
}

@c @implementation
public func swq_fake_quantize_grad(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ scales: UnsafePointer<Float>?, _ zeroPoints: UnsafePointer<Int32>?, _ qparamCount: Int64,
    _ gradOut: UnsafePointer<Float>?, _ gradIn: UnsafeMutablePointer<Float>?,
    _ gradScales: UnsafeMutablePointer<Float>?, _ gradZeroPoints: UnsafeMutablePointer<Float>?, _ lsqScaling: Int32
) -> swq_status {
    _status { () throws(QuantError) in
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let view = try _view(data, dtype, rows, cols)
        let params = try _params(scheme, view, scales, zeroPoints, qparamCount)
        let (gradOut, gradIn) = (try _required(gradOut, "grad_out"), try _required(gradIn, "grad_in"))
        let gradScales = try _required(gradScales, "grad_scales")
        let gradients = try fakeQuantizeGradient(view, gradOutput: gradOut, scheme: scheme, params: params,
                                                 gradInput: gradIn, lsqGradientScaling: lsqScaling != 0)
        try _copy(gradients.scales, to: gradScales, capacity: qparamCount)
        if let gradZeroPoints { try _copy(gradients.zeroPoints, to: gradZeroPoints, capacity: qparamCount) }
    }
}

/// Parameter pairs from C arrays; zero points may be NULL for a symmetric scheme. The count is checked
/// against what the scheme needs for `view` before either array is read.
func _params(_ scheme: QuantScheme, _ view: TensorView, _ scales: UnsafePointer<Float>?, _ zeroPoints: UnsafePointer<Int32>?,
             _ qparamCount: Int64) throws(QuantError) -> [QuantParams] {
    let scales = try _required(scales, "scales")
    let count = try _count(qparamCount, "qparam_count")
    let expected = scheme.qparamCount(rows: view.rows, cols: view.cols)
    guard count == expected else {
        throw QuantError(.shape, "qparam_count is \(count), the scheme needs \(expected) for [\(view.rows), \(view.cols)]")
    }
    guard scheme.symmetric || zeroPoints != nil else {
        throw QuantError(.nullPointer, "zero_points must not be NULL for an affine scheme")
    }
    return (0..<count).map { i in QuantParams(scale: scales[i], zeroPoint: zeroPoints?[i] ?? scheme.symmetricZeroPoint) }
}
