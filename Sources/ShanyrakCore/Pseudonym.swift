/// A pseudonym: 16 bytes of keyed BLAKE2b that stand for a person or a household.
///
/// The text form is 32 lower-case hex digits. A pseudonym reveals nothing without
/// the pseudonym key, and the same input always gives the same pseudonym under
/// one key, which is what lets agency feeds meet without sharing IINs.
///
/// The bytes are held inline as two big-endian words, not in an array: a view or a feed
/// handles thousands of pseudonyms, and each array was a heap allocation, a reference count
/// to maintain and a pointer to follow for every comparison and hash.
public struct Pseudonym: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// Length in bytes.
    public static let byteCount = 16

    /// Bytes 0-7 and 8-15, read big-endian, so that comparing the words compares the bytes.
    private let high: UInt64
    private let low: UInt64

    /// The 16 bytes, as a new array (prefer `withUnsafeBytes` where speed matters).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 16 bytes, without allocating.
    /// - Parameter body: reads the bytes; they are valid only during the call.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let words = (high.bigEndian, low.bigEndian)
        return try Swift.withUnsafeBytes(of: words, body)
    }

    /// Takes 16 bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.high = high
        self.low = low
    }

    /// Takes 16 bytes from memory (a database column, a hash output) without copying them to an array;
    /// nil for any other length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// Parses the 32-hex-digit text form; nil when it is not one.
    public init?(hex: some StringProtocol) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0
        for c in hex.utf8 {
            guard count < Self.byteCount * 2, let nibble = Self.nibble(c) else { return nil }
            if count < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            count += 1
        }
        guard count == Self.byteCount * 2 else { return nil }
        self.high = high
        self.low = low
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// The 32-hex-digit text form.
    public var hex: String {
        String(unsafeUninitializedCapacity: Self.byteCount * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<(Self.byteCount * 2) {
                let word = i < 16 ? high : low
                let nibble = Int(truncatingIfNeeded: word >> UInt64(60 - 4 * (i & 15))) & 0x0F
                out[i] = digits.utf8Start[nibble]
            }
            return Self.byteCount * 2
        }
    }

    /// The hex form.
    public var description: String { hex }

    /// Byte-wise order (the order of the hex form too).
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = Pseudonym(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a pseudonym"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
