internal import Foundation
public import Logging

/// The server's log handler: one line per message on standard error, `time level label: message [metadata]`.
///
/// Hummingbird sets a request-id metadata entry on the logger of every request. swift-log's
/// `StreamLogHandler` formats all metadata each time an entry is set, whether or not anything
/// is logged; this handler formats it only for a message that is written. The server logs no
/// tokens and no record data; metadata holds request ids and the like.
public struct ServerLogHandler: LogHandler {
    /// Messages below this level are dropped.
    public var logLevel: Logger.Level
    /// Metadata added to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: @Sendable (String) -> Void

    /// A handler writing to standard error.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - level: the lowest level written.
    public init(label: String, level: Logger.Level = .notice) {
        self.init(label: label, level: level, output: Self.writeToStandardError)
    }

    /// A handler writing each line to `output` (tests).
    init(label: String, level: Logger.Level, output: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    /// One metadata entry.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line (called by `Logger` only at or above `logLevel`).
    public func log(event: LogEvent) {
        var line = "\(Self.timestamp()) \(event.level) \(label): \(event.message)"
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if !all.isEmpty {
            line += " [" + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "]"
        }
        output(line + "\n")
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601)
    }

    private static let lock = NSLock()
    private static let writeToStandardError: @Sendable (String) -> Void = { line in
        lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }
}
