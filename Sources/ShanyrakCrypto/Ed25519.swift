internal import CSodium

/// Ed25519 signatures (libsodium `crypto_sign`): audit checkpoints and policy bundles.
public enum Ed25519 {
    /// Public key length.
    public static let publicKeyLength = 32
    /// Signature length.
    public static let signatureLength = 64
    /// Seed (private key) length as stored in key files.
    public static let seedLength = 32

    /// A verification key.
    public struct PublicKey: Sendable, Hashable {
        /// The 32 raw bytes.
        public let rawBytes: [UInt8]

        /// Wraps 32 raw bytes.
        /// - Throws: `CryptoError.invalidKeyLength` otherwise.
        public init(rawBytes: [UInt8]) throws(CryptoError) {
            guard rawBytes.count == Ed25519.publicKeyLength else {
                throw .invalidKeyLength(expected: Ed25519.publicKeyLength, actual: rawBytes.count)
            }
            self.rawBytes = rawBytes
        }

        /// Whether `signature` is a valid signature of `message` under this key.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == Ed25519.signatureLength, Sodium.initialised else { return false }
            return crypto_sign_verify_detached(signature, message, UInt64(message.count), rawBytes) == 0
        }
    }

    /// A signing key: the 32-byte seed and the expanded 64-byte secret key, in secure memory.
    public struct SigningKey: Sendable {
        /// The expanded secret key (seed || public key), as libsodium uses it.
        private let secretKey: SecureBytes
        /// The seed, the form kept in key files.
        public let seed: SecureBytes
        /// The matching public key.
        public let publicKey: PublicKey

        /// A new random key pair.
        /// - Throws: `CryptoError` when secure memory cannot be allocated.
        public static func generate() throws(CryptoError) -> SigningKey {
            try SigningKey(seed: SecureBytes.random(count: seedLength))
        }

        /// Derives the key pair from its 32-byte seed.
        /// - Throws: `CryptoError` on a wrong seed length.
        public init(seed: SecureBytes) throws(CryptoError) {
            try Sodium.ensureInitialised()
            guard seed.count == seedLength else { throw .invalidKeyLength(expected: seedLength, actual: seed.count) }
            var pk = [UInt8](repeating: 0, count: publicKeyLength)
            var rc: Int32 = -1
            let sk: SecureBytes
            do {
                sk = try SecureBytes(count: 64) { skBuffer in
                    seed.withUnsafeBytes { s in
                        rc = crypto_sign_seed_keypair(
                            &pk, skBuffer.sodiumPointer, s.sodiumPointer)
                    }
                }
            } catch {
                throw .allocationFailed
            }
            try Sodium.check(rc, "crypto_sign_seed_keypair")
            self.secretKey = sk
            self.seed = seed
            self.publicKey = try PublicKey(rawBytes: pk)
        }

        /// The detached signature of `message`.
        public func signature(for message: [UInt8]) -> [UInt8] {
            var sig = [UInt8](repeating: 0, count: signatureLength)
            secretKey.withUnsafeBytes { sk in
                _ = crypto_sign_detached(
                    &sig, nil, message, UInt64(message.count), sk.sodiumPointer)
            }
            return sig
        }
    }
}
