internal import Foundation
internal import ShanyrakCore

/// A CSV file written through one large byte buffer: rows are built as bytes and the
/// buffer is handed to the file handle when it passes a threshold, always at a row end.
///
/// Fields are quoted only when they hold a comma, a quote, CR or LF (RFC 4180); lines end in `\n`.
final class CSVFileWriter {
    /// The bytes not yet written. Always ends at a row boundary after `endRow()`.
    var buffer: [UInt8]
    /// Where the current row begins in `buffer`.
    private(set) var rowStart = 0
    /// Rows written so far, header excluded.
    private(set) var rows = 0
    private let handle: FileHandle
    private let flushThreshold: Int

    /// Creates (or truncates) the file and writes the header.
    init(url: URL, header: [String], flushThreshold: Int = 1 << 20) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw GeneratorError.cannotWrite(path: url.path)
        }
        handle = try FileHandle(forWritingTo: url)
        self.flushThreshold = flushThreshold
        buffer = []
        buffer.reserveCapacity(flushThreshold + 64 * 1024)
        for (i, name) in header.enumerated() {
            if i > 0 { comma() }
            field(Array(name.utf8))
        }
        buffer.append(0x0A)
        rowStart = buffer.count
    }

    /// Starts a row: remembers where it begins so that it can be corrupted in place.
    @inline(__always)
    func beginRow() { rowStart = buffer.count }

    /// Ends a row with `\n` and flushes when the buffer is full.
    @inline(__always)
    func endRow() throws {
        buffer.append(0x0A)
        rows += 1
        if buffer.count >= flushThreshold { try flush() }
        rowStart = buffer.count
    }

    /// Writes the buffer to the file.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
        rowStart = 0
    }

    /// Flushes and closes the file.
    func close() throws {
        try flush()
        try handle.close()
    }

    @inline(__always) func comma() { buffer.append(0x2C) }

    /// Appends bytes known to need no quoting.
    @inline(__always) func raw(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// Appends a field, quoting it only when it needs quotes.
    func field(_ bytes: [UInt8]) {
        var needsQuotes = false
        for b in bytes where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            buffer.append(contentsOf: bytes)
            return
        }
        buffer.append(0x22)
        for b in bytes {
            if b == 0x22 { buffer.append(0x22) }
            buffer.append(b)
        }
        buffer.append(0x22)
    }

    /// Appends a non-negative integer, zero-padded to `width` digits.
    @inline(__always)
    func digits(_ value: Int, width: Int) {
        var v = value
        let start = buffer.count
        for _ in 0..<width { buffer.append(0x30) }
        var i = start + width - 1
        while i >= start {
            buffer[i] = UInt8(0x30 + v % 10)
            v /= 10
            i -= 1
        }
    }

    /// Appends an integer without padding.
    @inline(__always)
    func integer(_ value: Int) {
        if value < 0 {
            buffer.append(0x2D)
            integer(-value)
            return
        }
        var width = 1
        var p = 10
        while p <= value && width < 19 {
            width += 1
            p &*= 10
        }
        digits(value, width: width)
    }

    @inline(__always)
    func boolean(_ value: Bool) {
        raw(value ? Self.trueBytes : Self.falseBytes)
    }

    /// Appends a day number as `YYYY-MM-DD`.
    @inline(__always)
    func date(_ dayNumber: Int) {
        let c = CivilDate.civil(dayNumber)
        digits(c.year, width: 4)
        buffer.append(0x2D)
        digits(c.month, width: 2)
        buffer.append(0x2D)
        digits(c.day, width: 2)
    }

    static let trueBytes = Array("true".utf8)
    static let falseBytes = Array("false".utf8)

    // MARK: Corruption of the current row (before endRow), for --error-rate.

    /// The byte range of field `index` of the current row. Only for rows without quoted fields.
    func fieldRange(_ index: Int) -> Range<Int> {
        var start = rowStart
        var field = 0
        var i = rowStart
        while i < buffer.count {
            if buffer[i] == 0x2C {
                if field == index { return start..<i }
                field += 1
                start = i + 1
            }
            i += 1
        }
        return start..<buffer.count
    }

    /// Number of fields in the current row. Only for rows without quoted fields.
    var fieldCount: Int {
        var n = 1
        for i in rowStart..<buffer.count where buffer[i] == 0x2C { n += 1 }
        return n
    }

    /// Replaces field `index` of the current row with `bytes`, written as they are.
    func replaceField(_ index: Int, with bytes: [UInt8]) {
        buffer.replaceSubrange(fieldRange(index), with: bytes)
    }
}
