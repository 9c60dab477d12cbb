/// GGUF metadata value types, with GGUF's numbers (gguf.h `enum gguf_type`).
@frozen
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// GGUF's name of the type, as gguf-py spells it: `"UINT32"`, `"STRING"`, `"ARRAY"`.
    public var name: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }

    public init?(name: String) {
        guard let type = GGUFValueType.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = type
    }

    /// Bytes of one value of a fixed-size type (nil for strings and arrays).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }
}

/// One GGUF metadata value. An array holds elements of one type (nested arrays each say their own).
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        case .array: .array
        }
    }

    /// The value as an integer when it is one of the integer types and fits.
    public var integerValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    /// The typed JSON form swquant's faces exchange metadata in: a scalar is `[TYPE, value]`, an array
    /// `["ARRAY", ELEMENT_TYPE, [values]]` whose values are plain JSON for scalar elements and typed
    /// forms for nested arrays. Floats are written exactly (float32 through its double value).
    public var typedJSON: JSONValue {
        if case .array(let elementType, let elements) = self {
            return .array([.string("ARRAY"), .string(elementType.name), .array(elements.map { $0.plainJSON })])
        }
        return .array([.string(type.name), plainJSON])
    }

    /// The value without its type tag (nested arrays keep theirs).
    var plainJSON: JSONValue {
        switch self {
        case .uint8(let v): .integer(Int64(v))
        case .int8(let v): .integer(Int64(v))
        case .uint16(let v): .integer(Int64(v))
        case .int16(let v): .integer(Int64(v))
        case .uint32(let v): .integer(Int64(v))
        case .int32(let v): .integer(Int64(v))
        case .int64(let v): .integer(v)
        case .uint64(let v): Int64(exactly: v).map(JSONValue.integer) ?? .unsignedInteger(v)
        case .float32(let v): .number(Double(v))
        case .float64(let v): .number(v)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .array: typedJSON
        }
    }

    /// The value of a typed JSON form (see `typedJSON`); throws `.invalidArgument` naming what is wrong.
    public init(typedJSON json: JSONValue, depth: Int = 0) throws(QuantError) {
        guard depth <= 16 else { throw QuantError(.invalidArgument, "metadata arrays nest deeper than 16") }
        guard let parts = json.arrayValue, let typeName = parts.first?.stringValue,
              let type = GGUFValueType(name: typeName) else {
            throw QuantError(.invalidArgument, "a typed metadata value is [TYPE, value] or [\"ARRAY\", TYPE, [values]]")
        }
        if type == .array {
            guard parts.count == 3, let elementName = parts[1].stringValue, let elementType = GGUFValueType(name: elementName),
                  let elements = parts[2].arrayValue else {
                throw QuantError(.invalidArgument, "a typed array is [\"ARRAY\", ELEMENT_TYPE, [values]]")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(elements.count)
            for element in elements {
                values.append(elementType == .array
                    ? try GGUFValue(typedJSON: element, depth: depth + 1)
                    : try GGUFValue(plain: element, as: elementType))
            }
            self = .array(elementType, values)
            return
        }
        guard parts.count == 2 else { throw QuantError(.invalidArgument, "a typed scalar is [TYPE, value]") }
        self = try GGUFValue(plain: parts[1], as: type)
    }

    /// A scalar of `type` from plain JSON, range-checked.
    init(plain json: JSONValue, as type: GGUFValueType) throws(QuantError) {
        func integer<T: FixedWidthInteger>(_: T.Type) throws(QuantError) -> T {
            if case .integer(let i) = json, let v = T(exactly: i) { return v }
            if case .unsignedInteger(let u) = json, let v = T(exactly: u) { return v }
            if case .number(let d) = json, d.isFinite, d.rounded() == d, let v = T(exactly: d) { return v }
            throw QuantError(.invalidArgument, "\(JSONWriter.text(json)) is not a \(type.name) value")
        }
        func real() throws(QuantError) -> Double {
            switch json {
            case .integer(let i): return Double(i)
            case .unsignedInteger(let u): return Double(u)
            case .number(let d): return d
            default: throw QuantError(.invalidArgument, "\(JSONWriter.text(json)) is not a \(type.name) value")
            }
        }
        switch type {
        case .uint8: self = .uint8(try integer(UInt8.self))
        case .int8: self = .int8(try integer(Int8.self))
        case .uint16: self = .uint16(try integer(UInt16.self))
        case .int16: self = .int16(try integer(Int16.self))
        case .uint32: self = .uint32(try integer(UInt32.self))
        case .int32: self = .int32(try integer(Int32.self))
        case .uint64: self = .uint64(try integer(UInt64.self))
        case .int64: self = .int64(try integer(Int64.self))
        case .float32: self = .float32(Float(try real()))
        case .float64: self = .float64(try real())
        case .bool:
            guard case .bool(let b) = json else { throw QuantError(.invalidArgument, "\(JSONWriter.text(json)) is not a BOOL value") }
            self = .bool(b)
        case .string:
            guard case .string(let s) = json else { throw QuantError(.invalidArgument, "\(JSONWriter.text(json)) is not a STRING value") }
            self = .string(s)
        case .array: self = try GGUFValue(typedJSON: json)
        }
    }
}
