internal import CSodium

/// Secret bytes in guarded, locked memory that is wiped when the value dies.
///
/// Backed by `sodium_malloc` (guard pages, `mlock`, excluded from core dumps where
/// the system allows) and released with `sodium_free`, which zeroes the memory.
/// Equality is constant-time (`sodium_memcmp`). The description never shows the bytes.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible {
    // Safe to share across threads: the bytes are written once in `init` and only
    // read afterwards; the pointer is freed in `deinit` when no reference remains.
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes.
    public let count: Int

    /// Allocates `count` bytes and lets `initialise` fill them.
    /// - Throws: `CryptoError.allocationFailed`, or what `initialise` throws.
    public init(count: Int, initialise: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try Sodium.ensureInitialised()
        guard let p = sodium_malloc(max(count, 1)) else { throw CryptoError.allocationFailed }
        self.pointer = p
        self.count = count
        do {
            try initialise(UnsafeMutableRawBufferPointer(start: p, count: count))
        } catch {
            sodium_memzero(p, count)
            throw error
        }
    }

    /// Copies `bytes` into secure memory. The caller should wipe its own copy.
    /// - Throws: `CryptoError.allocationFailed`.
    public convenience init(copying bytes: some Collection<UInt8>) throws(CryptoError) {
        do {
            try self.init(count: bytes.count) { buffer in
                _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
            }
        } catch {
            throw (error as? CryptoError) ?? .allocationFailed
        }
    }

    /// `count` random bytes from the system's CSPRNG.
    /// - Throws: `CryptoError.allocationFailed`.
    public static func random(count: Int) throws(CryptoError) -> SecureBytes {
        do {
            return try SecureBytes(count: count) { buffer in
                if let base = buffer.baseAddress { randombytes_buf(base, count) }
            }
        } catch {
            throw (error as? CryptoError) ?? .allocationFailed
        }
    }

    deinit {
        sodium_free(pointer)
    }

    /// Calls `body` with read access to the secret bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time equality.
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.count == rhs.count && sodium_memcmp(lhs.pointer, rhs.pointer, lhs.count) == 0
    }

    /// Redacted.
    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

/// Constant-time comparison of two byte sequences of public length.
/// - Returns: true when both have the same length and the same bytes.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in
            sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
        }
    }
}

/// Overwrites a byte array with zeros in a way the compiler does not remove.
public func wipe(_ bytes: inout [UInt8]) {
    let n = bytes.count
    bytes.withUnsafeMutableBytes { p in
        if let base = p.baseAddress { sodium_memzero(base, n) }
    }
}
