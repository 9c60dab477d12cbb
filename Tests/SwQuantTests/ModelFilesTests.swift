import Testing
@testable import SwQuant

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ModelFilesTests {
    func temporaryPath(_ name: String) -> String {
        var template = Array("/tmp/swquant-swift-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return folder + "/" + name
    }

    @Test func ggufWrittenInBothWaysReadsBack() throws {
        let x = (0..<512).map { Float($0 % 17) - 8 }
        let blocks = try x.withUnsafeBufferPointer { b in try GGMLBlocks.quantize(TensorView(b, rows: 2, cols: 256), to: .q6_K) }
        for planned in [false, true] {
            let path = temporaryPath("m.gguf")
            let writer = try GGUFWriter(path: path)
            try writer.setMetadata("general.architecture", .string("llama"))
            try writer.setMetadata("x.list", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])]))
            #expect(throws: QuantError.self) { try writer.setMetadata("x.bad", .array(.int32, [.string("a")])) }
            let tensors: [(String, GGMLType, [Int], [UInt8])] = [("w", .q6_K, [256, 2], blocks), ("v", .f32, [3], [0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 0, 0])]
            for (name, type, dims, data) in tensors {
                if planned {
                    try writer.declareTensor(name: name, type: type, dims: dims)
                } else {
                    try data.withUnsafeBytes { raw in try writer.addTensor(name: name, type: type, dims: dims, data: raw) }
                }
            }
            if planned {
                for (_, _, _, data) in tensors { try data.withUnsafeBytes { raw in try writer.writeTensorData(raw) } }
            }
            try writer.commit()
            let file = try GGUFFile(path: path)
            #expect(file.header.version == 3 && file.header["general.architecture"] == .string("llama"))
            #expect(file.header["x.list"] == .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])]))
            #expect(file.header.tensors.map(\.name) == ["w", "v"] && file.header.tensors[0].dims == [256, 2])
            #expect(Array(file.bytes(of: file.header.tensors[0])) == blocks)
            let model = try ModelFile(path: path)
            let values = try model.floats(of: model.tensors[1])
            #expect(model.tensors[1].shape == [3] && values == [1, 2, 0])
        }
    }

    @Test func safetensorsHeaderIsCheckedLikeTheReference() throws {
        func header(_ json: String, data: Int) -> [UInt8] {
            var bytes = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian, Array.init)
            bytes += Array(json.utf8) + [UInt8](repeating: 0, count: data)
            return bytes
        }
        let good = header(#"{"__metadata__":{"a":"b"},"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: 4)
        let parsed = try good.withUnsafeBytes { raw in try SafetensorsHeader(parsing: raw) }
        #expect(parsed.metadata.map(\.value) == ["b"] && parsed.tensors[0].fileOffset == good.count - 4)
        for bad in [header(#"{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: 5),
                    header(#"{"x":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#, data: 4),
                    header(#"{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: 4)] {
            #expect(throws: QuantError.self) { try bad.withUnsafeBytes { raw in _ = try SafetensorsHeader(parsing: raw) } }
        }
    }

    @Test func jsonParserIsStrict() throws {
        #expect(try JSONParser.parse(#"{"a":[1,-2.5e3,true,null,"\u00e9\ud83d\ude00"],"b":18446744073709551615}"#)
            == .object([("a", .array([.integer(1), .number(-2500), .bool(true), .null, .string("é😀")])), ("b", .unsignedInteger(.max))]))
        for bad in [#"{"a":1,}"#, "[01]", #"{"a":1}x"#, #""\ud800""#, "[1,]", #"{"a":1,"a":2}"#, "\"\u{01}\""] {
            #expect(throws: QuantError.self) { _ = try JSONParser.parse(bad) }
        }
        let text = JSONWriter.text(.object([("k\"\n", .array([.number(0.1), .integer(-3)]))]))
        #expect(text == #"{"k\"\n":[0.1,-3]}"#)
    }
}
