public import ShanyrakCore

/// Derives pseudonyms with keyed BLAKE2b under the pseudonym key.
///
/// Inputs are domain-separated (`shanyrak.person.v1`, `shanyrak.household.v1`,
/// `shanyrak.project.v1`), so a person and a household can never share a
/// pseudonym, and each research project gets its own derived key: extracts of
/// two projects cannot be joined on pseudonyms.
public struct Pseudonymiser: Sendable {
    private let key: SecureBytes

    /// Creates a pseudonymiser over a 32-byte pseudonym key.
    /// - Throws: `CryptoError.invalidKeyLength` for another length.
    public init(key: SecureBytes) throws(CryptoError) {
        guard key.count == 32 else { throw .invalidKeyLength(expected: 32, actual: key.count) }
        self.key = key
    }

    /// The pseudonym of a person, from the IIN's twelve digits (the normalised form).
    public func person(_ iin: IIN) -> Pseudonym {
        derive(domain: "shanyrak.person.v1", iin.digits)
    }

    /// The pseudonym of a household, from the population register's household id.
    public func household(registerID: String) -> Pseudonym {
        derive(domain: "shanyrak.household.v1", registerID)
    }

    /// A pseudonymiser for one research project: its key is derived from the
    /// pseudonym key and the project id, and it maps service pseudonyms to project pseudonyms.
    /// - Throws: `CryptoError` when secure memory is unavailable.
    public func forProject(_ projectID: String) throws(CryptoError) -> Pseudonymiser {
        var message = Array("shanyrak.project.v1\u{0}\(projectID)".utf8)
        let derived = try KeyedBLAKE2b.hash(message, key: key, outputLength: 32)
        wipe(&message)
        var copy = derived
        defer { wipe(&copy) }
        return try Pseudonymiser(key: SecureBytes(copying: copy))
    }

    /// Maps a service pseudonym to this pseudonymiser's space (used with `forProject`).
    public func project(_ pseudonym: Pseudonym) -> Pseudonym {
        derive(domain: "shanyrak.project-subject.v1", pseudonym.hex)
    }

    private func derive(domain: String, _ value: String) -> Pseudonym {
        var message = Array(domain.utf8)
        message.append(0)
        message.append(contentsOf: value.utf8)
        var out = (UInt64(0), UInt64(0))  // 16 bytes on the stack: no array per pseudonym
        let ok = message.withUnsafeBytes { m in
            withUnsafeMutableBytes(of: &out) { o in
                (try? KeyedBLAKE2b.hash(m, key: key, into: o)) != nil
            }
        }
        wipe(&message)
        // The key length was checked in init, so hashing cannot fail; keep the guard honest anyway.
        precondition(ok, "BLAKE2b failed with a checked key")
        guard let pseudonym = withUnsafeBytes(of: out, { Pseudonym(bytes: $0) }) else {
            preconditionFailure("16-byte output")
        }
        return pseudonym
    }
}
