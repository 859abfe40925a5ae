internal import GRDB
public import ShanyrakCore
public import ShanyrakCrypto

/// The values of one stored record: what one feed row newly observed about one
/// subject, each value sealed on its own (`SealedValueFormat`), packed in one blob.
///
/// One record per feed row instead of one row per value keeps the registry's
/// B-trees about ten times smaller, which is what makes ingest fast; sealing stays
/// per value, so a reader still opens only the values policy granted.
///
/// Layout (format 3, written since 2026-11-30): format byte `3`, then per value
/// `indicator number (u16 little-endian) | key version (LEB128) | sealed length (LEB128) | sealed`,
/// each value sealed with a synthetic iv, whose first 8 bytes are the value's MAC: in
/// `SealedValueFormat` version 3 (what ingest and rewrap write), or version 2 (written before it).
///
/// Formats 1 and 2 (2026-11-29) stored a separate MAC and version 1 sealed values (random
/// nonce): format 2 as `indicator (u16 LE) | key version (LEB128) | MAC (8) | length (LEB128) | sealed`,
/// format 1 with a u32 key version, a 16-byte MAC and a u32 length. Both are still read; a rewrap
/// writes a record whose values all have a synthetic iv in format 3, and keeps one that still holds
/// a random-nonce value in format 2 (its version 3 values then store their iv's start as MAC).
/// Indicator numbers and key versions are plaintext (see SECURITY.md).
///
/// What a MAC is depends on the sealed value's format (`Entry.sealedFormat`): for version 3, the
/// start of its iv, keyed by its key version's iv key over its whole associated data; for versions
/// 1 and 2, the start of keyed BLAKE2b-128 (`valuemac`) of subject, indicator and value
/// (`SealedValueFormat.legacyMAC`).
public struct RecordPayload: Sendable {
    /// The format of every payload ingest writes now.
    public static let formatVersion: UInt8 = 3
    /// The last format with a separate MAC per value (a rewrap of an older record that keeps a
    /// random-nonce value writes it).
    public static let separateMACFormat: UInt8 = 2
    /// Length of the MAC that decides whether a value changed: the first 8 bytes of a synthetic
    /// iv (or, for a version 1 value, of what its version 2 iv would be). A false match needs a
    /// 2^-64 chance per changed value.
    public static let macLength = 8

    /// The encoded payload.
    public private(set) var bytes: [UInt8]
    /// How many values it holds.
    public private(set) var count = 0

    /// An empty payload in `format` (3 unless a rewrap or migration keeps an older record's format 2).
    public init(format: UInt8 = formatVersion) {
        precondition(format == Self.formatVersion || format == Self.separateMACFormat, "unknown record format")
        bytes = [format]
        bytes.reserveCapacity(1024)
    }

    /// This payload's format.
    public var format: UInt8 { bytes[0] }

    /// Whether it holds no value.
    public var isEmpty: Bool { count == 0 }

    /// Adds one sealed value: in format 3 it must have a synthetic iv (`SealedValueFormat` version 2
    /// or 3), which is its MAC (`mac` is ignored); in format 2 it is stored with `mac` (for a version 3
    /// value, its iv's start, as `appendSealing` and `Entry.mac` have it).
    /// - Parameter mac: its MAC; a longer one (format 1, 16 bytes) is cut to `macLength`.
    /// - Throws: `StoreError` when the indicator number does not fit, the MAC is too short,
    ///   or the sealed value is not in a format this payload stores.
    public mutating func append(
        indicator: Int64, keyVersion: UInt32, mac: some Collection<UInt8>, sealed: some Collection<UInt8>
    ) throws {
        guard (0...Int64(UInt16.max)).contains(indicator) else {
            throw StoreError(message: "value for indicator number \(indicator) cannot be stored (bad number)")
        }
        if format == Self.formatVersion {
            guard SealedValueFormat.isSynthetic(sealed) else {
                throw StoreError(
                    message: "value for indicator number \(indicator) is not sealed with a synthetic nonce")
            }
        } else {
            guard mac.count >= Self.macLength else {
                throw StoreError(message: "value for indicator number \(indicator) cannot be stored (MAC too short)")
            }
        }
        appendHeader(indicator: indicator, keyVersion: keyVersion)
        if format != Self.formatVersion { bytes.append(contentsOf: mac.prefix(Self.macLength)) }
        appendVarint(UInt64(sealed.count))
        bytes.append(contentsOf: sealed)
        count += 1
    }

