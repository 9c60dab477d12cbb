// libFuzzer target for every deserializer and file parser of the core: the bytes go to the one named by
// the environment variable SWQUANT_FUZZ_TARGET (observer, layer_stats, qtensor, gguf or safetensors).
// Bytes that are refused must throw; bytes that are accepted must give a state that every later call
// works on without trapping (every tensor of an accepted file read and decoded), and that serializes back
// to what the parser accepts again. Built with the core's sources by run.sh.

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String {
    case observer, layerStats = "layer_stats", qtensor, gguf, safetensors
    static let current: FuzzTarget = {
        guard let name = getenv("SWQUANT_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: name)) else {
            fatalError("set SWQUANT_FUZZ_TARGET to observer, layer_stats, qtensor, gguf or safetensors")
        }
        return target
    }()
}

/// `rows x cols` float32 values: a ramp with a sign change and one large value.
func batch(_ rows: Int, _ cols: Int) -> [Float] {
    (0..<(rows * cols)).map { i in i == 1 ? 1e6 : Float(i % 7) - 3 }
}

func view(_ values: [Float], _ rows: Int, _ cols: Int, _ body: (TensorView) throws(QuantError) -> Void) {
    values.withUnsafeBufferPointer { buffer in
        guard let v = try? TensorView(buffer, rows: rows, cols: cols) else { return }
        try? body(v)
    }
}

func useObserver(_ observer: Observer) {
    let channels = Swift.max(observer.channelCount, 1)
    let (rows, cols) = observer.axis == 0 ? (channels, 5) : observer.axis == 1 ? (3, channels) : (2, 9)
    // The entropy search is quadratic in the bins by design (1.2 s at the largest 16,384 bins, ten times
    // that under the fuzzer's instrumentation): beyond 2048 bins its ranges are left out, not its state.
    var searchable = true
    if case .entropy = observer.method { searchable = observer.bins <= 2048 }
    if searchable {
        _ = try? observer.ranges()
        _ = try? observer.qparams()
    }
    view(batch(rows, cols), rows, cols) { (v) throws(QuantError) in try observer.observe(v) }
    if searchable { _ = try? observer.ranges() }
    if let copy = try? Observer(serialized: observer.serialized()) {
        try? observer.merge(copy)
        if searchable { _ = try? observer.qparams(grid: .unsigned) }
    } else {
        fatalError("an accepted observer's own bytes were refused")
    }
}

func useLayerStats(_ stats: LayerStats) {
    let k = stats.inFeatures
    _ = (stats.meanAbs, stats.meanSquare)
    view(batch(2, k), 2, k) { (v) throws(QuantError) in try stats.observe(v) }
    _ = try? stats.scaled(by: [Float](repeating: 0.5, count: k))
    guard let copy = try? LayerStats(serialized: stats.serialized()) else {
        fatalError("accepted statistics' own bytes were refused")
    }
    try? stats.merge(copy)
    // The statistics as PTQ uses them: GPTQ (with and without act-order) and AWQ on a small layer.
    let scheme = QuantScheme(bits: 4, symmetric: false, granularity: .perGroup(size: 4))
    view(batch(3, k), 3, k) { (w) throws(QuantError) in
        _ = try? QuantizedTensor(gptq: w, stats: stats, scheme: scheme, actOrder: true, clipSearch: true)
        _ = try? QuantizedTensor(gptq: w, stats: stats, scheme: scheme)
        _ = try? awq(w, stats: stats, scheme: scheme, grid: 3, duoScaling: true)
    }
}

func useTensor(_ tensor: QuantizedTensor) {
    _ = tensor.dequantize()
    guard let copy = try? QuantizedTensor(serialized: tensor.serialized()), copy.packed == tensor.packed else {
        fatalError("an accepted tensor's own bytes were refused or changed")
    }
    let x = batch(2, tensor.cols)
    for path in [MatmulPath.weightOnly, .dynamicInt8, .dynamicInt8PerRow] where tensor.supports(path) {
        _ = try? tensor.matmul(x, batch: 2, path: path)
    }
}

/// Every byte of `bytes` summed, so that a view reaching outside the input is caught by the sanitizer.
func touch(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
    bytes.reduce(0, &+)
}

func useGGUF(_ header: GGUFHeader, _ file: UnsafeRawBufferPointer) {
    for (key, value) in header.metadata {
        guard (try? GGUFValue(typedJSON: JSONParser.parse(JSONWriter.text(value.typedJSON)))) == value || value.hasNaN else {
            fatalError("metadata \(key) does not survive its typed JSON")
        }
    }
    for tensor in header.tensors {
        let bytes = UnsafeRawBufferPointer(rebasing: file[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
        _ = touch(bytes)
        let cols = tensor.dims[0]
        guard tensor.type.traits.hasCodec, cols > 0, tensor.elementCount <= 1 << 16 else { continue }
        _ = try? GGMLBlocks.dequantize(Array(bytes), type: tensor.type, rows: tensor.elementCount / cols, cols: cols)
    }
}

func useSafetensors(_ header: SafetensorsHeader, _ file: UnsafeRawBufferPointer) {
    for tensor in header.tensors {
        _ = touch(UnsafeRawBufferPointer(rebasing: file[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)]))
    }
}

extension GGUFValue {
    /// NaN floats compare unequal to themselves, so their round trip is not checked by equality.
    var hasNaN: Bool {
        switch self {
        case .float32(let v): v.isNaN
        case .float64(let v): v.isNaN
        case .array(_, let elements): elements.contains { $0.hasNaN }
        default: false
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch FuzzTarget.current {
    case .observer: if let observer = try? Observer(serialized: bytes) { useObserver(observer) }
    case .layerStats: if let stats = try? LayerStats(serialized: bytes) { useLayerStats(stats) }
    case .qtensor: if let tensor = try? QuantizedTensor(serialized: bytes) { useTensor(tensor) }
    case .gguf:
        let file = UnsafeRawBufferPointer(start: data, count: size)
        if let header = try? GGUFHeader(parsing: file) { useGGUF(header, file) }
    case .safetensors:
        let file = UnsafeRawBufferPointer(start: data, count: size)
        if let header = try? SafetensorsHeader(parsing: file) { useSafetensors(header, file) }
    }
    return 0
}
