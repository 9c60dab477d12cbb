import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `swquant quantize IN.gguf OUT.gguf --type PRESET [--quiet]`: a GGUF model to one of llama.cpp's
/// presets, as `llama-quantize IN OUT PRESET` writes it (round to nearest, no importance matrix).
func runQuantize(_ arguments: [String]) throws {
    var positional: [String] = [], presetName: String?, quiet = false
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        switch argument {
        case "--type":
            guard let value = rest.popFirst() else { throw QuantError(.invalidArgument, "--type needs a preset name") }
            presetName = value
        case "--quiet": quiet = true
        case let option where option.hasPrefix("-"): throw QuantError(.invalidArgument, "unknown option \(option)\n\(quantizeUsage)")
        default: positional.append(argument)
        }
    }
    guard positional.count == 2, let presetName else { throw QuantError(.invalidArgument, quantizeUsage) }
    guard let preset = LlamaPreset(name: presetName) else {
        throw QuantError(.invalidArgument, "unknown preset \(presetName); presets: \(LlamaPreset.allCases.map(\.name).joined(separator: ", "))")
    }
    let clock = ContinuousClock(), start = clock.now
    let reports = try GGUFRequantizer.quantize(input: positional[0], output: positional[1], preset: preset)
    guard !quiet else { return }
    var types: [String: Int] = [:]
    for report in reports { types[report.type.traits.name, default: 0] += 1 }
    let before = reports.reduce(0) { $0 + $1.sourceBytes }, after = reports.reduce(0) { $0 + $1.bytes }
    let mix = types.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    print("\(positional[1]): \(reports.count) tensors (\(mix)), \(before / 1_000_000) MB -> \(after / 1_000_000) MB, "
          + "\((clock.now - start).components.seconds) s")
}

let quantizeUsage = "usage: swquant quantize IN.gguf OUT.gguf --type PRESET [--quiet]   (presets: "
    + LlamaPreset.allCases.map(\.name).joined(separator: ", ") + ")"
