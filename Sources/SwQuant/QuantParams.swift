/// A scale and zero point: `x' = (q - zeroPoint) * scale`.
@frozen
public struct QuantParams: Sendable, Hashable {
    public var scale: Float
    public var zeroPoint: Int32

    @inlinable
    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }
}

extension QuantScheme {
    /// The parameters that map `[min, max]` onto this scheme's grid (the granularity is ignored).
    ///
    /// See `QuantScheme` for the formulas. `min` and `max` must be finite with `min <= max`; a
    /// float16-stored scale beyond the float16 range throws `.overflow`.
    ///
    /// ```swift
    /// let p = try QuantScheme(bits: 8, symmetric: false).qparams(min: -1, max: 3)
    /// // p.scale == 4 / 255, p.zeroPoint == 64
    /// ```
    public func qparams(min: Float, max: Float) throws(QuantError) -> QuantParams {
        _ = try validated()
        guard min.isFinite, max.isFinite else {
            throw QuantError(.nonFinite, "range must be finite, got [\(min), \(max)]")
        }
        guard min <= max else {
            throw QuantError(.invalidArgument, "range minimum \(min) is above its maximum \(max)")
        }
        return try _qparams(min: min, max: max)
    }

    /// `qparams(min:max:)` without the checks, for kernels that validated their input.
    @inline(__always)
    func _qparams(min: Float, max: Float) throws(QuantError) -> QuantParams {
        let width: Double
        if symmetric {
            width = Double(Swift.max(min.magnitude, max.magnitude)) / Double(qmax - symmetricZeroPoint)
        } else {
            width = (Double(Swift.max(max, 0)) - Double(Swift.min(min, 0))) / Double(qmax - qmin)
        }
        var scale = width == 0 ? 1 : Swift.max(Float(width), Float.leastNormalMagnitude)
        if scaleStorage == .float16 { scale = try Self._roundUpToFloat16(scale) }
        while true {
            let zero = symmetric ? symmetricZeroPoint : _affineZeroPoint(min: min, scale: scale)
            // Near ±FLT_MAX the end codes times the rounded scale can overflow: step the scale down until
            // every code dequantizes to a finite value (a no-op for every other range).
            if (Float(qmax - zero) * scale).isFinite && (Float(qmin - zero) * scale).isFinite {
                return QuantParams(scale: scale, zeroPoint: zero)
            }
            scale = scale.nextDown
        }
    }

    /// The affine zero point for a range starting at `min` (widened to contain 0), on the grid.
    @inline(__always)
    func _affineZeroPoint(min: Float, scale: Float) -> Int32 {
        // Within [-2^(bits), 0] for the scales `_qparams` makes; clamped so that no conversion can trap.
        let shift = Int32(Swift.max((Swift.min(min, 0) / scale).rounded(.toNearestOrEven), -Float(1 << 24)))
        return Swift.min(Swift.max(qmin - shift, qmin), qmax)
    }

    /// The smallest float16 value not below `scale`, as a Float.
    @inline(__always)
    static func _roundUpToFloat16(_ scale: Float) throws(QuantError) -> Float {
        guard scale <= Float(Float16.greatestFiniteMagnitude) else {
            throw QuantError(.overflow, "scale \(scale) exceeds the float16 range; store scales as float32")
        }
        var half = Float16(scale)
        if Float(half) < scale { half = half.nextUp }
        return Float(half)
    }
}

/// The parameters `QuantizedTensor(quantizing:scheme:)` would choose for `source`, in
/// `QuantScheme.qparamCount` order. Throws as quantization does.
public func computeQParams(_ source: TensorView, scheme: QuantScheme) throws(QuantError) -> [QuantParams] {
    try _computeQParams(source, scheme.validated())
}

extension QuantScheme {
    /// A learned, continuous zero point as the integer the quantizer uses: rounded half to even and
    /// clamped to the grid `[qmin, qmax]`, as torch's learnable fake quantization rounds its float zero
    /// point in the forward pass. Throws `.nonFinite` for NaN or infinity.
    public func zeroPoint(rounding value: Float) throws(QuantError) -> Int32 {
        guard value.isFinite else { throw QuantError(.nonFinite, "zero point must be finite, got \(value)") }
        let rounded = value.rounded(.toNearestOrEven)
        return Int32(Swift.min(Swift.max(rounded, Float(qmin)), Float(qmax)))
    }
}
