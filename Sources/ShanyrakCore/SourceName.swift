/// The rule for the name of an agency feed source (`police`, `health`, ...), as the catalog, the feed
/// mappings and agency accounts write it.
///
/// Names are plain ASCII so that every part of the service compares them byte for byte, as Cedar does:
/// a Swift `String` compares canonically equivalent Unicode spellings as equal, and Cedar does not, so a
/// name with a non-ASCII character could be one source to the engine's grouping and two to Cedar.
public enum SourceName {
    /// The rule, in words, for error messages.
    public static let rule = "lower-case ASCII letters, digits and _, starting with a letter, at most 32 characters"

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...32).contains(bytes.count), let first = bytes.first, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x5f }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (0x61...0x7a).contains(byte) }
}