    /// Copies `entry` (read from another payload) into this one.
    /// - Throws: `StoreError` when its sealed value is not in a format this payload stores.
    public mutating func append(_ entry: Entry) throws {
        try append(indicator: entry.indicator, keyVersion: entry.keyVersion, mac: entry.mac, sealed: entry.sealed)
    }

    /// Seals `value` in `SealedValueFormat` version 3 under `key`, bound to its record's observation
    /// date and source, straight into the payload; its iv's start is its MAC.
    /// - Parameters:
    ///   - indicator: the indicator's registry number.
    ///   - indicatorID: the indicator's id (bound in the associated data).
    ///   - observedAt: the date the record will be stored with, exactly as stored.
    ///   - source: the source name the record will be stored with.
    ///   - key: the class key to seal under, with its iv key (its version is stored with the value).
    /// - Throws: `StoreError` for an indicator number that does not fit, `CryptoError` for a field too
    ///   long; the payload is then unchanged.
    public mutating func appendSealing(
        _ value: String, indicator: Int64, indicatorID: String, subject: Pseudonym, observedAt: String,
        source: String, key: ValueKey, sealer: inout ValueSealer
    ) throws {
        guard (0...Int64(UInt16.max)).contains(indicator) else {
            throw StoreError(message: "indicator number \(indicator) cannot be stored (bad number)")
        }
        let start = bytes.count
        do {
            appendHeader(indicator: indicator, keyVersion: key.version)
            // The sealed value's length is known before sealing: the format adds a fixed overhead.
            let sealedLength = value.utf8.count + SealedValueFormat.syntheticOverhead
            // Format 2 stores the MAC apart, before the length: the iv's start, written once sealed.
            let macAt = bytes.count
            if format != Self.formatVersion { bytes.append(contentsOf: repeatElement(0, count: Self.macLength)) }
            appendVarint(UInt64(sealedLength))
            let sealedAt = bytes.count
            try sealer.sealRecordBound(
                value, subject: subject, indicator: indicatorID, observedAt: observedAt, source: source, key: key,
                appendingTo: &bytes)
            guard bytes.count - sealedAt == sealedLength else {
                throw StoreError(message: "sealed value has an unexpected length")
            }
            if format != Self.formatVersion {
                let ivAt = sealedAt + 1
                bytes.withUnsafeMutableBytes { b in
                    UnsafeMutableRawBufferPointer(rebasing: b[macAt..<(macAt + Self.macLength)]).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: b[ivAt..<(ivAt + Self.macLength)]))
                }
            }
        } catch {
            bytes.removeSubrange(start...)
            throw error
        }
        count += 1
    }

    private mutating func appendHeader(indicator: Int64, keyVersion: UInt32) {
        withUnsafeBytes(of: UInt16(indicator).littleEndian) { bytes.append(contentsOf: $0) }
        appendVarint(UInt64(keyVersion))
    }

    private mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// One value inside an encoded payload; the buffers borrow the payload's bytes.
    public struct Entry {
        /// Registry number of the indicator.
        public let indicator: Int64
        /// Version of the class key the value is sealed under.
        public let keyVersion: UInt32
        /// The value's MAC (`macLength` bytes, whatever the format; see the type's documentation).
        public let mac: UnsafeRawBufferPointer
        /// The sealed value.
        public let sealed: UnsafeRawBufferPointer

        /// The sealed value's format (`SealedValueFormat`), which says how its MAC was computed.
        public var sealedFormat: UInt8 { sealed.first ?? 0 }

        /// The MAC's 8 bytes as one number (in memory order: for comparing, not for reading).
        public var macBits: UInt64 { mac.loadUnaligned(as: UInt64.self) }
    }

    /// The format byte of an encoded payload, when it is one this version reads.
    public static func format(of payload: UnsafeRawBufferPointer) -> UInt8? {
        guard let format = payload.first, (1...formatVersion).contains(format) else { return nil }
        return format
    }

    /// Calls `body` with each value of an encoded payload, in order.
    /// - Throws: `StoreError` when the payload is malformed (nothing is guessed), or what `body` throws.
    public static func forEachEntry(in payload: UnsafeRawBufferPointer, _ body: (Entry) throws -> Void) throws {
        guard let format = format(of: payload) else {
            throw StoreError(message: "stored record has an unknown payload format")
        }
        var reader = Reader(payload: payload, offset: 1)
        while !reader.atEnd {
            let indicator = Int64(try reader.littleEndian(UInt16.self))
            let version: UInt32
            var mac: UnsafeRawBufferPointer?
            let length: Int
            if format == 1 {
                version = try reader.littleEndian(UInt32.self)
                mac = try reader.take(16)
                length = Int(try reader.littleEndian(UInt32.self))
            } else {
                guard let v = UInt32(exactly: try reader.varint()) else { throw Reader.truncated }
                version = v
                if format == 2 { mac = try reader.take(macLength) }
                guard let l = Int(exactly: try reader.varint()) else { throw Reader.truncated }
                length = l
            }
            let sealed = try reader.take(length)
            if format == formatVersion {
                // The MAC is the start of the synthetic iv, just after the sealed value's format byte.
                guard SealedValueFormat.isSynthetic(sealed) else {
                    throw StoreError(message: "stored record holds a value in an unexpected sealed format")
                }
                mac = UnsafeRawBufferPointer(rebasing: sealed[1...])
            }
            guard let mac else { throw Reader.truncated }
            try body(
                Entry(
                    indicator: indicator, keyVersion: version,
                    mac: UnsafeRawBufferPointer(rebasing: mac[mac.startIndex..<(mac.startIndex + macLength)]),
                    sealed: sealed))
        }
    }

    /// `forEachEntry` over a byte array.
    public static func forEachEntry(in payload: [UInt8], _ body: (Entry) throws -> Void) throws {
        try payload.withUnsafeBytes { try forEachEntry(in: $0, body) }
    }

    /// Reads a payload front to back, refusing to read past its end.
    private struct Reader {
        static let truncated = StoreError(message: "stored record payload is truncated")
        let payload: UnsafeRawBufferPointer
        var offset: Int

        var atEnd: Bool { offset >= payload.count }

        mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, n <= payload.count - offset else { throw Self.truncated }
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + n)])
        }

        mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let raw = try take(MemoryLayout<T>.size)
            return T(littleEndian: raw.loadUnaligned(as: T.self))
        }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < payload.count, shift < 64 else { throw Self.truncated }
                let byte = payload[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
    }
}

