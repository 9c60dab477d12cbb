// Dense float64 linear algebra for the PTQ algorithms: Cholesky factors, their inverses, and a small
// register-tiled matrix product. Everything runs in a fixed order, so results do not depend on the
// thread count.

/// Columns handled together by the Cholesky factorisation and the triangular inverse: each row of the
/// factor is read from memory once per panel and reused from the cache for the panel's columns.
let _panelColumns = 32

/// The upper Cholesky factor `U` of `A⁻¹` (`A⁻¹ = UᵀU`) for a symmetric positive definite `A`
/// (row-major `k x k`, float64); throws `.invalidArgument` when `A` is not positive definite.
///
/// With `J` the order-reversing permutation and `JAJ = LLᵀ`, `A⁻¹ = J L⁻ᵀ L⁻¹ J = UᵀU` for the upper
/// triangular `U = J L⁻¹ J`: one Cholesky factorisation and one triangular inverse. `JAJ` is `A`'s
/// elements in reverse order, and the factorisation and `U` reuse `A`'s storage.
func _inverseCholeskyUpper(_ a: consuming [Double], _ k: Int) throws(QuantError) -> [Double] {
    var l = consume a
    l.reverse()
    try _factorCholesky(&l, k)
    // (L⁻¹)ᵀ, row c holding column c of L⁻¹, by forward substitution (rows contiguous for the dots). A
    // panel of columns goes down the rows of L together; panels are handed out heaviest and lightest
    // in turn, so that contiguous ranges of them carry similar work.
    var inverseT = [Double](repeating: 0, count: k * k)
    let panels = (k + _panelColumns - 1) / _panelColumns
    l.withUnsafeBufferPointer { l in
        inverseT.withUnsafeMutableBufferPointer { t in
            let (l, t) = (l.baseAddress!, t.baseAddress!)
            _parallelForRanges(itemCount: panels) { items in
                for item in items {
                    let panel = item % 2 == 0 ? item / 2 : panels - 1 - item / 2
                    let columns = (panel * _panelColumns)..<Swift.min(panel * _panelColumns + _panelColumns, k)
                    for c in columns { t[c * k + c] = 1 / l[c * k + c] }
                    for i in (columns.lowerBound + 1)..<k {
                        for c in columns.lowerBound..<Swift.min(i, columns.upperBound) {
                            let row = t + c * k
                            row[i] = -_dotDouble(l + i * k + c, row + c, i - c) / l[i * k + i]
                        }
                    }
                }
            }
        }
    }
    // U[i][j] = (L⁻¹)[k-1-i][k-1-j] = inverseT[k-1-j][k-1-i], zero below the diagonal; by tiles, so
    // that both sides stay in the cache.
    var u = consume l
    let tile = 32, tiles = (k + tile - 1) / tile
    inverseT.withUnsafeBufferPointer { t in
        u.withUnsafeMutableBufferPointer { u in
            _parallelForRanges(itemCount: tiles) { tileRows in
                for rowTile in tileRows {
                    let rows = (rowTile * tile)..<Swift.min(rowTile * tile + tile, k)
                    for i in rows { for j in 0..<i { u[i * k + j] = 0 } }
                    for columnTile in rowTile..<tiles {
                        for i in rows {
                            for j in Swift.max(i, columnTile * tile)..<Swift.min(columnTile * tile + tile, k) {
                                u[i * k + j] = t[(k - 1 - j) * k + (k - 1 - i)]
                            }
                        }
                    }
                }
            }
        }
    }
    return u
}

/// Replaces the lower triangle of a symmetric positive definite matrix (row-major, float64) with its
/// lower Cholesky factor (the upper triangle is left as it was), by panels of columns: the panel's
/// diagonal block first, then the rows below it in parallel, each computing the panel's columns from its
/// own row and the panel's rows (the same sums as column by column).
func _factorCholesky(_ matrix: inout [Double], _ k: Int) throws(QuantError) {
    try matrix.withUnsafeMutableBufferPointer { l throws(QuantError) in
        let l = l.baseAddress!
        /// Entries `columns` of row `i`, all left of the diagonal.
        @inline(__always) func factorRow(_ i: Int, _ columns: Range<Int>) {
            for j in columns { l[i * k + j] = (l[i * k + j] - _dotDouble(l + i * k, l + j * k, j)) / l[j * k + j] }
        }
        for start in stride(from: 0, to: k, by: _panelColumns) {
            let end = Swift.min(start + _panelColumns, k)
            for i in start..<end {
                factorRow(i, start..<i)
                let diagonal = l[i * k + i] - _dotDouble(l + i * k, l + i * k, i)
                guard diagonal > 0, diagonal.isFinite else {
                    throw QuantError(.invalidArgument, "the Hessian is not positive definite; raise damp")
                }
                l[i * k + i] = diagonal.squareRoot()
            }
            _parallelForRanges(itemCount: k - end) { rows in
                for i in rows { factorRow(end + i, start..<end) }
            }
        }
    }
}

