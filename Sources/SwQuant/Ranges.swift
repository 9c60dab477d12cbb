// Range reductions that feed parameter computation. Minimum and maximum are exact whatever the
// order, so every split of the work gives the same result.

/// Minimum and maximum of the whole tensor.
func _tensorRange(_ source: TensorView) throws(QuantError) -> (min: Float, max: Float) {
    let plan = _WorkPlan(rows: source.rows, cols: source.cols)
    var partials = [(min: Float, max: Float, finite: Bool)](repeating: (0, 0, true), count: plan.itemCount)
    partials.withUnsafeMutableBufferPointer { partials in
        plan.forEachItem { row, columns, floats, _ in
            let x = source.floats(row: row, start: columns.lowerBound, count: columns.count, scratch: floats)
            partials[row * plan.segmentsPerRow + columns.lowerBound / plan.segmentLength] = _minMax(x, columns.count)
        }
    }
    guard partials.allSatisfy(\.finite) else { throw _nonFiniteError(source) }
    return (partials.map(\.min).min()!, partials.map(\.max).max()!)
}

/// Minimum and maximum of each column.
func _columnRanges(_ source: TensorView) throws(QuantError) -> [(min: Float, max: Float)] {
    let cols = source.cols
    let blocks = Swift.min(source.rows, ThreadSettings.count)
    var lows = [Float](repeating: .infinity, count: blocks * cols)
    var highs = [Float](repeating: -.infinity, count: blocks * cols)
    var finite = [Bool](repeating: true, count: blocks)
    lows.withUnsafeMutableBufferPointer { lows in
    highs.withUnsafeMutableBufferPointer { highs in
    finite.withUnsafeMutableBufferPointer { finite in
        _parallelForRanges(itemCount: blocks) { blockRange in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { scratch.deallocate() }
            for block in blockRange {
                let low = lows.baseAddress! + block * cols, high = highs.baseAddress! + block * cols
                var poison: Float = 0
                for row in (source.rows * block / blocks)..<(source.rows * (block + 1) / blocks) {
                    let x = source.floats(row: row, start: 0, count: cols, scratch: scratch)
                    for c in 0..<cols {
                        low[c] = Swift.min(low[c], x[c])
                        high[c] = Swift.max(high[c], x[c])
                        poison += x[c] * 0
                    }
                }
                finite[block] = !poison.isNaN
            }
        }
    }
    }
    }
    guard finite.allSatisfy({ $0 }) else { throw _nonFiniteError(source) }
    var ranges = [(min: Float, max: Float)]()
    ranges.reserveCapacity(cols)
    for c in 0..<cols {
        var low = lows[c], high = highs[c]
        for block in 1..<blocks {
            low = Swift.min(low, lows[block * cols + c])
            high = Swift.max(high, highs[block * cols + c])
        }
        ranges.append((low, high))
    }
    return ranges
}

/// The error for the first NaN or infinity of `source` (scanned serially: only on the failure path).
func _nonFiniteError(_ source: TensorView) -> QuantError {
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: source.cols)
    defer { scratch.deallocate() }
    for row in 0..<source.rows {
        let x = source.floats(row: row, start: 0, count: source.cols, scratch: scratch)
        for c in 0..<source.cols where !x[c].isFinite {
            return QuantError(.nonFinite, "input holds \(x[c]) at row \(row), column \(c); quantization needs finite values")
        }
    }
    return QuantError(.nonFinite, "input holds NaN or infinity")
}

/// Whether every element of `source` is finite (rows split between threads, one flag each).
func _allRowsFinite(_ source: TensorView) -> Bool {
    let threads = _threadCount(itemCount: source.rows)
    var finite = [Bool](repeating: true, count: threads)
    finite.withUnsafeMutableBufferPointer { finite in
        _parallelForThreads(itemCount: source.rows, threads: threads) { thread, rows in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: source.cols)
            defer { scratch.deallocate() }
            for row in rows where !_allFinite(source.floats(row: row, start: 0, count: source.cols, scratch: scratch), source.cols) {
                finite[thread] = false
                return
            }
        }
    }
    return !finite.contains(false)
}
