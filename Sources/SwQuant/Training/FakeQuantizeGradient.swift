#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gradients of fake quantization, the backward pass of quantization-aware training.
public struct FakeQuantizeGradients: Sendable {
    /// Gradient with respect to the scale of each parameter pair (LSQ).
    public var scales: [Float]
    /// Gradient with respect to each zero point, treated as continuous (LSQ+); meaningful for affine
    /// schemes, where zero points are learned too.
    public var zeroPoints: [Float]
}

/// The backward pass of `fakeQuantize`: writes `dL/dx` into `gradInput` and returns `dL/dscale` and
/// `dL/dzeroPoint` per parameter pair, given `gradOutput = dL/dy`.
///
/// With `t = x / s`, `v = roundHalfEven(t) + z` and the forward `y = (clamp(v, qmin, qmax) - z) * s`:
/// - straight-through estimator: `dy/dx = 1` where `qmin <= v <= qmax`, else 0;
/// - learned step size (Esser et al., LSQ): `dy/ds = roundHalfEven(t) - t` inside the range,
///   `qmin - z` below it and `qmax - z` above it;
/// - zero point (LSQ+): `dy/dz = 0` inside the range and `-s` where clipped.
/// With `lsqGradientScaling`, the scale and zero-point gradients are multiplied by
/// `1 / sqrt(n * qmax)`, n the number of elements sharing the parameter, as LSQ recommends.
///
/// Sums run in float64 in an order fixed by the shape, so results do not depend on the thread count.
/// Throws as `fakeQuantize` does (NaN or infinity in x, wrong parameter count or values).
public func fakeQuantizeGradient(
    _ source: TensorView, gradOutput: UnsafePointer<Float>, scheme: QuantScheme, params: [QuantParams],
    gradInput: UnsafeMutablePointer<Float>, lsqGradientScaling: Bool = false
) throws(QuantError) -> FakeQuantizeGradients {
    let scheme = try scheme.validated()
    try _checkParams(params, scheme: scheme, rows: source.rows, cols: source.cols)
    let sweep = try _GradientSweep(source: source, gradOutput: gradOutput, gradInput: gradInput, scheme: scheme)
    defer { sweep.deallocate() }
    params.withUnsafeBufferPointer { params in
        sweep.layout.isPerColumn ? sweep.columnBlocks(params.baseAddress!) : sweep.runs(params.baseAddress!)
    }
    guard !sweep.failed.contains(true) else { throw _nonFiniteError(source) }
    var (scales, zeros) = sweep.combined(count: params.count)
    if lsqGradientScaling {
        for i in params.indices {
            let shared = Double(_elementsSharing(i, layout: sweep.layout, rows: source.rows, cols: source.cols))
            let factor = 1 / (shared * Double(scheme.qmax)).squareRoot()
            scales[i] *= factor
            zeros[i] *= factor
        }
    }
    return FakeQuantizeGradients(scales: scales.map { Float($0) }, zeroPoints: zeros.map { Float($0) })
}

/// One pass of `fakeQuantizeGradient` over the tensor: `dL/dx` written in place, the parameter gradients
/// as float64 partial sums that `combined` adds in a fixed order. Partials are kept per work item for a
/// per-tensor pair, per block of 64 rows and column for per-column pairs, and per pair for runs (each run
/// lies inside one work item), so no two threads share one.
struct _GradientSweep {
    static let columnBlock = 64

    let source: TensorView
    let gradOutput: UnsafePointer<Float>
    let gradInput: UnsafeMutablePointer<Float>
    let layout: _ParamLayout
    let plan: _WorkPlan
    let qmin: Float, qmax: Float
    let scaleSums: UnsafeMutableBufferPointer<Double>
    let zeroSums: UnsafeMutableBufferPointer<Double>
    /// Per work item (or column block), whether it met NaN or infinity.
    let failed: UnsafeMutableBufferPointer<Bool>

