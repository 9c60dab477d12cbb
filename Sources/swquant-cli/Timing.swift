/// Median wall time of `repeats` runs of `body`, in seconds, after one warm-up run.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double {
    body()
    let clock = ContinuousClock()
    var samples = [Double]()
    for _ in 0..<repeats {
        let elapsed = clock.measure(body)
        samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// Right-aligns `text` in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: Swift.max(0, width - text.count)) + text
}

/// `value` with `digits` decimals, without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value.isNaN { return "nan" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value.magnitude * scale).rounded()
    let whole = Int(rounded / scale)
    var fraction = String(Int(rounded) - whole * Int(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return (value < 0 && rounded != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
}
