/// A JSON value, as the strict parser below reads it: numbers keep whether they were written as
/// integers, objects keep their keys' order.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// An integer beyond `Int64.max` (GGUF's UINT64 values reach 2^64 - 1).
    case unsignedInteger(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.integer(x), .integer(y)): x == y
        case let (.unsignedInteger(x), .unsignedInteger(y)): x == y
        case let (.number(x), .number(y)): x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The value of `key` in an object (the first, though the parser refuses duplicates).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var integerValue: Int64? { if case .integer(let i) = self { i } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [(key: String, value: JSONValue)]? { if case .object(let o) = self { o } else { nil } }
}

/// A strict RFC 8259 parser for headers and configs from untrusted files: UTF-8 only, no trailing
/// commas or comments, duplicate keys refused, nesting at most `maxDepth`. `NaN`, `Infinity` and
/// `-Infinity` are accepted as numbers (Python's json module writes them). Errors give the byte
/// offset of what was wrong.
public struct JSONParser {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private let maxDepth: Int
    private let context: String

    /// Parses `bytes` (the whole text, surrounding whitespace allowed); `context` names the source in errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64, context: String = "JSON") throws(QuantError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth, context: context)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected data after the value") }
        return value
    }

    /// Parses a string's UTF-8.
    public static func parse(_ text: String, maxDepth: Int = 64, context: String = "JSON") throws(QuantError) -> JSONValue {
        var copy = text
        let result: Result<JSONValue, QuantError> = copy.withUTF8 { utf8 in
            Result { () throws(QuantError) in try parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth, context: context) }
        }
        return try result.get()
    }

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int, context: String) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.context = context
    }

    private func error(_ what: String) -> QuantError {
        QuantError(.invalidArgument, "\(context): \(what) at byte \(position)")
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(QuantError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == literal.utf8Start[$0] }) else {
            throw error("expected \(literal)")
        }
        position += count
    }

    private mutating func value(depth: Int) throws(QuantError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth)") }
        guard let c = current else { throw error("unexpected end") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "N"): try expect("NaN"); return .number(.nan)
        case UInt8(ascii: "I"): try expect("Infinity"); return .number(.infinity)
        default: return try number()
        }
    }

    private mutating func object(depth: Int) throws(QuantError) -> JSONValue {
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = position
            let key = try string()
            guard keys.insert(key).inserted else {
                throw QuantError(.invalidArgument, "\(context): duplicate key \"\(key)\" at byte \(keyOffset)")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard let c = current else { throw error("unexpected end in an object") }
            position += 1
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or '}'") }
        }
    }

    private mutating func array(depth: Int) throws(QuantError) -> JSONValue {
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard let c = current else { throw error("unexpected end in an array") }
            position += 1
            if c == UInt8(ascii: "]") { return .array(elements) }
            guard c == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or ']'") }
        }
    }

    private mutating func hexQuad() throws(QuantError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("bad hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func string() throws(QuantError) -> String {
        position += 1
        var utf8: [UInt8] = []
        let start = position
        while true {
            guard let c = current else { throw error("unterminated string starting at byte \(start - 1)") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw QuantError(.invalidArgument, "\(context): string at byte \(start - 1) is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                guard let e = current else { throw error("unterminated escape") }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hexQuad()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        position += 2
                        let low = try hexQuad()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired surrogate")
                    }
                    utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw error("bad escape")
                }
            default:
                guard c >= 0x20 else { position -= 1; throw error("control character in a string") }
                utf8.append(c)
            }
        }
    }

    private mutating func number() throws(QuantError) -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") {
            position += 1
            if current == UInt8(ascii: "I") { try expect("Infinity"); return .number(-.infinity) }
        }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[p]) { p += 1 }
            return p - s
        }
        let intStart = position
        let intDigits = digits(&position)
        guard intDigits > 0 else { throw error("expected a value") }
        guard !(intDigits > 1 && bytes[intStart] == UInt8(ascii: "0")) else { throw error("leading zero in a number") }
        var integral = true
        if current == UInt8(ascii: ".") {
            position += 1
            integral = false
            guard digits(&position) > 0 else { throw error("expected digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            integral = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&position) > 0 else { throw error("expected exponent digits") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        if integral, let value = UInt64(text) { return .unsignedInteger(value) }
        guard let value = Double(text) else { throw QuantError(.invalidArgument, "\(context): bad number at byte \(start)") }
        return .number(value)
    }
}

/// Writes JSON text: compact, keys in the given order, strings escaped as RFC 8259 requires.
public enum JSONWriter {
    public static func text(_ value: JSONValue) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    public static func write(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .unsignedInteger(let u): out += String(u)
        case .number(let d): out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : "\(d)"
        case .string(let s): quote(s, to: &out)
        case .array(let elements):
            out += "["
            for (i, e) in elements.enumerated() {
                if i > 0 { out += "," }
                write(e, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                quote(m.key, to: &out)
                out += ":"
                write(m.value, to: &out)
            }
            out += "}"
        }
    }

    public static func quote(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
