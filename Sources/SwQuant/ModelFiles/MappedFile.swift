#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory: opening costs a system call whatever the size, and a page is
/// read from disk only when something touches it.
///
/// The bytes stay valid while the object lives; they must not be used after it is released.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The whole file (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(QuantError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw _systemError("cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw _systemError("cannot stat \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw QuantError(.invalidArgument, "\(path) is not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw _systemError("cannot map \(path)") }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Lets the system drop the pages of `range` from memory (a stream that has read them will not read
    /// them again); the bytes stay valid and are read from the file again if touched.
    public func discard(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard page > 0, start < end, end <= bytes.count else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }
}

/// An error for a failed system call, with errno's text.
func _systemError(_ what: String) -> QuantError {
    let code = errno
    let reason = strerror(code).map { String(cString: $0) } ?? "errno \(code)"
    return QuantError(.invalidArgument, "\(what): \(reason)")
}

/// A file written atomically: bytes go to a temporary file in the destination's folder, which
/// `commit()` flushes to disk and renames over the destination. Until then the destination (if it
/// exists) is untouched, and an error, a kill or releasing the object without committing leaves no
/// trace but, after a kill, the temporary file (`.NAME.swquant-XXXXXX`).
public final class AtomicFile {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var committed = false
    /// Bytes written so far.
    public private(set) var size = 0

    public init(path: String) throws(QuantError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw QuantError(.invalidArgument, "\(path) names a folder, not a file") }
        var template = Array("\(folder).\(name).swquant-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw _systemError("cannot create a temporary file next to \(path)") }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(QuantError) {
        guard fd >= 0 else { throw QuantError(.invalidArgument, "\(path) is already committed") }
        try _writeAll(fd, bytes, temporaryPath)
        size += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws(QuantError) {
        let failure: QuantError? = bytes.withUnsafeBytes { raw in _caught { () throws(QuantError) in try write(raw) } }
        if let failure { throw failure }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws(QuantError) {
        if count > 0 { try write([UInt8](repeating: 0, count: count)) }
    }

    /// Flushes the data to disk and renames the temporary file over `path`. The file keeps the
    /// permissions of the one it replaces, or gets 0644 (the process's umask is not touched: changing it
    /// would race with every other thread creating files).
    public func commit() throws(QuantError) {
        guard fd >= 0 else { throw QuantError(.invalidArgument, "\(path) is already committed") }
        guard fsync(fd) == 0 else { throw _systemError("cannot flush \(temporaryPath)") }
        fchmod(fd, _fileStatus(path).map { $0.mode & 0o7777 } ?? 0o644)
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else { throw _systemError("cannot rename \(temporaryPath) to \(path)") }
        committed = true
    }
}

/// Writes all of `bytes` to `fd` (retrying short writes and interruptions); `what` names the file in errors.
func _writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ what: String) throws(QuantError) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw _systemError("cannot write \(what)")
        }
        offset += n
    }
}

/// An anonymous scratch file beside an output (created, then unlinked at once): tensor data that
/// arrives before the header can be written waits here instead of in memory.
final class _SpoolFile {
    private let fd: Int32
    private(set) var size = 0

    init(beside path: String) throws(QuantError) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        var template = Array("\(folder).swquant-spool-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw _systemError("cannot create a scratch file next to \(path)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(QuantError) {
        try _writeAll(fd, bytes, "a scratch file")
        size += bytes.count
    }

    func write(zeros count: Int) throws(QuantError) {
        guard count > 0 else { return }
        let zeros = [UInt8](repeating: 0, count: count)
        let failure: QuantError? = zeros.withUnsafeBytes { raw in _caught { () throws(QuantError) in try write(raw) } }
        if let failure { throw failure }
    }

    /// Appends the whole spool to `output`, 8 MB at a time.
    func copy(to output: AtomicFile) throws(QuantError) {
        let chunk = 8 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < size {
            let n = pread(fd, buffer.baseAddress!, min(chunk, size - offset), off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw _systemError("cannot read a scratch file")
            }
            guard n > 0 else { throw QuantError(.invalidArgument, "a scratch file ended early") }
            try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
    }
}

/// The type bits (`S_IFMT`) and mode of `path`, following symbolic links; nil when it cannot be opened.
func _fileStatus(_ path: String) -> (type: UInt32, mode: UInt32)? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    let mode = UInt32(info.st_mode)
    return (mode & UInt32(S_IFMT), mode)
}

/// Whether `path` is a folder.
func _isDirectory(_ path: String) -> Bool { _fileStatus(path)?.type == UInt32(S_IFDIR) }

/// Whether `path` is a regular file.
func _isFile(_ path: String) -> Bool { _fileStatus(path)?.type == UInt32(S_IFREG) }
