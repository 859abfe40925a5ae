public import ShanyrakCore
public import ShanyrakCrypto

/// The values of one stored record: what one feed row newly observed about one
/// subject, each value sealed on its own (`SealedValueFormat`), packed in one blob.
///
/// One record per feed row instead of one row per value keeps the registry's
/// B-trees about ten times smaller, which is what makes ingest fast; sealing stays
/// per value, so a reader still opens only the values policy granted.
///
/// Layout: format byte `1`, then per value (integers little-endian):
/// `indicator number (u16) | key version (u32) | MAC (16 bytes) | sealed length (u32) | sealed`.
/// Indicator numbers and key versions are plaintext, as the `value` columns were
/// before (see SECURITY.md); the MAC is keyed (`valuemac`).
public struct RecordPayload: Sendable {
    /// The first byte of every payload.
    public static let formatVersion: UInt8 = 1
    /// Length of each value's MAC.
    public static let macLength = 16
    static let entryHeaderLength = 2 + 4 + macLength + 4

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
    /// - Throws: `StoreError` when the indicator number does not fit or the MAC has the wrong length.
    public mutating func append(indicator: Int64, keyVersion: UInt32, mac: [UInt8], sealed: [UInt8]) throws {
        guard (0...Int64(UInt16.max)).contains(indicator), mac.count == Self.macLength,
            sealed.count <= Int(UInt32.max)
        else { throw StoreError(message: "value for indicator number \(indicator) cannot be stored (bad number or MAC)") }
        appendLittleEndian(UInt16(indicator))
        appendLittleEndian(keyVersion)
        bytes.append(contentsOf: mac)
        appendLittleEndian(UInt32(sealed.count))
        bytes.append(contentsOf: sealed)
        count += 1
    }

    /// Adds one value: computes its MAC (keyed BLAKE2b-128 of `subject || indicator id || 0 || value`
    /// under `macKey`) and seals it under `key` (version `keyVersion`), both straight into the payload.
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
            appendLittleEndian(UInt16(indicator))
            appendLittleEndian(keyVersion)
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: subject.bytes)
            scratch.append(contentsOf: indicatorID.utf8)
            scratch.append(0)
            scratch.append(contentsOf: value.utf8)
            let macAt = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: Self.macLength + 4))
            try scratch.withUnsafeBytes { message in
                try bytes.withUnsafeMutableBytes { out in
                    try KeyedBLAKE2b.hash(
                        message, key: macKey, into: UnsafeMutableRawBufferPointer(rebasing: out[macAt..<(macAt + Self.macLength)]))
                }
            }
            let sealedAt = bytes.count
            try sealer.seal(value, subject: subject, indicator: indicatorID, keyVersion: keyVersion, key: key, appendingTo: &bytes)
            let length = UInt32(bytes.count - sealedAt)
            withUnsafeBytes(of: length.littleEndian) { l in
                bytes.withUnsafeMutableBytes { out in
                    out.baseAddress!.advanced(by: macAt + Self.macLength).copyMemory(from: l.baseAddress!, byteCount: 4)
                }
            }
        } catch {
            bytes.removeSubrange(start...)
            throw error
        }
        count += 1
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// One value inside an encoded payload; the buffers borrow the payload's bytes.
    public struct Entry {
        /// Registry number of the indicator.
        public let indicator: Int64
        /// Version of the class key the value is sealed under.
        public let keyVersion: UInt32
        /// Keyed MAC of the canonical value.
        public let mac: UnsafeRawBufferPointer
        /// The sealed value.
        public let sealed: UnsafeRawBufferPointer
    }

    /// Calls `body` with each value of an encoded payload, in order.
    /// - Throws: `StoreError` when the payload is malformed (nothing is guessed), or what `body` throws.
    public static func forEachEntry(in payload: UnsafeRawBufferPointer, _ body: (Entry) throws -> Void) throws {
        guard payload.first == formatVersion else {
            throw StoreError(message: "stored record has an unknown payload format")
        }
        var offset = 1
        while offset < payload.count {
            guard payload.count - offset >= entryHeaderLength else {
                throw StoreError(message: "stored record payload is truncated")
            }
            let indicator = payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian
            let version = payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self).littleEndian
            let mac = UnsafeRawBufferPointer(rebasing: payload[(offset + 6)..<(offset + 6 + macLength)])
            let length = Int(payload.loadUnaligned(fromByteOffset: offset + 6 + macLength, as: UInt32.self).littleEndian)
            let start = offset + entryHeaderLength
            guard length <= payload.count - start else {
                throw StoreError(message: "stored record payload is truncated")
            }
            let sealed = UnsafeRawBufferPointer(rebasing: payload[start..<(start + length)])
            try body(Entry(indicator: Int64(indicator), keyVersion: version, mac: mac, sealed: sealed))
            offset = start + length
        }
    }

    /// `forEachEntry` over a byte array.
    public static func forEachEntry(in payload: [UInt8], _ body: (Entry) throws -> Void) throws {
        try payload.withUnsafeBytes { try forEachEntry(in: $0, body) }
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
}
