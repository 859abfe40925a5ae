/// The pseudonyms of everyone in the population register, in memory, for the question
/// ingest asks of every row of an agency feed: is this person registered?
///
/// Asked of SQLite, the question costs a B-tree seek per row (about a tenth of ingest's
/// writer thread on a large feed); here it is one probe of an open-addressing table.
/// Pseudonyms are keyed BLAKE2b outputs, uniformly distributed and not choosable by a
/// feed without the pseudonym key, so their first eight bytes serve as the hash.
/// The table costs 32 bytes per registered person (load factor at most 1/2).
struct RegisteredPersons {
    /// Slots of two words each; an all-zero slot is empty.
    private var slots: [UInt64]
    private let mask: Int
    /// Whether the (astronomically unlikely) all-zero pseudonym is registered.
    private var containsZero = false
    /// How many pseudonyms it holds.
    private(set) var count = 0

    /// An empty table with room for `capacity` pseudonyms.
    init(capacity: Int) {
        var size = 16
        while size < 2 * max(capacity, 1) { size <<= 1 }
        slots = [UInt64](repeating: 0, count: 2 * size)
        mask = size - 1
    }

    private static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// Adds the 16-byte pseudonym in `bytes`; the table must have room (see `init`).
    mutating func insert(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 16 && count <= mask / 2, "registered-person table misuse")
        let (a, b) = Self.words(bytes)
        if a == 0 && b == 0 {
            if !containsZero { count += 1 }
            containsZero = true
            return
        }
        var i = Int(truncatingIfNeeded: a) & mask
        while true {
            let (x, y) = (slots[2 * i], slots[2 * i + 1])
            if x == 0 && y == 0 {
                slots[2 * i] = a
                slots[2 * i + 1] = b
                count += 1
                return
            }
            if x == a && y == b { return }
            i = (i + 1) & mask
        }
    }

    /// Whether the 16-byte pseudonym in `bytes` was added.
    func contains(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == 16 else { return false }
        let (a, b) = Self.words(bytes)
        if a == 0 && b == 0 { return containsZero }
        var i = Int(truncatingIfNeeded: a) & mask
        while true {
            let (x, y) = (slots[2 * i], slots[2 * i + 1])
            if x == a && y == b { return true }
            if x == 0 && y == 0 { return false }
            i = (i + 1) & mask
        }
    }
}
