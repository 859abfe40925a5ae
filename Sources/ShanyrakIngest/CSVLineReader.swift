public import Foundation
public import ShanyrakCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams a CSV file one physical line at a time, in fixed memory.
///
/// Feeds are RFC 4180 CSV with one record per line: quoted fields may hold commas
/// and doubled quotes but not line breaks, so that a malformed line can be
/// quarantined by its line number and the rest of the file still reads. Lines end
/// with LF or CRLF (a CR at the very end of the file counts as a line ending too);
/// a UTF-8 byte-order mark at the start of the file is skipped.
public struct CSVLineReader: ~Copyable {
    private let fd: Int32
    /// The file's path, for errors.
    private let path: String
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// Bytes consumed so far (for progress).
    public private(set) var bytesRead = 0
    /// Takes every byte read, so that the file's digest comes with the one pass that parses it.
    private let digest: KeyedBLAKE2b.Hasher?

    /// Opens `url` for reading.
    /// - Parameter digest: a hasher that receives every byte of the file as it is read.
    /// - Throws: `IngestError.input` when it cannot be opened.
    public init(url: URL, bufferSize: Int = 1 << 22, digest: KeyedBLAKE2b.Hasher? = nil) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw IngestError.input("cannot read \(url.path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = url.path
        self.buffer = [UInt8](repeating: 0, count: bufferSize)
        self.digest = digest
    }

    deinit { close(fd) }

    /// The next line without its line ending, or nil at the end of the file.
    /// - Throws: `IngestError.input` on a read error, or when a line with its line ending does
    ///   not fit in the buffer (4 MiB by default); the message names the line and the rule.
    public mutating func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[start..<end].firstIndex(of: 0x0a) {
                let line = content(from: start, to: nl)
                start = nl + 1
                lineNumber += 1
                return line
            }
            if eof {
                guard start < end else { return nil }
                let line = content(from: start, to: end)
                start = end
                lineNumber += 1
                return line
            }
            // Move the partial line to the front and read more.
            if start > 0 {
                let n = end - start
                buffer.withUnsafeMutableBytes { p in
                    if let base = p.baseAddress { memmove(base, base + start, n) }
                }
                start = 0
                end = n
            }
            guard end < buffer.count else {
                throw IngestError.input(
                    "\(path):\(lineNumber + 1): line \(lineNumber + 1) is longer than the line length limit "
                        + "(\(buffer.count) bytes with its line ending)")
            }
            let capacity = buffer.count - end
            let offset = end
            let n = buffer.withUnsafeMutableBytes { p in read(fd, p.baseAddress.map { $0 + offset }, capacity) }
            if n < 0 { throw IngestError.input("\(path):\(lineNumber + 1): read error at line \(lineNumber + 1)") }
            if n == 0 {
                eof = true
            } else {
                if let digest {
                    buffer.withUnsafeBytes {
                        digest.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)]))
                    }
                }
                end += n
                bytesRead += n
            }
        }
    }

    /// `buffer[from..<to]` without a CR at its end and, on the first line, without a UTF-8
    /// byte-order mark at its start.
    private func content(from: Int, to: Int) -> ArraySlice<UInt8> {
        var from = from
        var to = to
        if to > from && buffer[to - 1] == 0x0d { to -= 1 }
        if lineNumber == 0 && to - from >= 3 && buffer[from] == 0xef && buffer[from + 1] == 0xbb
            && buffer[from + 2] == 0xbf
        {
            from += 3
        }
        return buffer[from..<to]
    }

    /// Splits one line into fields.
    /// - Returns: the fields, or the 1-based column position where the quoting is malformed.
    public static func fields(of line: ArraySlice<UInt8>) -> Result<[String], MalformedLine> {
        var fields: [String] = []
        var i = line.startIndex
        let end = line.endIndex
        while true {
            if i < end && line[i] == 0x22 {  // quoted field
                var bytes: [UInt8] = []
                i += 1
                var closed = false
                while i < end {
                    if line[i] == 0x22 {
                        if i + 1 < end && line[i + 1] == 0x22 {
                            bytes.append(0x22)
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    bytes.append(line[i])
                    i += 1
                }
                guard closed else {
                    return .failure(MalformedLine(field: fields.count + 1, rule: "unterminated quoted field"))
                }
                guard i == end || line[i] == 0x2c else {
                    return .failure(MalformedLine(field: fields.count + 1, rule: "text after a closing quote"))
                }
                fields.append(String(decoding: bytes, as: UTF8.self))
            } else {
                let fieldStart = i
                while i < end && line[i] != 0x2c {
                    if line[i] == 0x22 {
                        return .failure(MalformedLine(field: fields.count + 1, rule: "quote inside an unquoted field"))
                    }
                    i += 1
                }
                fields.append(String(decoding: line[fieldStart..<i], as: UTF8.self))
            }
            if i == end { return .success(fields) }
            i += 1  // skip the comma
            if i == end {
                fields.append("")
                return .success(fields)
            }
        }
    }

    /// Where and why a line is not valid CSV.
    public struct MalformedLine: Error, Sendable {
        /// 1-based field position.
        public let field: Int
        /// The rule broken.
        public let rule: String
    }
}
