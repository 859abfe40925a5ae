public import Foundation

/// What `AuditLogReader.export` wrote.
public struct AuditExportSummary: Sendable, Hashable {
    /// Entries written to `entries.jsonl`.
    public let entries: UInt64
    /// Checkpoints written to `checkpoints.txt`.
    public let checkpoints: Int
    /// The verifier keys written to `audit.vkey`.
    public let verifierKeys: [String]
}

extension AuditLogReader {
    /// Names of the files an export holds.
    public enum ExportFile {
        /// One JSON object per line: `index`, `entry` (base64 of the canonical bytes), `fields` (decoded).
        public static let entries = "entries.jsonl"
        /// The signed checkpoints in issue order, each followed by an empty line.
        public static let checkpoints = "checkpoints.txt"
        /// Verifier keys in signed-note vkey form, one per line.
        public static let verifierKey = "audit.vkey"
    }

    /// Writes the documented export (see docs/audit.md) into `directory`.
    ///
    /// The export ends at the newest stored checkpoint: the checkpoints are read first, and only the
    /// entries that checkpoint covers are written, so a log being appended to meanwhile still gives an
    /// export the offline verifier accepts (whose newest checkpoint covers every entry it holds). Entries
    /// appended after that checkpoint are in the next export; issue a checkpoint first to include them.
    /// A log without any checkpoint is exported whole.
    /// - Parameters:
    ///   - directory: the output folder (created if needed; existing export files are replaced).
    ///   - verifiers: the keys to write to `audit.vkey`; nil writes the keys the log recorded.
    /// - Returns: counts of what was written.
    /// - Throws: `AuditError.storage` when the log cannot be read or the files written, `AuditError.encoding`
    ///   when a stored entry does not decode.
    public func export(to directory: URL, verifiers: [NoteVerifier]? = nil) throws(AuditError) -> AuditExportSummary {
        let keys: [NoteVerifier]
        if let verifiers { keys = verifiers } else { keys = try recordedVerifiers() }
        let fm = FileManager.default
        let entriesURL = directory.appendingPathComponent(ExportFile.entries)
        let handle: FileHandle
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = fm.createFile(atPath: entriesURL.path, contents: nil)
            handle = try FileHandle(forWritingTo: entriesURL)
            try handle.truncate(atOffset: 0)
        } catch {
            throw .storage("cannot write \(entriesURL.path)")
        }
        defer { try? handle.close() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let stored = try checkpoints()
        let end = stored.last?.size ?? UInt64.max
        var count: UInt64 = 0
        var buffer = Data()
        var writeFailed = false
        try forEachEntry { (index, bytes) throws(AuditError) in
            guard index < end else { return false }
            let line = ExportLine(
                index: index, entry: Data(bytes).base64EncodedString(), fields: try AuditEntryCodec.decode(bytes))
            do {
                buffer.append(try encoder.encode(line))
                buffer.append(0x0A)
                if buffer.count > 1 << 20 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            } catch {
                writeFailed = true
                return false
            }
            count += 1
            return true
        }
        do {
            guard !writeFailed else { throw AuditError.storage("write failed") }
            try handle.write(contentsOf: buffer)
            try handle.synchronize()
        } catch {
            throw .storage("cannot write \(entriesURL.path)")
        }
        let notes = stored.map { $0.note + "\n" }.joined()
        let vkeys = keys.map(\.vkey)
        do {
            try Data(notes.utf8).write(to: directory.appendingPathComponent(ExportFile.checkpoints), options: .atomic)
            try Data(vkeys.map { $0 + "\n" }.joined().utf8).write(
                to: directory.appendingPathComponent(ExportFile.verifierKey), options: .atomic)
        } catch {
            throw .storage("cannot write the export files in \(directory.path)")
        }
        return AuditExportSummary(entries: count, checkpoints: stored.count, verifierKeys: vkeys)
    }
}

/// One line of `entries.jsonl`.
private struct ExportLine: Encodable {
    let index: UInt64
    let entry: String
    let fields: AuditEntry
}
