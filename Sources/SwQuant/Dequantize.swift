extension QuantizedTensor {
    /// Dequantizes every element into `destination` (rows * cols elements of `type`), in parallel.
    func _dequantize(into destination: UnsafeMutableRawPointer, as type: ElementType) {
        let bits = scheme.bits, signed = scheme.grid == .signed
        let rowStride = self.rowStride
        let layout = _ParamLayout(scheme, cols: cols)
        let params = zip(scales, zeroPoints).map { QuantParams(scale: $0, zeroPoint: $1) }
        let plan = _WorkPlan(rows: rows, cols: cols, alignment: layout.alignment)
        let cols = self.cols
        packed.withUnsafeBufferPointer { packed in
        params.withUnsafeBufferPointer { params in
        scales.withUnsafeBufferPointer { scales in
        zeroPoints.withUnsafeBufferPointer { zeroPoints in
            plan.forEachItem { row, columns, floats, codes in
                let source = packed.baseAddress! + row * rowStride + columns.lowerBound * bits / 8
                _BitPacking.unpack(source, count: columns.count, bits: bits, into: codes)
                let out = type == .float32
                    ? destination.assumingMemoryBound(to: Float.self) + row * cols + columns.lowerBound
                    : floats
                if layout.isPerColumn {
                    _dequantizeSpan(codes, columns.count, scales: scales.baseAddress! + columns.lowerBound,
                                    zeroPoints: zeroPoints.baseAddress! + columns.lowerBound,
                                    bits: bits, signed: signed, into: out)
                } else {
                    layout.forEachRun(row: row, columns: columns) { offset, count, index in
                        _dequantizeSpan(codes + offset, count, params[index], bits: bits, signed: signed, into: out + offset)
                    }
                }
                if type != .float32 {
                    _store(floats, count: columns.count, to: destination, offset: row * cols + columns.lowerBound, as: type)
                }
            }
        }
        }
        }
        }
    }
}
