internal import ShanyrakCore

/// A Bloom filter of the subjects met in one ingest batch, in fixed memory (16 MiB).
///
/// On a source's first delivery, a subject the filter has not met has nothing stored,
/// so ingest skips the lookup of its previous values. A false "met" only costs that
/// lookup; a false "not met" cannot happen. Pseudonyms are keyed hashes, uniformly
/// distributed, so their own bytes serve as the filter's hash functions.
struct SubjectFilter {
    private static let bitCount = 1 << 27
    private var words = [UInt64](repeating: 0, count: SubjectFilter.bitCount / 64)

    /// Adds `subject`; returns true when it was certainly not met before.
    mutating func insert(_ subject: Pseudonym) -> Bool {
        var new = false
        subject.withUnsafeBytes { raw in
            for probe in 0..<3 {
                let bit = Int(raw.loadUnaligned(fromByteOffset: probe * 4, as: UInt32.self)) & (Self.bitCount - 1)
                let mask = UInt64(1) << UInt64(bit & 63)
                if words[bit >> 6] & mask == 0 {
                    new = true
                    words[bit >> 6] |= mask
                }
            }
        }
        return new
    }
}