/// Stored values per (indicator number, key version), as the `value_count` table keeps them.
///
/// Ingest counts a chunk's values on the thread that seals them, so that the writer
/// thread, the slower of the two, only corrects for rows it did not store as they came.
public struct ValueCounts: Sendable {
    /// Count per `indicator << 32 | key version`.
    private(set) var counts: [Int64: Int] = [:]

    /// No values.
    public init() {}

    /// Adds `n` values of `indicator` under `keyVersion`.
    public mutating func add(indicator: Int64, keyVersion: UInt32, _ n: Int = 1) {
        counts[indicator << 32 | Int64(keyVersion), default: 0] += n
    }

    /// Adds (`sign` 1) or removes (`sign` -1) every value of an encoded payload.
    /// - Throws: `StoreError` for a malformed payload.
    public mutating func add(_ payload: RecordPayload, sign: Int = 1) throws {
        try RecordPayload.forEachEntry(in: payload.bytes) {
            add(indicator: $0.indicator, keyVersion: $0.keyVersion, sign)
        }
    }

    /// Adds every count of `other`.
    public mutating func add(_ other: ValueCounts) {
        for (key, n) in other.counts { counts[key, default: 0] += n }
    }

    /// Adds these counts to the `value_count` table (inside the caller's transaction).
    func save(_ db: Database) throws {
        for (key, n) in counts where n != 0 {
            try db.execute(
                sql: """
                    INSERT INTO value_count (indicator, key_version, n) VALUES (?, ?, ?)
                    ON CONFLICT (indicator, key_version) DO UPDATE SET n = n + excluded.n
                    """, arguments: [key >> 32, key & 0xFFFF_FFFF, n])
        }
    }
}
