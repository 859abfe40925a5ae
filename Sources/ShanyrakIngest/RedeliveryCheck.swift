internal import ShanyrakCore
internal import ShanyrakCrypto
internal import ShanyrakStore

/// Tells whether a value just sealed is an identical re-delivery of the newest stored value of its
/// indicator at its date (same subject and source), whatever format and key version that one has.
///
/// - Both in format 3 under one key version (every re-delivery since the registry wrote format 3 and
///   its class key last rotated): their MACs, the starts of their ivs, are computed the same way over
///   the same associated data, so they are compared as they are.
/// - Otherwise the stored MAC was computed another way: under an older key version's iv key (the class
///   key was rotated since), or, for a value stored before format 3, with the `valuemac` key. The new
///   value, sealed a moment ago under a key this process holds, is opened and its MAC computed that
///   way. That costs one open and one BLAKE2b per such value, and only until `keys rewrap` has
///   re-sealed the stored values (an identical re-delivery leaves the stored value as it is).
/// - A stored value below the registry's sealed-format floor is refused, unopened: the batch is refused.
struct RedeliveryCheck {
    let keys: DataKeys
    /// The `valuemac` key, which keys the MACs of values stored before format 3.
    let macKey: SecureBytes
    /// The feed's source name, which the new values are sealed with.
    let source: String
    /// Indicator id and class by registry number.
    let indicators: [Int64: (id: String, keyClass: String)]

    /// Whether `new` (a value of a record about `subject` observed at `observedAt`, sealed by this
    /// ingest) has the same plaintext as the stored value whose MAC is `stored`.
    /// - Throws: `StoreError.dataKeysRotated` (through `writer`) when the stored value is under a key
    ///   version this process does not hold because the keys were rotated since it loaded them;
    ///   `StoreError.sealedFormatBelowFloor` when the stored value is in a format older than the registry
    ///   accepts (put there from an older copy of the registry: it is no ground to take the new value for
    ///   a re-delivery, nor to store it over a value nobody can tell is genuine);
    ///   `StoreError` or `CryptoError` when something is wrong with the keys or the new value.
    func isIdentical(
        _ new: RecordPayload.Entry, to stored: StoredMAC, subject: Pseudonym, observedAt: String,
        writer: BatchWriter
    ) throws -> Bool {
        guard keys.accepts(sealedFormat: stored.sealedFormat) else {
            let id = indicators[new.indicator]?.id ?? "indicator number \(new.indicator)"
            throw StoreError.sealedFormatBelowFloor(
                "the stored value of \(id) observed at \(observedAt) from source \(source) (the newest of its subject)",
                format: stored.sealedFormat, floor: keys.sealedFormatFloor)
        }
        let recordBound = SealedValueFormat.recordBoundVersion
        if stored.sealedFormat == recordBound && stored.keyVersion == new.keyVersion
            && new.sealedFormat == recordBound
        {
            return stored.bits == new.macBits
        }
        guard let (id, keyClass) = indicators[new.indicator],
            let newKey = keys.valueKey(for: keyClass, version: new.keyVersion)
        else {
            throw StoreError(message: "indicator number \(new.indicator) has no registry entry or active key")
        }
        let plain = try SealedValueFormat.open(
            Array(new.sealed), subject: subject, indicator: id, keyVersion: new.keyVersion, observedAt: observedAt,
            source: source, key: newKey.key)
        let mac: [UInt8]
        if stored.sealedFormat == recordBound {
            guard let storedKey = keys.valueKey(for: keyClass, version: stored.keyVersion) else {
                // A newer version than this process knows means the keys were rotated since it loaded them.
                try writer.refuseIfKeysRotated()
                throw StoreError(
                    message: "a stored value of \(id) is sealed under \(keyClass) version \(stored.keyVersion), "
                        + "which is not active: the registry's keys and values disagree")
            }
            mac = try SealedValueFormat.recordBoundIV(
                plain, subject: subject, indicator: id, observedAt: observedAt, source: source, key: storedKey)
        } else {
            mac = try SealedValueFormat.legacyMAC(plain, subject: subject, indicator: id, macKey: macKey)
        }
        return mac.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } == stored.bits
    }
}
