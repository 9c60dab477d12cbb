import CSwQuant
import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Swift type of a C ggml type number.
func _ggmlType(_ value: Int32) throws(QuantError) -> GGMLType {
    guard let type = GGMLType(rawValue: value) else {
        throw QuantError(.invalidArgument, "type must be a swq_ggml_type value, got \(value)")
    }
    return type
}

/// ggml type names as C strings kept for the life of the process, in `GGMLTypeTraits.table` order.
nonisolated(unsafe) private let _typeNames: [UnsafePointer<CChar>] = GGMLTypeTraits.table.map { traits in
    UnsafePointer(strdup(traits.name)!)
}

@c @implementation
public func swq_ggml_type_info_get(_ type: Int32, _ out: UnsafeMutablePointer<swq_ggml_type_info>?) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        let traits = try _ggmlType(type).traits
        let index = GGMLTypeTraits.table.firstIndex { $0.type == traits.type }!
        out.pointee = swq_ggml_type_info(name: _typeNames[index], block_length: Int32(traits.blockLength),
                                         block_bytes: Int32(traits.blockBytes), has_codec: traits.hasCodec ? 1 : 0,
                                         uses_importance: traits.usesImportance ? 1 : 0)
    }
}

@c @implementation
public func swq_ggml_type_from_name(_ name: UnsafePointer<CChar>?, _ type: UnsafeMutablePointer<Int32>?) -> swq_status {
    _status { () throws(QuantError) in
        let (name, type) = (String(cString: try _required(name, "name")), try _required(type, "type"))
        guard let found = GGMLType(name: name) else { throw QuantError(.invalidArgument, "no ggml type is named \"\(name)\"") }
        type.pointee = found.rawValue
    }
}

@c @implementation
public func swq_ggml_row_size(_ type: Int32, _ cols: Int64, _ bytes: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in
        let bytes = try _required(bytes, "bytes")
        guard let count = Int(exactly: cols) else { throw QuantError(.shape, "cols must fit the address space, got \(cols)") }
        bytes.pointee = Int64(try _ggmlType(type).rowBytes(cols: count))
    }
}

@c @implementation
public func swq_ggml_quantize(
    _ type: Int32, _ data: UnsafeRawPointer?, _ dtype: Int32, _ rows: Int64, _ cols: Int64,
    _ importance: UnsafePointer<Float>?, _ dst: UnsafeMutableRawPointer?, _ dstBytes: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let type = try _ggmlType(type)
        let view = try _view(data, dtype, rows, cols)
        let dst = try _required(dst, "dst")
        let output = UnsafeMutableRawBufferPointer(start: dst, count: try _count(dstBytes, "dst_nbytes"))
        let weights = importance.map { UnsafeBufferPointer(start: $0, count: view.cols) }
        try GGMLBlocks.quantize(view, to: type, importance: weights, into: output)
    }
}

@c @implementation
public func swq_ggml_dequantize(
    _ type: Int32, _ blocks: UnsafeRawPointer?, _ blocksBytes: Int64, _ rows: Int64, _ cols: Int64,
    _ dst: UnsafeMutablePointer<Float>?, _ dstCount: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let type = try _ggmlType(type)
        let (blocks, dst) = (try _required(blocks, "blocks"), try _required(dst, "dst"))
        let shape = try _shape(rows, cols)
        try GGMLBlocks.dequantize(UnsafeRawBufferPointer(start: blocks, count: try _count(blocksBytes, "blocks_nbytes")),
                                  type: type, rows: shape.rows, cols: shape.cols,
                                  into: UnsafeMutableBufferPointer(start: dst, count: try _count(dstCount, "dst_count")))
    }
}
