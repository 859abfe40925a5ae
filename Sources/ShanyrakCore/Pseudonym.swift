/// A pseudonym: 16 bytes of keyed BLAKE2b that stand for a person or a household.
///
/// The text form is 32 lower-case hex digits. A pseudonym reveals nothing without
/// the pseudonym key, and the same input always gives the same pseudonym under
/// one key, which is what lets agency feeds meet without sharing IINs.
public struct Pseudonym: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// Length in bytes.
    public static let byteCount = 16
    /// The 16 bytes.
    public let bytes: [UInt8]

    /// Wraps 16 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Parses the 32-hex-digit text form; nil when it is not one.
    public init?(hex: some StringProtocol) {
        let u = Array(hex.utf8)
        guard u.count == Self.byteCount * 2 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount)
        var i = 0
        while i < u.count {
            guard let hi = Self.nibble(u[i]), let lo = Self.nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self.bytes = out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// 32 lower-case hex digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(32)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hex form.
    public var description: String { hex }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = Pseudonym(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a pseudonym"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
