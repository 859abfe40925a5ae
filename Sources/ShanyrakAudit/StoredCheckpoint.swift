/// A checkpoint as stored in the log.
public struct StoredCheckpoint: Sendable, Hashable {
    /// Its 1-based number in issue order.
    public let number: Int
    /// The tree size recorded with it.
    public let size: UInt64
    /// When it was issued (µs since the Unix epoch).
    public let timeMicroseconds: Int64
    /// The signed note.
    public let note: String
}
