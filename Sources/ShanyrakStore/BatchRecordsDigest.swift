public import ShanyrakCore
internal import ShanyrakCrypto

/// The digest of one batch's records that the audit log anchors (`BatchAnchor`, docs/data-model.md,
/// "Anchors"): BLAKE2b-256 (unkeyed) of the tag `str "shanyrak batch records v1"`, then of each record in increasing id
/// order as `u64 id`, `bytes subject`, `str source name`, `str observed_at`, `bytes payload` (`u64` big-endian,
/// `str` and `bytes` a `u32` big-endian length then the bytes, as in the audit log's entries).
///
/// Records are framed into a buffer and hashed 64 KiB at a time, so that ingest pays one copy of each
/// record and a hash pass over it, not a call per field. BLAKE2b rather than SHA-256: libsodium's SHA-256
/// is portable code, about three times slower here than its vectorised BLAKE2b, and ingest hashes every
/// byte it stores (docs/benchmarks.md).
public struct BatchRecordsDigest {
    /// The tag the digest starts with (its version).
    static let tag = Array("shanyrak batch records v1".utf8)
    private static let flushThreshold = 1 << 16

    private let hasher = KeyedBLAKE2b.Hasher.unkeyed()
    private var buffer: [UInt8] = []
    /// How many records were added.
    public private(set) var records: Int64 = 0

    /// An empty digest (no record yet).
    public init() {
        buffer.reserveCapacity(Self.flushThreshold + 4096)
        appendLength(Self.tag.count)
        buffer.append(contentsOf: Self.tag)
    }

    /// Adds one record; records must come in increasing id order.
    /// - Parameters:
    ///   - id: the record id.
    ///   - subject: the subject pseudonym's bytes.
    ///   - source: the source name's UTF-8.
    ///   - observedAt: the observation date's UTF-8 (`YYYY-MM-DD`).
    ///   - payload: the record's payload bytes.
    public mutating func add(
        id: Int64, subject: UnsafeRawBufferPointer, source: UnsafeRawBufferPointer,
        observedAt: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer
    ) {
        let value = UInt64(bitPattern: id)
        for shift in stride(from: 56, through: 0, by: -8) {
            buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
        appendField(subject)
        appendField(source)
        appendField(observedAt)
        appendField(payload)
        records += 1
        if buffer.count >= Self.flushThreshold {
            hasher.update(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// The anchor of batch `batch` of `source` holding the records added; call it once, after the last record.
    /// - Parameters:
    ///   - batch: the batch id.
    ///   - source: its source name.
    /// - Returns: the anchor.
    public consuming func anchor(batch: Int64, source: String) -> BatchAnchor {
        hasher.update(buffer)
        return BatchAnchor(batch: batch, source: source, records: records, digest: hasher.finalize())
    }

    private mutating func appendField(_ field: UnsafeRawBufferPointer) {
        appendLength(field.count)
        buffer.append(contentsOf: field)
    }

    private mutating func appendLength(_ count: Int) {
        let v = UInt32(clamping: count)
        buffer.append(UInt8(truncatingIfNeeded: v >> 24))
        buffer.append(UInt8(truncatingIfNeeded: v >> 16))
        buffer.append(UInt8(truncatingIfNeeded: v >> 8))
        buffer.append(UInt8(truncatingIfNeeded: v))
    }
}
