/// Why a feed could not be loaded at all (nothing was written).
public struct IngestError: Error, Sendable, CustomStringConvertible {
    /// What is wrong; never a personal value.
    public let message: String
    /// The process exit code that reports it.
    public let exitCode: Int32

    /// A bad mapping, unknown source, or catalog problem.
    public static func configuration(_ message: String) -> IngestError { IngestError(message: message, exitCode: 2) }
    /// The file cannot be read or its header is wrong.
    public static func input(_ message: String) -> IngestError { IngestError(message: message, exitCode: 2) }
    /// `--all-or-nothing` refused the batch.
    public static func refused(_ message: String) -> IngestError { IngestError(message: message, exitCode: 4) }

    /// The message.
    public var description: String { message }
}
