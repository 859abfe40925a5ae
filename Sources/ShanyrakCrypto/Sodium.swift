internal import CSodium

/// The one place libsodium is initialised and its return codes are checked.
enum Sodium {
    /// Runs `sodium_init()` once per process (Swift's lazy static initialisation is thread-safe).
    static let initialised: Bool = sodium_init() >= 0

    /// Ensures libsodium is ready.
    /// - Throws: `CryptoError.initialisationFailed` when it is not.
    @inline(__always)
    static func ensureInitialised() throws(CryptoError) {
        guard initialised else { throw .initialisationFailed }
    }

    /// Turns a libsodium return code into a thrown error.
    @inline(__always)
    static func check(_ code: Int32, _ function: StaticString) throws(CryptoError) {
        guard code == 0 else { throw .libsodium("\(function)") }
    }
}

/// One readable byte, handed to libsodium where an empty buffer has no address.
/// Never written after creation, so sharing it is safe.
nonisolated(unsafe) private let emptyBuffer: UnsafeMutablePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return p
}()

extension UnsafeRawBufferPointer {
    /// The bytes as libsodium takes them: never null, even when empty.
    var sodiumPointer: UnsafePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(emptyBuffer)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The bytes as libsodium writes them: never null, even when empty.
    var sodiumPointer: UnsafeMutablePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? emptyBuffer
    }
}
