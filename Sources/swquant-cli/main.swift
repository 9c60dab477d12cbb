// swquant: the command-line face of the Swift core.
//
//   swquant                  quantize built-in LLM-like weights with each scheme and print a table
//   swquant bench            quantize/dequantize throughput, 4096 x 4096 float32, 1 and 2 threads
//   swquant quantize IN.gguf OUT.gguf --type PRESET
//                            a GGUF model to a llama.cpp preset, as llama-quantize writes it
//   swquant quantize-file IN ROWS COLS BITS GROUP SYMMETRIC OUT
//                            quantize raw little-endian float32 IN; write OUT.packed, OUT.scales
//                            (float32) and OUT.zeros (int32); GROUP 0 = per channel, -1 = per tensor
//   swquant info             version, thread count, CPU features and kernel tiers
import CSwQuant
import SwQuant

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let arguments = Array(CommandLine.arguments.dropFirst())

do {
    switch arguments.first {
    case nil, "demo": try runDemo()
    case "bench": try runBench()
    case "quantize": try runQuantize(Array(arguments.dropFirst()))
    case "quantize-file": try runQuantizeFile(Array(arguments.dropFirst()))
    case "info":
        print("swquant \(SWQ_VERSION_MAJOR).\(SWQ_VERSION_MINOR).\(SWQ_VERSION_PATCH), \(ThreadSettings.count) threads (SWQUANT_NUM_THREADS overrides)")
        print("cpu: \(CPUFeatures.current)")
        print("kernel tiers compiled: \(KernelTier.compiled.map(\.description).joined(separator: " ")); active: \(KernelTier.active) (SWQUANT_ISA caps it)")
    case "-h", "--help", "help": print(usage)
    case let command?:
        printError("swquant: unknown command '\(command)'\n\(usage)")
        exit(2)
    }
} catch {
    printError("swquant: \(error)")
    exit(1)
}

/// Writes a line to standard error.
func printError(_ message: String) {
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
}
