/// The data path both model-file writers share: an atomic output, and the bookkeeping of the two ways
/// of adding tensors (declared first and written in order, or added with their data, which waits in a
/// scratch file until the header can be written). The writers own the header's contents.
final class _TensorDataStream {
    let path: String
    private let output: AtomicFile
    private var spool: _SpoolFile?
    private var byteCounts: [Int] = []
    private var names: [String] = []
    private var declared = false
    private var nextToWrite = 0
    /// The header is written (metadata and tensor infos are frozen).
    private(set) var headerWritten = false

    init(path: String) throws(QuantError) {
        self.path = path
        output = try AtomicFile(path: path)
    }

    /// Throws once the header is written: metadata can no longer change.
    func checkMetadataIsOpen() throws(QuantError) {
        guard !headerWritten else { throw QuantError(.invalidArgument, "metadata must be set before tensor data is written") }
    }

    /// Checks that a tensor may be declared (before any data, and not mixed with added tensors).
    func checkDeclareIsAllowed() throws(QuantError) {
        guard spool == nil, !headerWritten else {
            throw QuantError(.invalidArgument, "declareTensor must come before any tensor data and is not mixed with addTensor")
        }
    }

    /// Records a declared tensor, whose data comes later, in order.
    func declare(_ name: String, byteCount: Int) {
        declared = true
        names.append(name)
        byteCounts.append(byteCount)
    }

    /// Checks that tensors may be added with their data (not mixed with declared ones).
    func checkAddIsAllowed() throws(QuantError) {
        guard !declared else { throw QuantError(.invalidArgument, "addTensor is not mixed with declareTensor") }
    }

    /// Keeps an added tensor's data, followed by `padding` zero bytes, until `commit`.
    func spool(_ data: UnsafeRawBufferPointer, padding: Int) throws(QuantError) {
        if spool == nil { spool = try _SpoolFile(beside: path) }
        try spool!.write(data)
        try spool!.write(zeros: padding)
    }

    /// Writes the next declared tensor's data (after the header, the first time) and `padding` zeros.
    func writeNext(_ bytes: UnsafeRawBufferPointer, padding: Int, header: () -> [UInt8]) throws(QuantError) {
        guard declared, nextToWrite < byteCounts.count else {
            throw QuantError(.invalidArgument, "every declared tensor's data is already written")
        }
        guard bytes.count == byteCounts[nextToWrite] else {
            throw QuantError(.shape, "tensor \(names[nextToWrite]) needs \(byteCounts[nextToWrite]) bytes, got \(bytes.count)")
        }
        try writeHeaderIfDue(header)
        try output.write(bytes)
        try output.writeZeros(padding)
        nextToWrite += 1
    }

    /// Writes what is due (the header, the spooled data) and renames the file into place.
    func commit(header: () -> [UInt8]) throws(QuantError) {
        guard nextToWrite == byteCounts.count || !declared else {
            throw QuantError(.invalidArgument, "\(byteCounts.count - nextToWrite) declared tensors have no data yet")
        }
        try writeHeaderIfDue(header)
        try spool?.copy(to: output)
        try output.commit()
    }

    private func writeHeaderIfDue(_ header: () -> [UInt8]) throws(QuantError) {
        guard !headerWritten else { return }
        try output.write(header())
        headerWritten = true
    }
}
