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
/// Layout (format 2): format byte `2`, then per value
/// `indicator number (u16 little-endian) | key version (LEB128) | MAC (8 bytes) | sealed length (LEB128) | sealed`.
/// Format 1 (written on 2026-11-29 only) had a u32 key version, a 16-byte MAC and a u32
/// length; it is still read, its MAC cut to the 8 bytes compared today.
/// Indicator numbers and key versions are plaintext (see SECURITY.md); the MAC is keyed (`valuemac`).
public struct RecordPayload: Sendable {
    /// The first byte of every payload written now.
    public static let formatVersion: UInt8 = 2
    /// Length of each value's MAC: the first 8 bytes of keyed BLAKE2b-128. It only tells an
    /// identical re-delivery from a change; a false match needs a 2^-64 chance per changed value.
    public static let macLength = 8

    /// The encoded payload.
    public private(set) var bytes: [UInt8]
    /// How many values it holds.
    public private(set) var count = 0

    /// An empty payload.
    public init() {
        bytes = [Self.formatVersion]
        bytes.reserveCapacity(1024)
    }

    /// Whether it holds no value.
    public var isEmpty: Bool { count == 0 }

    /// Adds one sealed value.
    /// - Parameter mac: its MAC; a longer one (format 1, 16 bytes) is cut to `macLength`.
    /// - Throws: `StoreError` when the indicator number does not fit or the MAC is too short.
    public mutating func append(indicator: Int64, keyVersion: UInt32, mac: some Collection<UInt8>, sealed: some Collection<UInt8>) throws {
        guard (0...Int64(UInt16.max)).contains(indicator), mac.count >= Self.macLength else {
            throw StoreError(message: "value for indicator number \(indicator) cannot be stored (bad number or MAC)")
        }
        appendHeader(indicator: indicator, keyVersion: keyVersion)
        bytes.append(contentsOf: mac.prefix(Self.macLength))
        appendVarint(UInt64(sealed.count))
        bytes.append(contentsOf: sealed)
        count += 1
    }

    /// Adds one value: computes its MAC (the first 8 bytes of keyed BLAKE2b-128 of
    /// `subject || indicator id || 0 || value` under `macKey`) and seals it under `key`
    /// (version `keyVersion`), both straight into the payload.
    /// - Parameters:
    ///   - scratch: a reusable buffer for the MAC input (ingest keeps one per thread).
    /// - Throws: `StoreError` for an indicator number that does not fit, `CryptoError` for a bad key;
    ///   the payload is then unchanged.
    public mutating func appendSealing(
        _ value: String, indicator: Int64, indicatorID: String, subject: Pseudonym, keyVersion: UInt32,
        key: SecureBytes, macKey: SecureBytes, scratch: inout [UInt8], sealer: inout ValueSealer
    ) throws {
        guard (0...Int64(UInt16.max)).contains(indicator) else {
            throw StoreError(message: "indicator number \(indicator) cannot be stored")
        }
        let start = bytes.count
        do {
            appendHeader(indicator: indicator, keyVersion: keyVersion)
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: subject.bytes)
            scratch.append(contentsOf: indicatorID.utf8)
            scratch.append(0)
            scratch.append(contentsOf: value.utf8)
            let inputLength = scratch.count
            // BLAKE2b's shortest output is 16 bytes: hash into the scratch buffer's tail, keep 8.
            scratch.append(contentsOf: repeatElement(0, count: 16))
            try scratch.withUnsafeMutableBytes { buffer in
                try KeyedBLAKE2b.hash(
                    UnsafeRawBufferPointer(rebasing: buffer[..<inputLength]), key: macKey,
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[inputLength...]))
            }
            bytes.append(contentsOf: scratch[inputLength..<(inputLength + Self.macLength)])
            // The sealed value's length is known before sealing: the format adds a fixed overhead.
            appendVarint(UInt64(value.utf8.count + SealedValueFormat.overhead))
            let sealedAt = bytes.count
            try sealer.seal(value, subject: subject, indicator: indicatorID, keyVersion: keyVersion, key: key, appendingTo: &bytes)
            guard bytes.count - sealedAt == value.utf8.count + SealedValueFormat.overhead else {
                throw StoreError(message: "sealed value has an unexpected length")
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
        /// Keyed MAC of the canonical value (`macLength` bytes, whatever the format).
        public let mac: UnsafeRawBufferPointer
        /// The sealed value.
        public let sealed: UnsafeRawBufferPointer
    }

    /// Calls `body` with each value of an encoded payload, in order.
    /// - Throws: `StoreError` when the payload is malformed (nothing is guessed), or what `body` throws.
    public static func forEachEntry(in payload: UnsafeRawBufferPointer, _ body: (Entry) throws -> Void) throws {
        guard let format = payload.first, format == 1 || format == 2 else {
            throw StoreError(message: "stored record has an unknown payload format")
        }
        var reader = Reader(payload: payload, offset: 1)
        while !reader.atEnd {
            let indicator = Int64(try reader.littleEndian(UInt16.self))
            let version: UInt32
            let mac: UnsafeRawBufferPointer
            let length: Int
            if format == 1 {
                version = try reader.littleEndian(UInt32.self)
                mac = try reader.take(16)
                length = Int(try reader.littleEndian(UInt32.self))
            } else {
                guard let v = UInt32(exactly: try reader.varint()) else { throw Reader.truncated }
                version = v
                mac = try reader.take(macLength)
                guard let l = Int(exactly: try reader.varint()) else { throw Reader.truncated }
                length = l
            }
            let sealed = try reader.take(length)
            try body(
                Entry(
                    indicator: indicator, keyVersion: version,
                    mac: UnsafeRawBufferPointer(rebasing: mac[mac.startIndex..<(mac.startIndex + macLength)]), sealed: sealed))
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
        try RecordPayload.forEachEntry(in: payload.bytes) { add(indicator: $0.indicator, keyVersion: $0.keyVersion, sign) }
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
