import CSwQuant
import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The object behind a `swq_model *`: the model and the C strings its infos lend out.
final class _ModelBox: _OpaqueHandle {
    static var handleName: StaticString { "model" }

    let model: ModelFile
    let names: [UnsafeMutablePointer<CChar>]
    let typeNames: [UnsafeMutablePointer<CChar>]
    let paths: [UnsafeMutablePointer<CChar>]

    init(_ model: ModelFile) {
        self.model = model
        names = model.tensors.map { strdup($0.name)! }
        typeNames = model.tensors.map { strdup($0.typeName)! }
        paths = model.paths.map { strdup($0)! }
    }

    deinit {
        for p in names + typeNames + paths { free(p) }
    }

    func tensorIndex(_ index: Int64) throws(QuantError) -> Int {
        guard index >= 0, index < Int64(model.tensors.count) else {
            throw QuantError(.invalidArgument, "tensor index \(index) is outside 0..<\(model.tensors.count)")
        }
        return Int(index)
    }
}

@c @implementation
public func swq_model_open(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        out.pointee = _ModelBox(try ModelFile(path: String(cString: try _required(path, "path")))).handle
    }
}

@c @implementation
public func swq_model_free(_ model: OpaquePointer?) {
    _ModelBox.release(model)
}

@c @implementation
public func swq_model_summary(
    _ model: OpaquePointer?, _ format: UnsafeMutablePointer<Int32>?, _ tensorCount: UnsafeMutablePointer<Int64>?,
    _ fileCount: UnsafeMutablePointer<Int32>?
) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelBox.borrow(model)
        format?.pointee = box.model.format.rawValue
        tensorCount?.pointee = Int64(box.model.tensors.count)
        fileCount?.pointee = Int32(box.model.paths.count)
    }
}

@c @implementation
public func swq_model_file_path(_ model: OpaquePointer?, _ index: Int32, _ path: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelBox.borrow(model)
        let path = try _required(path, "path")
        guard index >= 0, Int(index) < box.paths.count else {
            throw QuantError(.invalidArgument, "file index \(index) is outside 0..<\(box.paths.count)")
        }
        path.pointee = UnsafePointer(box.paths[Int(index)])
    }
}

@c @implementation
public func swq_model_tensor_info(_ model: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<swq_tensor_info>?) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelBox.borrow(model)
        let out = try _required(out, "out")
        let i = try box.tensorIndex(index)
        let tensor = box.model.tensors[i]
        var info = swq_tensor_info()
        info.name = UnsafePointer(box.names[i])
        info.type = UnsafePointer(box.typeNames[i])
        info.ggml_type = tensor.ggmlType?.rawValue ?? -1
        info.n_dims = Int32(tensor.shape.count)
        withUnsafeMutableBytes(of: &info.shape) { raw in
            for (d, n) in tensor.shape.enumerated() { raw.storeBytes(of: Int64(n), toByteOffset: 8 * d, as: Int64.self) }
        }
        info.nbytes = Int64(tensor.byteCount)
        info.data = box.model.bytes(of: tensor).baseAddress
        info.file_index = Int32(tensor.fileIndex)
        info.file_offset = Int64(tensor.fileOffset)
        out.pointee = info
    }
}

@c @implementation
public func swq_model_tensor_find(_ model: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int64>?) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelBox.borrow(model)
        let (name, index) = (String(cString: try _required(name, "name")), try _required(index, "index"))
        guard let found = box.model.index(of: name) else { throw QuantError(.invalidArgument, "the model has no tensor \(name)") }
        index.pointee = Int64(found)
    }
}

@c @implementation
public func swq_model_metadata_json(
    _ model: OpaquePointer?, _ out: UnsafeMutablePointer<CChar>?, _ capacity: Int64, _ size: UnsafeMutablePointer<Int64>?
) -> swq_status {
    _serialize(UnsafeMutableRawPointer(out)?.assumingMemoryBound(to: UInt8.self), capacity, size) { () throws(QuantError) in
        Array(JSONWriter.text(try _ModelBox.borrow(model).model.metadata).utf8)
    }
}

@c @implementation
public func swq_model_tensor_to_f32(_ model: OpaquePointer?, _ index: Int64, _ dst: UnsafeMutablePointer<Float>?, _ dstCount: Int64) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelBox.borrow(model)
        let tensor = box.model.tensors[try box.tensorIndex(index)]
        let dst = try _required(dst, "dst")
        try box.model.floats(of: tensor, into: UnsafeMutableBufferPointer(start: dst, count: try _count(dstCount, "dst_count")))
    }
}
