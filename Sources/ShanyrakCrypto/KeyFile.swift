internal import CSodium
public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads and writes key files: one line of standard base64, secret files mode 0600.
///
/// A secret key file that the group or others can read is refused: a key that has
/// been exposed on a shared machine is not a key any more.
public enum KeyFile {
    /// Largest key file accepted, in bytes.
    static let maximumSize = 512

    /// Reads a secret key of `length` bytes from `url` into secure memory.
    /// - Throws: `CryptoError.keyFile` naming the file and the rule (missing, mode, size, encoding).
    public static func readSecret(_ url: URL, length: Int) throws(CryptoError) -> SecureBytes {
        try decodeSecret(base64: readSecretFile(url), length: length, what: "key file \(url.path)")
    }

    /// Reads a secret file (a key, a token) into secure memory, as it is: the checks of a key file, without
    /// its decoding. The file must be a regular file (not a symbolic link) that neither group nor others
    /// can read, of 1 to 511 bytes.
    /// - Parameters:
    ///   - url: the file.
    ///   - what: what the file is, for messages (`key file`, `metrics token file`).
    /// - Returns: the file's bytes.
    /// - Throws: `CryptoError.keyFile` naming the file and the rule (missing, mode, size), with the
    ///   `chmod 600` to run when the mode is too open.
    public static func readSecretFile(_ url: URL, what: String = "key file") throws(CryptoError) -> SecureBytes {
        try Sodium.ensureInitialised()
        let path = url.path
        // Open first, then check the mode of what was opened (fstat), so that the file
        // cannot be swapped between the check and the read.
        let fd = open(path, O_RDONLY | O_NOFOLLOW)
        guard fd >= 0 else {
            throw .keyFile(
                errno == ENOENT
                    ? "\(what) \(path) cannot be read: it does not exist"
                    : "\(what) \(path) cannot be opened (it must be a regular file, not a symbolic link)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .keyFile("\(what) \(path) is not a regular file")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw .keyFile(
                "\(what) \(path) is readable by group or others (mode \(String(mode, radix: 8))); "
                    + "run: chmod 600 \(path)")
        }
        let raw: SecureBytes
        var readCount = 0
        do {
            raw = try SecureBytes(count: maximumSize) { buffer in
                readCount = read(fd, buffer.baseAddress, maximumSize)
            }
        } catch {
            throw .allocationFailed
        }
        guard readCount > 0, readCount < maximumSize else {
            throw .keyFile("\(what) \(path) is empty or too large")
        }
        return try raw.withUnsafeBytes { text throws(CryptoError) in
            try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: text.prefix(readCount)))
        }
    }

    /// Decodes a base64 secret (for example from an environment variable) into secure memory.
    /// - Throws: `CryptoError.keyFile` when it is not base64 of `length` bytes.
    public static func decodeSecret(base64 text: String, length: Int, what: String) throws(CryptoError) -> SecureBytes {
        var bytes = Array(text.utf8)
        defer { wipe(&bytes) }
        let copy = bytes
        return try decodeBase64(copy, length: length, what: what)
    }

    /// Decodes a base64 secret held in secure memory (a key file's text, an environment variable taken by
    /// `EnvironmentSecrets`) without copying the text out of it.
    /// - Parameters:
    ///   - text: the base64 text; spaces, tabs and line ends are ignored.
    ///   - length: the number of bytes the key must have.
    ///   - what: what the text is, for messages (`key file PATH`, `environment variable NAME`).
    /// - Returns: the key.
    /// - Throws: `CryptoError.keyFile` when it is not base64 of `length` bytes.
    public static func decodeSecret(base64 text: SecureBytes, length: Int, what: String) throws(CryptoError)
        -> SecureBytes
    {
        try text.withUnsafeBytes { bytes throws(CryptoError) in try decodeBase64(bytes, length: length, what: what) }
    }

    private static func decodeBase64(_ text: [UInt8], length: Int, what: String) throws(CryptoError) -> SecureBytes {
        var text = text
        defer { wipe(&text) }
        let result = text.withUnsafeBytes { t in
            Result { () throws(CryptoError) in try decodeBase64(t, length: length, what: what) }
        }
        return try result.get()
    }

    private static func decodeBase64(_ text: UnsafeRawBufferPointer, length: Int, what: String) throws(CryptoError)
        -> SecureBytes
    {
        var decodedLength = 0
        var rc: Int32 = -1
        let key: SecureBytes
        do {
            key = try SecureBytes(count: length) { out in
                rc = sodium_base642bin(
                    out.sodiumPointer, length,
                    text.bindMemory(to: CChar.self).baseAddress, text.count, " \n\r\t", &decodedLength, nil,
                    sodium_base64_VARIANT_ORIGINAL)
            }
        } catch {
            throw .allocationFailed
        }
        guard rc == 0, decodedLength == length else {
            throw .keyFile("\(what) must hold base64 of a \(length)-byte key")
        }
        return key
    }

    /// Writes a secret to a new file with mode 0600, refusing to replace an existing file.
    /// - Throws: `CryptoError.keyFile` when the file exists or cannot be written.
    public static func writeSecret(_ secret: SecureBytes, to url: URL) throws(CryptoError) {
        let encodedLength = secret.count * 4 / 3 + 8
        var text = [CChar](repeating: 0, count: encodedLength)
        defer { text.withUnsafeMutableBytes { if let p = $0.baseAddress { sodium_memzero(p, $0.count) } } }
        secret.withUnsafeBytes { s in
            _ = sodium_bin2base64(
                &text, encodedLength, s.bindMemory(to: UInt8.self).baseAddress, s.count,
                sodium_base64_VARIANT_ORIGINAL)
        }
        let length = strlen(text)
        text[length] = 0x0a  // newline
        try write(text.withUnsafeBytes { Array($0.prefix(length + 1)) }, to: url, mode: 0o600)
    }

    /// Writes public bytes as base64 to a new file with mode 0644.
    /// - Throws: `CryptoError.keyFile` when the file exists or cannot be written.
    public static func writePublic(_ bytes: [UInt8], to url: URL) throws(CryptoError) {
        try write(Array((Data(bytes).base64EncodedString() + "\n").utf8), to: url, mode: 0o644)
    }

    /// Reads a public key file (base64 of `length` bytes).
    /// - Throws: `CryptoError.keyFile` naming the file.
    public static func readPublic(_ url: URL, length: Int) throws(CryptoError) -> [UInt8] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw .keyFile("public key file \(url.path) cannot be read")
        }
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            data.count == length
        else { throw .keyFile("public key file \(url.path) must hold base64 of a \(length)-byte key") }
        return Array(data)
    }

    private static func write(_ bytes: [UInt8], to url: URL, mode: mode_t) throws(CryptoError) {
        let path = url.path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw .keyFile(
                errno == EEXIST
                    ? "key file \(path) already exists; refusing to overwrite it"
                    : "key file \(path) cannot be created")
        }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // umask must not widen or narrow what we asked for
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw .keyFile("key file \(path) could not be written") }
    }
}
