internal import CSodium

/// SHA-256 (libsodium `crypto_hash_sha256`): the audit log's Merkle hash.
public enum SHA256 {
    /// Digest length in bytes.
    public static let digestLength = 32

    /// The digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        _ = Sodium.initialised
        var out = [UInt8](repeating: 0, count: digestLength)
        crypto_hash_sha256(&out, bytes.bindMemory(to: UInt8.self).baseAddress, UInt64(bytes.count))
        return out
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of `prefix || a || b` without building the concatenation:
    /// the shape of RFC 9162 interior nodes (`prefix` 0x01) and leaves (0x00, `b` empty).
    public static func hash(prefix: UInt8, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> [UInt8] {
        _ = Sodium.initialised
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var p = prefix
        crypto_hash_sha256_update(&state, &p, 1)
        crypto_hash_sha256_update(&state, a.bindMemory(to: UInt8.self).baseAddress, UInt64(a.count))
        crypto_hash_sha256_update(&state, b.bindMemory(to: UInt8.self).baseAddress, UInt64(b.count))
        var out = [UInt8](repeating: 0, count: digestLength)
        crypto_hash_sha256_final(&state, &out)
        return out
    }
}

extension SHA256 {
    /// Incremental SHA-256 for data that arrives in pieces (files, streams).
    public struct Hasher: Sendable {
        private var state = crypto_hash_sha256_state()

        /// A fresh hasher.
        public init() {
            _ = Sodium.initialised
            crypto_hash_sha256_init(&state)
        }

        /// Adds `bytes`.
        public mutating func update(_ bytes: [UInt8]) {
            crypto_hash_sha256_update(&state, bytes, UInt64(bytes.count))
        }

        /// The digest of everything added.
        public mutating func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: SHA256.digestLength)
            crypto_hash_sha256_final(&state, &out)
            return out
        }
    }
}

/// Keyed BLAKE2b (libsodium `crypto_generichash`): pseudonyms and token hashes.
public enum KeyedBLAKE2b {
    /// Computes BLAKE2b of `message` under `key` with an output of `outputLength` bytes (16...64).
    /// - Throws: `CryptoError` when the key is not 16...64 bytes.
    public static func hash(_ message: UnsafeRawBufferPointer, key: SecureBytes, outputLength: Int = 32)
        throws(CryptoError) -> [UInt8]
    {
        try Sodium.ensureInitialised()
        guard key.count >= 16, key.count <= 64 else { throw .invalidKeyLength(expected: 32, actual: key.count) }
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = key.withUnsafeBytes { k in
            crypto_generichash(
                &out, outputLength, message.bindMemory(to: UInt8.self).baseAddress, UInt64(message.count),
                k.bindMemory(to: UInt8.self).baseAddress, k.count)
        }
        try Sodium.check(rc, "crypto_generichash")
        return out
    }

    /// Computes BLAKE2b of `message` under `key` with an output of `outputLength` bytes (16...64).
    /// - Throws: `CryptoError` when the key is not 16...64 bytes.
    public static func hash(_ message: [UInt8], key: SecureBytes, outputLength: Int = 32) throws(CryptoError)
        -> [UInt8]
    {
        let result = message.withUnsafeBytes { m in
            Result { () throws(CryptoError) in try hash(m, key: key, outputLength: outputLength) }
        }
        return try result.get()
    }

    /// Computes BLAKE2b of `message` under `key` into `output` (16...64 bytes), without allocating.
    /// - Throws: `CryptoError` on a bad key or output length.
    public static func hash(
        _ message: UnsafeRawBufferPointer, key: SecureBytes, into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        let rc = key.withUnsafeBytes { k in
            crypto_generichash(
                output.sodiumPointer, output.count,
                message.bindMemory(to: UInt8.self).baseAddress, UInt64(message.count),
                k.bindMemory(to: UInt8.self).baseAddress, k.count)
        }
        try Sodium.check(rc, "crypto_generichash")
    }
}

extension KeyedBLAKE2b {
    /// Incremental BLAKE2b-256 for data that arrives in pieces: keyed (file digests) or, made by
    /// `unkeyed()`, a plain hash that anyone can recompute (the registry's batch anchors).
    /// The state is 64-byte aligned memory, as libsodium requires; one owner at a time.
    public final class Hasher {
        private let state: UnsafeMutableRawPointer

        /// A fresh hasher under `key` (16...64 bytes).
        /// - Throws: `CryptoError` on a bad key length.
        public init(key: SecureBytes) throws(CryptoError) {
            try Sodium.ensureInitialised()
            guard key.count >= 16, key.count <= 64 else { throw .invalidKeyLength(expected: 32, actual: key.count) }
            state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
            let s = OpaquePointer(state)
            let rc = key.withUnsafeBytes { k in crypto_generichash_init(s, k.sodiumPointer, k.count, 32) }
            try Sodium.check(rc, "crypto_generichash_init")
        }

        private init() {
            _ = Sodium.initialised
            state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
            // Without a key and with a 32-byte output libsodium cannot refuse: its arguments are in range.
            let rc = crypto_generichash_init(OpaquePointer(state), nil, 0, 32)
            precondition(rc == 0, "crypto_generichash_init refused an unkeyed 32-byte hash")
        }

        /// A fresh BLAKE2b-256 hasher without a key (`hashlib.blake2b(digest_size=32)` in Python).
        /// - Returns: the hasher.
        public static func unkeyed() -> Hasher { Hasher() }

        deinit {
            sodium_memzero(state, crypto_generichash_statebytes())
            state.deallocate()
        }

        /// Adds `bytes`.
        public func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// Adds `bytes` without copying them.
        public func update(_ bytes: UnsafeRawBufferPointer) {
            let rc = crypto_generichash_update(OpaquePointer(state), bytes.sodiumPointer, UInt64(bytes.count))
            // libsodium refuses only a hasher already finalised: a programming error, not an input error.
            precondition(rc == 0, "crypto_generichash_update: the hasher was already finalised")
        }

        /// The 32-byte digest of everything added. Call it once: the hasher is spent afterwards.
        public func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            let rc = crypto_generichash_final(OpaquePointer(state), &out, 32)
            precondition(rc == 0, "crypto_generichash_final: the hasher was already finalised")
            return out
        }
    }
}

/// Random bytes from libsodium's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes (not secret-protected: use `SecureBytes.random` for keys).
    public static func bytes(_ count: Int) -> [UInt8] {
        _ = Sodium.initialised
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }
}
