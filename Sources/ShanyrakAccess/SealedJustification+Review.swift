internal import ShanyrakCrypto
public import ShanyrakStore

extension SealedJustification {
    /// The associated data a justification is sealed with:
    /// `shanyrak.breakglass.v1 \0 request id \0 key version`, so that a justification
    /// copied to another entry (request) or claimed under another key version does not open.
    public static func associatedData(requestID: String, keyVersion: UInt32) -> [UInt8] {
        Array("shanyrak.breakglass.v1\u{0}\(requestID)\u{0}\(keyVersion)".utf8)
    }

    /// Seals `text` under the current `justification` data key, bound to `requestID`.
    /// - Throws: `AccessFailure` when the registry has no such key; `CryptoError` otherwise.
    public static func seal(_ text: String, requestID: String, keys: DataKeys) throws -> SealedJustification {
        let cls = DataKeys.justificationClass
        guard let (version, key) = keys.writeKey(for: cls) else {
            throw AccessFailure("no data key to seal a justification")
        }
        let sealed = try XChaCha20Poly1305.seal(
            Array(text.utf8), associatedData: associatedData(requestID: requestID, keyVersion: version), key: key)
        return SealedJustification(keyClass: cls, keyVersion: version, sealed: sealed)
    }

    /// Opens the justification of the audit entry with request id `requestID`, for an auditor's review.
    /// - Returns: the text as the caller wrote it.
    /// - Throws: `AccessFailure` when the key version is not held (retired or unknown) or the
    ///   justification does not belong to this request or key (nothing is guessed).
    public func open(requestID: String, keys: DataKeys) throws -> String {
        guard let key = keys.key(for: keyClass, version: keyVersion) else {
            throw AccessFailure("no \(keyClass) key version \(keyVersion) to open this justification")
        }
        do {
            var plain = try XChaCha20Poly1305.open(
                sealed, associatedData: Self.associatedData(requestID: requestID, keyVersion: keyVersion), key: key)
            defer { wipe(&plain) }
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw AccessFailure("justification does not open with request id and key version \(keyVersion): \(error)")
        }
    }
}
