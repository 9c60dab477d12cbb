// The dynamic int8 path's dot-product tiers on raw arguments, for Tests/arm64/run.sh: built with the
// core's Int8Dot files for aarch64 so that a C driver can compare the NEON tier with the scalar one.

/// One weight row times one activation row by the scalar (`tier` 0) or NEON (`tier` 1) tier, for
/// `bits` 4 or 8 (see `_Int8DotOperands` for the arguments).
@_cdecl("swq_check_int8_dot")
public func swqCheckInt8Dot(
    _ bits: Int32, _ tier: Int32, _ weights: UnsafePointer<UInt8>, _ activations: UnsafePointer<Int8>,
    _ activationScales: UnsafePointer<Float>, _ groupScales: UnsafePointer<Float>, _ blocks: Int,
    _ blocksPerGroup: Int, _ signed: Int32
) -> Float {
    let o = _Int8DotOperands(weights: weights, activations: activations, laneScales: activationScales,
                             activationScales: activationScales, groupScales: groupScales, blocks: blocks,
                             blocksPerGroup: blocksPerGroup, signed: signed != 0)
    switch (tier, bits) {
    case (0, 4): return _ScalarInt8Dot.dot4(o)
    case (0, _): return _ScalarInt8Dot.dot8(o)
    case (_, 4): return _NEONInt8Dot.dot4(o)
    default: return _NEONInt8Dot.dot8(o)
    }
}
