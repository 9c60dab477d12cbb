import CSwQuant
import SwQuant

/// The object behind a `swq_layer_stats *`: one retain per handle, released by `swq_layer_stats_free`.
extension LayerStats: _OpaqueHandle {
    static var handleName: StaticString { "stats" }
}

@c @implementation
public func swq_layer_stats_new(_ inFeatures: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        guard let k = Int(exactly: inFeatures) else { throw QuantError(.invalidArgument, "in_features is out of range") }
        out.pointee = try LayerStats(inFeatures: k).handle
    }
}

@c @implementation
public func swq_layer_stats_free(_ stats: OpaquePointer?) {
    LayerStats.release(stats)
}

@c @implementation
public func swq_layer_stats_observe(_ stats: OpaquePointer?, _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64) -> swq_status {
    _status { () throws(QuantError) in try LayerStats.borrow(stats).observe(_view(data, dtype, rows, cols)) }
}

@c @implementation
public func swq_layer_stats_merge(_ into: OpaquePointer?, _ other: OpaquePointer?) -> swq_status {
    _status { () throws(QuantError) in
        let (target, source) = (try LayerStats.borrow(into), try LayerStats.borrow(other))
        guard target !== source else { throw QuantError(.invalidArgument, "statistics cannot merge into themselves") }
        try target.merge(source)
    }
}

@c @implementation
public func swq_layer_stats_in_features(_ stats: OpaquePointer?, _ inFeatures: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in try _required(inFeatures, "in_features").pointee = Int64(LayerStats.borrow(stats).inFeatures) }
}

@c @implementation
public func swq_layer_stats_count(_ stats: OpaquePointer?, _ rows: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in try _required(rows, "rows").pointee = Int64(LayerStats.borrow(stats).rowCount) }
}

@c @implementation
public func swq_layer_stats_read(
    _ stats: OpaquePointer?, _ gram: UnsafeMutablePointer<Double>?, _ capacity: Int64,
    _ meanAbs: UnsafeMutablePointer<Double>?, _ meanSq: UnsafeMutablePointer<Double>?
) -> swq_status {
    _status { () throws(QuantError) in
        let stats = try LayerStats.borrow(stats)
        try _copy(stats.gram, to: _required(gram, "gram"), capacity: capacity)
        if let meanAbs { try _copy(stats.meanAbs, to: meanAbs, capacity: Int64(stats.inFeatures)) }
        if let meanSq { try _copy(stats.meanSquare, to: meanSq, capacity: Int64(stats.inFeatures)) }
    }
}

@c @implementation
public func swq_layer_stats_scaled(
    _ stats: OpaquePointer?, _ scales: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let stats = try LayerStats.borrow(stats)
        let scales = Array(UnsafeBufferPointer(start: try _required(scales, "scales"), count: stats.inFeatures))
        out.pointee = try stats.scaled(by: scales).handle
    }
}

@c @implementation
public func swq_layer_stats_serialize(
    _ stats: OpaquePointer?, _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int64, _ size: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _serialize(out, capacity, size) { () throws(QuantError) in try LayerStats.borrow(stats).serialized() }
}

@c @implementation
public func swq_layer_stats_deserialize(_ bytes: UnsafePointer<UInt8>?, _ size: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _deserialize(bytes, size, out) { (bytes) throws(QuantError) in try LayerStats(serialized: bytes).handle }
}

@c @implementation
public func swq_gptq_v2(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ stats: OpaquePointer?, _ damp: Double, _ actOrder: Int32, _ clipSearch: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let tensor = try QuantizedTensor(gptq: _view(data, dtype, rows, cols), stats: LayerStats.borrow(stats),
                                         scheme: scheme, damp: damp, actOrder: actOrder != 0, clipSearch: clipSearch != 0)
        out.pointee = _QTensorBox(tensor).handle
    }
}

@c @implementation
public func swq_gptq(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ stats: OpaquePointer?, _ damp: Double, _ actOrder: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    swq_gptq_v2(data, dtype, rows, cols, scheme, stats, damp, actOrder, 0, out)
}

@c @implementation
public func swq_awq_v2(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ stats: OpaquePointer?, _ grid: Int32, _ clipSearch: Int32, _ duoScaling: Int32,
    _ channelScales: UnsafeMutablePointer<Float>?, _ alpha: UnsafeMutablePointer<Double>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let scheme = try QuantScheme(_required(scheme, "scheme").pointee)
        let channelScales = try _required(channelScales, "channel_scales")
        let result = try awq(_view(data, dtype, rows, cols), stats: LayerStats.borrow(stats), scheme: scheme,
                             grid: Int(grid), clipSearch: clipSearch != 0, duoScaling: duoScaling != 0)
        try _copy(result.channelScales, to: channelScales, capacity: cols)
        alpha?.pointee = result.alpha
        out.pointee = _QTensorBox(result.tensor).handle
    }
}

@c @implementation
public func swq_awq(
    _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64, _ scheme: UnsafePointer<swq_scheme>?,
    _ stats: OpaquePointer?, _ grid: Int32, _ clipSearch: Int32, _ channelScales: UnsafeMutablePointer<Float>?,
    _ alpha: UnsafeMutablePointer<Double>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> swq_status {
    swq_awq_v2(data, dtype, rows, cols, scheme, stats, grid, clipSearch, 0, channelScales, alpha, out)
}

@c @implementation
public func swq_smoothquant_scales(
    _ actAbsMax: UnsafePointer<Float>?, _ weights: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64,
    _ alpha: Double, _ scales: UnsafeMutablePointer<Float>?
) -> swq_status {
    _status { () throws(QuantError) in
        let view = try _view(weights, dtype, rows, cols)
        let maxima = Array(UnsafeBufferPointer(start: try _required(actAbsMax, "act_absmax"), count: view.cols))
        let result = try smoothQuantScales(activationAbsMax: maxima, weights: view, alpha: alpha)
        try _copy(result, to: _required(scales, "scales"), capacity: cols)
    }
}
