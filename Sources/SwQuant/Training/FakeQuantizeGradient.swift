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
    let (rows, cols) = (source.rows, source.cols)
    let layout = _ParamLayout(scheme, cols: cols)
    let plan = _WorkPlan(rows: rows, cols: cols, alignment: layout.alignment)
    let qmin = Float(scheme.qmin), qmax = Float(scheme.qmax)
    // Partial sums: per work item for a per-tensor pair, per fixed block of 64 rows for per-column pairs,
    // and directly per pair for runs (each run lies inside one work item).
    let columnBlock = 64
    let partialCount: Int
    if layout.perTensor {
        partialCount = plan.itemCount
    } else if layout.isPerColumn {
        partialCount = (rows + columnBlock - 1) / columnBlock * cols  // blocks x columns
    } else {
        partialCount = params.count
    }
    var scaleSums = [Double](repeating: 0, count: partialCount)
    var zeroSums = [Double](repeating: 0, count: partialCount)
    let columnBlocks = (rows + columnBlock - 1) / columnBlock
    var finite = [Bool](repeating: true, count: Swift.max(plan.itemCount, columnBlocks))

    /// Adds one element's contributions and returns dL/dx.
    @inline(__always)
    func element(_ x: Float, _ g: Float, _ p: QuantParams, _ scaleSum: inout Double, _ zeroSum: inout Double) -> Float {
        let t = x / p.scale
        let r = t.rounded(.toNearestOrEven)
        let z = Float(p.zeroPoint)
        let v = r + z
        if v < qmin {
            scaleSum += Double(g) * Double(qmin - z)
            zeroSum -= Double(g) * Double(p.scale)
            return 0
        }
        if v > qmax {
            scaleSum += Double(g) * Double(qmax - z)
            zeroSum -= Double(g) * Double(p.scale)
            return 0
        }
        scaleSum += Double(g) * Double(r - t)
        return g
    }

    scaleSums.withUnsafeMutableBufferPointer { scaleSums in
    zeroSums.withUnsafeMutableBufferPointer { zeroSums in
    finite.withUnsafeMutableBufferPointer { finite in
    params.withUnsafeBufferPointer { params in
        if layout.isPerColumn {
            _parallelForRanges(itemCount: columnBlocks) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                defer { scratch.deallocate() }
                for block in range {
                    let partial = block * cols
                    for row in (block * columnBlock)..<Swift.min((block + 1) * columnBlock, rows) {
                        let x = source.floats(row: row, start: 0, count: cols, scratch: scratch)
                        if !_allFinite(x, cols) { finite[block] = false; continue }
                        for c in 0..<cols {
                            gradInput[row * cols + c] = element(x[c], gradOutput[row * cols + c], params[c],
                                                                &scaleSums[partial + c], &zeroSums[partial + c])
                        }
                    }
                }
            }
            return
        }
        plan.forEachItem { row, columns, floats, _ in
            let item = row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            guard _allFinite(x, columns.count) else {
                finite[item] = false
                return
            }
            layout.forEachRun(row: row, columns: columns) { offset, count, index in
                let slot = layout.perTensor ? item : index
                var scaleSum = 0.0, zeroSum = 0.0
                let base = row * cols + columns.lowerBound + offset
                for i in 0..<count {
                    gradInput[base + i] = element(x[offset + i], gradOutput[base + i], params[index], &scaleSum, &zeroSum)
                }
                scaleSums[slot] += scaleSum
                zeroSums[slot] += zeroSum
            }
        }
    }
    }
    }
    }
    guard finite.allSatisfy({ $0 }) else { throw _nonFiniteError(source) }

    // Combine partials in a fixed order.
    var scales = [Double](repeating: 0, count: params.count)
    var zeros = [Double](repeating: 0, count: params.count)
    if layout.perTensor {
        for i in 0..<partialCount { scales[0] += scaleSums[i]; zeros[0] += zeroSums[i] }
    } else if layout.isPerColumn {
        for i in 0..<partialCount { scales[i % cols] += scaleSums[i]; zeros[i % cols] += zeroSums[i] }
    } else {
        (scales, zeros) = (scaleSums, zeroSums)
    }
    if lsqGradientScaling {
        for i in params.indices {
            let shared = Double(_elementsSharing(i, layout: layout, rows: rows, cols: cols))
            let factor = 1 / (shared * Double(scheme.qmax)).squareRoot()
            scales[i] *= factor
            zeros[i] *= factor
        }
    }
    return FakeQuantizeGradients(scales: scales.map { Float($0) }, zeroPoints: zeros.map { Float($0) })
}

/// Number of elements that share parameter pair `index`.
func _elementsSharing(_ index: Int, layout: _ParamLayout, rows: Int, cols: Int) -> Int {
    if layout.perTensor { return rows * cols }
    if layout.isPerColumn { return rows }
    let run = index % layout.runsPerRow
    return Swift.min(layout.runLength, cols - run * layout.runLength)
}