/// The lower Cholesky factor of the block `block x block` of a `k x k` Gram matrix (row-major, float64)
/// with `1e-7 * mean(diag)` added to its diagonal, so that it factors when some inputs are dead or
/// correlated; in float32, zero above the diagonal. Measuring `d H dᵀ` as `‖d L‖²`, the ridge changes
/// it by a relative 1e-7 per unit of `‖d‖²`.
func _ridgedCholeskyFactor(_ gram: [Double], _ k: Int, block: Range<Int>) throws(QuantError) -> [Float] {
    let m = block.count, first = block.lowerBound
    var h = [Double](repeating: 0, count: m * m)
    for i in 0..<m { for j in 0..<m { h[i * m + j] = gram[(first + i) * k + first + j] } }
    let ridge = 1e-7 * Swift.max((0..<m).reduce(0.0) { $0 + h[$1 * m + $1] } / Double(m), .leastNormalMagnitude)
    for i in 0..<m { h[i * m + i] += ridge }
    try _factorCholesky(&h, m)
    return (0..<(m * m)).map { $0 % m <= $0 / m ? Float(h[$0]) : 0 }
}

/// `sum a[i] * b[i]` over `count` doubles with eight-lane accumulators (a fixed order).
@inline(__always)
func _dotDouble(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
    var sum = SIMD8<Double>()
    var i = 0
    while i + 8 <= count {
        sum += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Double>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Double>.self)
        i += 8
    }
    var total = sum.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}


/// `c[r][j] += sum over t of a[r][t] * b[t][j]` for `r < rows`, `j < columns`, `t < depth`, where row `r`
/// of a matrix starts `stride` elements after row `r - 1`. Tiles of 4 rows by two vectors of columns stay
/// in registers while `t` runs, so each `b` tile is loaded once for four rows; every sum adds its terms
/// in order of `t`, so the result does not depend on the tiling.
@inline(__always)
func _addProducts<Vector: SIMD>(_: Vector.Type, rows: Int, columns: Int, depth: Int,
                                a: UnsafePointer<Vector.Scalar>, aStride: Int,
                                b: UnsafePointer<Vector.Scalar>, bStride: Int,
                                c: UnsafeMutablePointer<Vector.Scalar>, cStride: Int) where Vector.Scalar: BinaryFloatingPoint {
    let lanes = Vector.scalarCount
    @inline(__always) func load(_ p: UnsafePointer<Vector.Scalar>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
    @inline(__always) func store(_ v: Vector, _ p: UnsafeMutablePointer<Vector.Scalar>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self) }
    var first = 0
    while first < rows {
        let count = Swift.min(8, rows - first)
        let (a0, c0) = (a + first * aStride, c + first * cStride)
        var j = 0
        if count == 8 {
            while j + 2 * lanes <= columns {
                var s0 = (load(c0 + j), load(c0 + j + lanes))
                var s1 = (load(c0 + cStride + j), load(c0 + cStride + j + lanes))
                var s2 = (load(c0 + 2 * cStride + j), load(c0 + 2 * cStride + j + lanes))
                var s3 = (load(c0 + 3 * cStride + j), load(c0 + 3 * cStride + j + lanes))
                var s4 = (load(c0 + 4 * cStride + j), load(c0 + 4 * cStride + j + lanes))
                var s5 = (load(c0 + 5 * cStride + j), load(c0 + 5 * cStride + j + lanes))
                var s6 = (load(c0 + 6 * cStride + j), load(c0 + 6 * cStride + j + lanes))
                var s7 = (load(c0 + 7 * cStride + j), load(c0 + 7 * cStride + j + lanes))
                for t in 0..<depth {
                    let row = b + t * bStride + j
                    let (b0, b1) = (load(row), load(row + lanes))
                    @inline(__always) func step(_ s: inout (Vector, Vector), _ r: Int) {
                        let x = Vector(repeating: a0[r * aStride + t])
                        _multiplyAdd(&s.0, x, b0); _multiplyAdd(&s.1, x, b1)
                    }
                    step(&s0, 0); step(&s1, 1); step(&s2, 2); step(&s3, 3)
                    step(&s4, 4); step(&s5, 5); step(&s6, 6); step(&s7, 7)
                }
                @inline(__always) func put(_ s: (Vector, Vector), _ r: Int) {
                    store(s.0, c0 + r * cStride + j); store(s.1, c0 + r * cStride + j + lanes)
                }
                put(s0, 0); put(s1, 1); put(s2, 2); put(s3, 3); put(s4, 4); put(s5, 5); put(s6, 6); put(s7, 7)
                j += 2 * lanes
            }
        }
        // The columns left (all of them when fewer than four rows remain): one row and vector at a time,
        // then single columns.
        for r in 0..<count {
            let (ar, cr) = (a0 + r * aStride, c0 + r * cStride)
            var jj = j
            while jj + lanes <= columns {
                var sum = load(cr + jj)
                for t in 0..<depth { _multiplyAdd(&sum, Vector(repeating: ar[t]), load(b + t * bStride + jj)) }
                store(sum, cr + jj)
                jj += lanes
            }
            while jj < columns {
                var sum = Vector(repeating: cr[jj])
                for t in 0..<depth { _multiplyAdd(&sum, Vector(repeating: ar[t]), Vector(repeating: b[t * bStride + jj])) }
                cr[jj] = sum[0]
                jj += 1
            }
        }
        first += 8
    }
}
