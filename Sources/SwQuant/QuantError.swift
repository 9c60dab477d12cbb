/// Outcome codes, one-to-one with the C ABI's `swq_status` (same names, same numbers).
@frozen
public enum QuantStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// An option is out of its range (bits, group size, enum value).
    case invalidArgument = 1
    /// A required pointer was null (C ABI only).
    case nullPointer = 2
    /// A dimension is zero or negative, or two sizes disagree.
    case shape = 3
    /// A size or a value does not fit its type (for example a scale beyond the float16 range).
    case overflow = 4
    /// The input holds NaN or infinity.
    case nonFinite = 5
    /// A caller buffer is smaller than needed.
    case bufferTooSmall = 6
    /// The request needs more memory than the machine has; nothing was allocated.
    case outOfMemory = 7
}

/// The error every throwing swquant function throws: a status code and a message for people.
///
/// ```swift
/// do { _ = try QuantScheme(bits: 9).validated() }
/// catch let error as QuantError { print(error.status, error.message) }  // invalidArgument ...
/// ```
public struct QuantError: Error, Equatable, Sendable, CustomStringConvertible {
    public let status: QuantStatus
    public let message: String

    public init(_ status: QuantStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}
