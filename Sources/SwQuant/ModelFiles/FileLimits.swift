/// Bounds that a model file's header must respect before anything it describes is allocated or read.
///
/// The defaults fit every real model (a 262,144-token vocabulary, chat templates of hundreds of KB,
/// mixture-of-experts files with tens of thousands of tensors) and refuse the crafted files that take
/// other parsers down (a 160-byte GGUF asking for GiB-sized strings, dims whose product overflows).
public struct FileLimits: Sendable {
    /// The largest header (GGUF key-value and tensor-info section, safetensors JSON).
    public var maxHeaderBytes = 1 << 30
    /// The longest string value or key.
    public var maxStringBytes = 1 << 24
    /// The most elements of one metadata array.
    public var maxArrayCount = 1 << 24
    /// The most metadata keys.
    public var maxKeyCount = 1 << 16
    /// The most tensors.
    public var maxTensorCount = 1 << 20
    /// The most dimensions of a safetensors tensor (GGUF's are at most ggml's GGML_MAX_DIMS, 4).
    public var maxDimensions = 8
    /// The longest tensor name.
    public var maxNameBytes = 1 << 12
    /// The deepest nesting of metadata arrays or JSON.
    public var maxNesting = 16

    public init() {}
}

/// Bounds-checked little-endian reads from untrusted bytes; every error names the byte offset.
struct _Cursor {
    let bytes: UnsafeRawBufferPointer
    let what: String
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - offset }

    func error(_ message: String, at position: Int? = nil) -> QuantError {
        QuantError(.invalidArgument, "\(what): \(message) at byte \(position ?? offset)")
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(QuantError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw error("truncated \(field)") }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// `count` raw bytes (a view, not a copy).
    mutating func view(_ count: Int, _ field: String) throws(QuantError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw error("\(field) of \(count) bytes runs past the end (\(remaining) left)")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// A u64-length-prefixed UTF-8 string of at most `limit` bytes.
    mutating func string(limit: Int, _ field: String) throws(QuantError) -> String {
        let start = offset
        let length = try integer(UInt64.self, "\(field) length")
        guard length <= UInt64(limit) else {
            throw error("\(field) claims \(length) bytes, more than the limit of \(limit)", at: start)
        }
        let raw = try view(Int(length), field)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw error("\(field) is not valid UTF-8", at: start)
        }
        return text
    }
}
