import ShanyrakCore
import ShanyrakCrypto
import ShanyrakStore
import Testing

/// A value read out of the registry, still sealed, with everything its format binds: what the tests
/// open to check what ingest stored.
protocol SealedRegistryValue {
    var subject: Pseudonym { get }
    var indicator: String { get }
    var keyVersion: UInt32 { get }
    var sealed: [UInt8] { get }
    var observedAt: String { get }
    var source: String { get }
}

extension SealedObservation: SealedRegistryValue {}
extension StoredValue: SealedRegistryValue {}

extension SealedRegistryValue {
    /// The value, opened with the data key of `keyClass` at its version (a test fails when there is none).
    func opened(keyClass: String, keys: DataKeys) throws -> String {
        let key = try #require(keys.key(for: keyClass, version: keyVersion))
        return try SealedValueFormat.open(
            sealed, subject: subject, indicator: indicator, keyVersion: keyVersion, observedAt: observedAt,
            source: source, key: key)
    }
}
