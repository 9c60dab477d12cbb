import CSwQuant
import SwQuant

/// The object behind a `swq_model_writer *`: a GGUF or a safetensors writer.
final class _ModelWriterBox: _OpaqueHandle {
    static var handleName: StaticString { "writer" }

    enum Writer {
        case gguf(GGUFWriter)
        case safetensors(SafetensorsWriter)
    }

    let writer: Writer
    init(_ writer: Writer) { self.writer = writer }

    /// The GGUF type or safetensors dtype named `name`, and the shape as the writer takes it (ggml
    /// dims, row length first, for GGUF; rows first for safetensors).
    func tensorType(_ name: UnsafePointer<CChar>?, _ dimCount: Int32, _ shape: UnsafePointer<Int64>?)
        throws(QuantError) -> (type: String, shape: [Int]) {
        let type = String(cString: try _required(name, "type"))
        guard (0...8).contains(dimCount) else { throw QuantError(.shape, "n_dims must be 0 to 8, got \(dimCount)") }
        var dims: [Int] = []
        if dimCount > 0 {
            let shape = try _required(shape, "shape")
            for d in 0..<Int(dimCount) { dims.append(try _count(shape[d], "shape")) }
        }
        return (type, dims)
    }

    func declare(_ name: String, _ type: String, _ shape: [Int], data: UnsafeRawBufferPointer?) throws(QuantError) {
        switch writer {
        case .gguf(let w):
            guard let ggml = GGMLType(name: type) else { throw QuantError(.invalidArgument, "no ggml type is named \"\(type)\"") }
            if let data { try w.addTensor(name: name, type: ggml, dims: shape.reversed(), data: data) }
            else { try w.declareTensor(name: name, type: ggml, dims: shape.reversed()) }
        case .safetensors(let w):
            guard let dtype = SafetensorsDType(rawValue: type.uppercased()) else {
                throw QuantError(.invalidArgument, "no safetensors dtype is named \"\(type)\"")
            }
            if let data { try w.addTensor(name: name, dtype: dtype, shape: shape, data: data) }
            else { try w.declareTensor(name: name, dtype: dtype, shape: shape) }
        }
    }
}

@c @implementation
public func swq_model_writer_new(_ path: UnsafePointer<CChar>?, _ format: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> swq_status {
    _status { () throws(QuantError) in
        let out = try _required(out, "out")
        out.pointee = nil
        let path = String(cString: try _required(path, "path"))
        switch UInt32(bitPattern: format) {
        case SWQ_MODEL_GGUF.rawValue: out.pointee = _ModelWriterBox(.gguf(try GGUFWriter(path: path))).handle
        case SWQ_MODEL_SAFETENSORS.rawValue: out.pointee = _ModelWriterBox(.safetensors(try SafetensorsWriter(path: path))).handle
        default: throw QuantError(.invalidArgument, "format must be SWQ_MODEL_GGUF or SWQ_MODEL_SAFETENSORS, got \(format)")
        }
    }
}

@c @implementation
public func swq_model_writer_free(_ writer: OpaquePointer?) {
    _ModelWriterBox.release(writer)
}

@c @implementation
public func swq_model_writer_set_metadata(_ writer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ typedJSON: UnsafePointer<CChar>?) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelWriterBox.borrow(writer)
        let key = String(cString: try _required(key, "key"))
        let value = try GGUFValue(typedJSON: try JSONParser.parse(String(cString: try _required(typedJSON, "typed_json")), context: "typed_json"))
        switch box.writer {
        case .gguf(let w): try w.setMetadata(key, value)
        case .safetensors(let w):
            guard case .string(let text) = value else { throw QuantError(.invalidArgument, "safetensors metadata values are strings") }
            try w.setMetadata(key, text)
        }
    }
}

@c @implementation
public func swq_model_writer_add_tensor(
    _ writer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ type: UnsafePointer<CChar>?, _ dimCount: Int32,
    _ shape: UnsafePointer<Int64>?, _ data: UnsafeRawPointer?, _ byteCount: Int64
) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelWriterBox.borrow(writer)
        let name = String(cString: try _required(name, "name"))
        let (typeName, dims) = try box.tensorType(type, dimCount, shape)
        let count = try _count(byteCount, "nbytes")
        let bytes = UnsafeRawBufferPointer(start: count > 0 ? try _required(data, "data") : data, count: count)
        try box.declare(name, typeName, dims, data: bytes)
    }
}

@c @implementation
public func swq_model_writer_declare_tensor(
    _ writer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ type: UnsafePointer<CChar>?, _ dimCount: Int32,
    _ shape: UnsafePointer<Int64>?
) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelWriterBox.borrow(writer)
        let (typeName, dims) = try box.tensorType(type, dimCount, shape)
        try box.declare(String(cString: try _required(name, "name")), typeName, dims, data: nil)
    }
}

@c @implementation
public func swq_model_writer_write_tensor_data(_ writer: OpaquePointer?, _ data: UnsafeRawPointer?, _ byteCount: Int64) -> swq_status {
    _status { () throws(QuantError) in
        let box = try _ModelWriterBox.borrow(writer)
        let count = try _count(byteCount, "nbytes")
        let bytes = UnsafeRawBufferPointer(start: count > 0 ? try _required(data, "data") : data, count: count)
        switch box.writer {
        case .gguf(let w): try w.writeTensorData(bytes)
        case .safetensors(let w): try w.writeTensorData(bytes)
        }
    }
}

@c @implementation
public func swq_model_writer_commit(_ writer: OpaquePointer?) -> swq_status {
    _status { () throws(QuantError) in
        switch try _ModelWriterBox.borrow(writer).writer {
        case .gguf(let w): try w.commit()
        case .safetensors(let w): try w.commit()
        }
    }
}