    /// Allocates the partials; throws `.outOfMemory` when they would not fit.
    init(source: TensorView, gradOutput: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
         scheme: QuantScheme) throws(QuantError) {
        (self.source, self.gradOutput, self.gradInput) = (source, gradOutput, gradInput)
        layout = _ParamLayout(scheme, cols: source.cols)
        plan = _WorkPlan(rows: source.rows, cols: source.cols, alignment: layout.alignment)
        (qmin, qmax) = (Float(scheme.qmin), Float(scheme.qmax))
        let columnBlocks = (source.rows + Self.columnBlock - 1) / Self.columnBlock
        let partials = layout.perTensor ? plan.itemCount
            : layout.isPerColumn ? columnBlocks * source.cols : scheme.qparamCount(rows: source.rows, cols: source.cols)
        try _MemoryLimit.check(partials, elementBytes: 16, for: "the gradient partials")
        scaleSums = .allocate(capacity: partials)
        zeroSums = .allocate(capacity: partials)
        failed = .allocate(capacity: Swift.max(plan.itemCount, columnBlocks))
        scaleSums.initialize(repeating: 0)
        zeroSums.initialize(repeating: 0)
        failed.initialize(repeating: false)
    }

    func deallocate() {
        scaleSums.deallocate()
        zeroSums.deallocate()
        failed.deallocate()
    }

    /// Adds one element's contributions to the parameter sums and returns `dL/dx`.
    @inline(__always)
    func element(_ x: Float, _ g: Float, _ p: QuantParams, _ scaleSum: inout Double, _ zeroSum: inout Double) -> Float {
        let t = x / p.scale
        let r = t.rounded(.toNearestOrEven)
        let z = Float(p.zeroPoint)
        let v = r + z
        if v < qmin || v > qmax {
            scaleSum += Double(g) * Double((v < qmin ? qmin : qmax) - z)
            zeroSum -= Double(g) * Double(p.scale)
            return 0
        }
        scaleSum += Double(g) * Double(r - t)
        return g
    }

    /// Per-column parameters: blocks of rows in parallel, one partial per block and column.
    func columnBlocks(_ params: UnsafePointer<QuantParams>) {
        let (rows, cols) = (source.rows, source.cols)
        _parallelForRanges(itemCount: (rows + Self.columnBlock - 1) / Self.columnBlock) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { scratch.deallocate() }
            for block in range {
                let partial = block * cols
                for row in (block * Self.columnBlock)..<Swift.min((block + 1) * Self.columnBlock, rows) {
                    let x = source.floats(row: row, start: 0, count: cols, scratch: scratch)
                    if !_allFinite(x, cols) { failed[block] = true; continue }
                    for c in 0..<cols {
                        gradInput[row * cols + c] = element(x[c], gradOutput[row * cols + c], params[c],
                                                            &scaleSums[partial + c], &zeroSums[partial + c])
                    }
                }
            }
        }
    }

    /// Per-tensor, per-row and per-group parameters: work items in parallel, runs summed in order.
    func runs(_ params: UnsafePointer<QuantParams>) {
        plan.forEachItem { row, columns, floats, _ in
            let item = row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            guard _allFinite(x, columns.count) else {
                failed[item] = true
                return
            }
            layout.forEachRun(row: row, columns: columns) { offset, count, index in
                let slot = layout.perTensor ? item : index
                var scaleSum = 0.0, zeroSum = 0.0
                let base = row * source.cols + columns.lowerBound + offset
                for i in 0..<count {
                    gradInput[base + i] = element(x[offset + i], gradOutput[base + i], params[index], &scaleSum, &zeroSum)
                }
                scaleSums[slot] += scaleSum
                zeroSums[slot] += zeroSum
            }
        }
    }

    /// The partial sums added per parameter pair, in a fixed order.
    func combined(count: Int) -> (scales: [Double], zeroPoints: [Double]) {
        if !layout.perTensor && !layout.isPerColumn { return (Array(scaleSums), Array(zeroSums)) }
        var scales = [Double](repeating: 0, count: count), zeros = [Double](repeating: 0, count: count)
        for i in scaleSums.indices {
            let pair = layout.perTensor ? 0 : i % source.cols
            scales[pair] += scaleSums[i]
            zeros[pair] += zeroSums[i]
        }
        return (scales, zeros)
    }
}

/// Number of elements that share parameter pair `index`.
func _elementsSharing(_ index: Int, layout: _ParamLayout, rows: Int, cols: Int) -> Int {
    if layout.perTensor { return rows * cols }
    if layout.isPerColumn { return rows }
    let run = index % layout.runsPerRow
    return Swift.min(layout.runLength, cols - run * layout.runLength)
}
