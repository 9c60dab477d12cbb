/// The element types of safetensors files (safetensors' `Dtype`), with their sizes in bits.
@frozen
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", f4 = "F4", f6_e2m3 = "F6_E2M3", f6_e3m2 = "F6_E3M2", u8 = "U8", i8 = "I8"
    case f8_e5m2 = "F8_E5M2", f8_e4m3 = "F8_E4M3", f8_e8m0 = "F8_E8M0", f8_e4m3fnuz = "F8_E4M3FNUZ", f8_e5m2fnuz = "F8_E5M2FNUZ"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16", i32 = "I32", u32 = "U32", f32 = "F32"
    case c64 = "C64", f64 = "F64", i64 = "I64", u64 = "U64"

    public var bits: Int {
        switch self {
        case .f4: 4
        case .f6_e2m3, .f6_e3m2: 6
        case .bool, .u8, .i8, .f8_e5m2, .f8_e4m3, .f8_e8m0, .f8_e4m3fnuz, .f8_e5m2fnuz: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .c64, .f64, .i64, .u64: 64
        }
    }

    /// Bytes of `elements` values; nil when sub-byte values do not fill whole bytes or it overflows.
    func byteCount(elements: Int) -> Int? {
        let (totalBits, overflow) = elements.multipliedReportingOverflow(by: bits)
        guard !overflow, totalBits % 8 == 0 else { return nil }
        return totalBits / 8
    }
}

/// One tensor of a safetensors file: name, dtype, shape (rows first) and where its bytes are.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
}

/// A parsed safetensors header, checked as the reference reader checks it: the length bounded, the
/// JSON strict, every shape's size equal to its byte range, the ranges starting at 0 and contiguous
/// in offset order, and the last one ending exactly at the end of the file (no holes, no trailing bytes).
public struct SafetensorsHeader: Sendable {
    /// `__metadata__` (string to string), in file order.
    public let metadata: [(key: String, value: String)]
    /// Tensors in the header's order.
    public let tensors: [SafetensorsTensorInfo]

    public init(parsing bytes: UnsafeRawBufferPointer, limits: FileLimits = FileLimits()) throws(QuantError) {
        var cursor = _Cursor(bytes, what: "safetensors")
        let length = try cursor.integer(UInt64.self, "header length")
        guard length <= UInt64(min(limits.maxHeaderBytes, 100_000_000)) else {
            throw cursor.error("header length \(length) exceeds the limit", at: 0)
        }
        let text = try cursor.view(Int(length), "header")
        guard text.first == UInt8(ascii: "{") else { throw cursor.error("the header does not start with '{'", at: 8) }
        let json: JSONValue
        do {
            json = try JSONParser.parse(text, maxDepth: limits.maxNesting, context: "safetensors header")
        } catch {
            throw QuantError(error.status, "\(error.message) (of the header, which starts at byte 8)")
        }
        guard let members = json.objectValue else { throw cursor.error("the header is not an object", at: 8) }
        guard members.count <= limits.maxTensorCount + 1 else { throw cursor.error("more than \(limits.maxTensorCount) tensors", at: 8) }
        var metadata: [(key: String, value: String)] = []
        var tensors: [(info: SafetensorsTensorInfo, begin: Int, end: Int)] = []
        let dataStart = 8 + Int(length)
        let dataBytes = bytes.count - dataStart
        for (name, entry) in members {
            if name == "__metadata__" {
                guard let pairs = entry.objectValue else { throw cursor.error("__metadata__ is not an object", at: 8) }
                for (key, value) in pairs {
                    guard let text = value.stringValue else { throw cursor.error("__metadata__ value of \(key) is not a string", at: 8) }
                    metadata.append((key, text))
                }
                continue
            }
            guard name.utf8.count <= limits.maxNameBytes else { throw cursor.error("tensor name longer than \(limits.maxNameBytes) bytes", at: 8) }
            guard let dtypeName = entry["dtype"]?.stringValue, let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw cursor.error("tensor \(name) has no known dtype", at: 8)
            }
            guard let dims = entry["shape"]?.arrayValue, dims.count <= limits.maxDimensions else {
                throw cursor.error("tensor \(name) needs a shape of at most \(limits.maxDimensions) dimensions", at: 8)
            }
            var shape: [Int] = []
            var elements = 1
            for d in dims {
                guard let v = d.integerValue, v >= 0, let n = Int(exactly: v) else { throw cursor.error("tensor \(name) has a bad dimension", at: 8) }
                let (p, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow else { throw cursor.error("the shape of tensor \(name) overflows 64 bits", at: 8) }
                elements = p
                shape.append(n)
            }
            guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
                  let b = offsets[0].integerValue, let e = offsets[1].integerValue, b >= 0, b <= e else {
                throw cursor.error("tensor \(name) needs data_offsets [begin, end] with begin <= end", at: 8)
            }
            guard let needed = dtype.byteCount(elements: elements), Int64(needed) == e - b else {
                throw cursor.error("tensor \(name): shape \(shape) of \(dtype.rawValue) does not match its \(e - b) bytes", at: 8)
            }
            guard e <= Int64(dataBytes) else { throw cursor.error("tensor \(name) ends past the end of the file", at: 8) }
            tensors.append((SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + Int(b),
                                                  byteCount: needed), Int(b), Int(e)))
        }
        var expected = 0
        for t in tensors.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard t.begin == expected else {
                throw cursor.error("tensor \(t.info.name) starts at data offset \(t.begin), expected \(expected) (tensors must be contiguous)", at: 8)
            }
            expected = t.end
        }
        guard expected == dataBytes else {
            throw cursor.error("the tensors end at data offset \(expected), the file has \(dataBytes) data bytes", at: 8)
        }
        self.metadata = metadata
        self.tensors = tensors.map(\.info)
    }
}

/// A safetensors file mapped read-only: the parsed header and zero-copy views of its tensors.
public final class SafetensorsFile: @unchecked Sendable {
    public let file: MappedFile
    public let header: SafetensorsHeader

    public init(path: String, limits: FileLimits = FileLimits()) throws(QuantError) {
        file = try MappedFile(path: path)
        do {
            header = try SafetensorsHeader(parsing: file.bytes, limits: limits)
        } catch {
            throw QuantError(error.status, "\(path): \(error.message)")
        }
    }

    public func bytes(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }
}
