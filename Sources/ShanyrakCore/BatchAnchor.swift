/// What the audit log keeps of one ingest batch's records, so that a change to them in the registry
/// file can be found later (`shanyrak registry verify`, docs/data-model.md, "Anchors").
///
/// The digest is BLAKE2b-256 (unkeyed) over the batch's records in id order, each as its id, subject pseudonym,
/// source name, observation date and payload, length-prefixed; the registry computes it
/// (`BatchRecordsDigest`), the audit log stores it in the entry of the ingest (or rewrap) that wrote
/// them. It holds no value and no identifier: only a hash of sealed bytes and pseudonyms.
public struct BatchAnchor: Sendable, Hashable, Codable {
    /// The batch id in the registry's `batch` table (records of the batch have ids `batch << 32 | n`).
    public var batch: Int64
    /// The batch's source name.
    public var source: String
    /// How many records the batch held when the digest was taken.
    public var records: Int64
    /// BLAKE2b-256 of the records (32 bytes).
    public var digest: [UInt8]

    /// Creates an anchor.
    /// - Parameters:
    ///   - batch: the batch id.
    ///   - source: the source name.
    ///   - records: the number of records digested.
    ///   - digest: the 32-byte digest.
    public init(batch: Int64, source: String, records: Int64, digest: [UInt8]) {
        self.batch = batch
        self.source = source
        self.records = records
        self.digest = digest
    }

    private enum CodingKeys: String, CodingKey {
        case batch, source, records, digest
    }

    /// Decodes the JSON form (digest as lowercase hex).
    /// - Throws: `DecodingError` when a field is missing or the digest is not hex.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batch = try c.decode(Int64.self, forKey: .batch)
        source = try c.decode(String.self, forKey: .source)
        records = try c.decode(Int64.self, forKey: .records)
        let text = try c.decode(String.self, forKey: .digest)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .digest, in: c, debugDescription: "not 32 bytes of hex")
        }
        digest = bytes
    }

    /// Encodes the JSON form (digest as lowercase hex).
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batch, forKey: .batch)
        try c.encode(source, forKey: .source)
        try c.encode(records, forKey: .records)
        try c.encode(digestHex, forKey: .digest)
    }

    /// The digest as lowercase hex.
    public var digestHex: String { Hex.encode(digest) }
}
