public import Foundation
import ShanyrakCore
public import ShanyrakCrypto

/// Why a signed policy set was refused: which file, name or signature does not match.
public struct PolicySignatureError: Error, Sendable, CustomStringConvertible {
    /// What does not match.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Ed25519 signatures over a whole policy directory: every file, with its name.
///
/// The signature file `policies.sig` lists each file with its SHA-256 (for diagnostics) and the
/// signature over the canonical bundle message: `shanyrak-policy-bundle v1\n`, then for each file in
/// bytewise order of its path: the path, `\n`, the decimal byte length, `\n`, the bytes.
public enum PolicyBundleSignature {
    /// The signature file's name inside the policy directory.
    public static let fileName = "policies.sig"
    static let header = "shanyrak-policy-signature v1"

    /// Every file of the set except the signature itself, with its bytes.
    static func files(in directory: URL) throws(PolicySignatureError) -> [(name: String, bytes: [UInt8])] {
        let listed: [(name: String, url: URL)]
        do {
            listed = try PolicyFiles.allFiles(in: directory)
        } catch {
            throw PolicySignatureError(error.message)
        }
        var out: [(name: String, bytes: [UInt8])] = []
        for f in listed where f.name != fileName {
            guard !f.name.contains("\n") else { throw PolicySignatureError("\(f.name): a file name holds a newline") }
            guard let data = try? Data(contentsOf: f.url) else { throw PolicySignatureError("\(f.name): cannot read") }
            out.append((f.name, [UInt8](data)))
        }
        return out
    }

    /// The message that is signed.
    static func message(_ files: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var m = Array("shanyrak-policy-bundle v1\n".utf8)
        for f in files {
            m += Array("\(f.name)\n\(f.bytes.count)\n".utf8)
            m += f.bytes
        }
        return m
    }

    /// SHA-256 (hex) of the bundle message of a directory: identifies exactly the files that were loaded.
    /// - Throws: `PolicySignatureError` when a file cannot be read.
    public static func bundleHash(directory: URL) throws(PolicySignatureError) -> String {
        hex(try bundleDigest(directory: directory))
    }

    /// SHA-256 of the bundle message of a directory, as bytes (what audit entries record).
    /// - Throws: `PolicySignatureError` when a file cannot be read.
    public static func bundleDigest(directory: URL) throws(PolicySignatureError) -> [UInt8] {
        SHA256.hash(message(try files(in: directory)))
    }

    static func hex(_ b: [UInt8]) -> String { Hex.encode(b) }

    /// Signs every file of the set and writes `DIR/policies.sig` (replacing an older one).
    /// - Parameters:
    ///   - directory: the policy directory.
    ///   - key: the policy signing key.
    /// - Returns: the signature file's URL.
    /// - Throws: `PolicySignatureError` when a file cannot be read or the signature cannot be written.
    @discardableResult
    public static func sign(directory: URL, key: Ed25519.SigningKey) throws(PolicySignatureError) -> URL {
        let files = try files(in: directory)
        let signature = key.signature(for: message(files))
        var text = header + "\n"
        text += "public-key \(Data(key.publicKey.rawBytes).base64EncodedString())\n"
        for f in files { text += "file \(hex(SHA256.hash(f.bytes))) \(f.name)\n" }
        text += "signature \(Data(signature).base64EncodedString())\n"
        let url = directory.appendingPathComponent(fileName)
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw PolicySignatureError("\(url.path): cannot write the signature")
        }
        return url
    }

    /// Verifies that the directory holds exactly the signed files, with the signed names and bytes,
    /// under a signature by `publicKey`.
    ///
    /// The files are read once: load what was verified from the returned bytes (`PolicyEngine.load(files:)`),
    /// never by reading the directory again, or a file swapped in between would be used unverified.
    /// - Returns: the verified files (names and bytes), in set order.
    /// - Throws: `PolicySignatureError` naming the added, missing or changed file, or the bad signature.
    @discardableResult
    public static func verify(directory: URL, publicKey: Ed25519.PublicKey) throws(PolicySignatureError)
        -> [PolicyFile]
    {
        let sigURL = directory.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: sigURL), let text = String(data: data, encoding: .utf8) else {
            throw PolicySignatureError("\(fileName): missing or unreadable: the policy set is not signed")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == header else { throw PolicySignatureError("\(fileName): line 1: expected `\(header)`") }
        var listed: [String: String] = [:]
        var signature: [UInt8]?
        for (i, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            if line.hasPrefix("file ") {
                let rest = line.dropFirst(5)
                guard let space = rest.firstIndex(of: " ") else {
                    throw PolicySignatureError("\(fileName): line \(i + 1): expected `file <sha256> <name>`")
                }
                listed[String(rest[rest.index(after: space)...])] = String(rest[..<space])
            } else if line.hasPrefix("signature ") {
                signature = Data(base64Encoded: String(line.dropFirst(10))).map { [UInt8]($0) }
            } else if !line.hasPrefix("public-key ") {
                throw PolicySignatureError("\(fileName): line \(i + 1): unknown field")
            }
        }
        guard let signature else { throw PolicySignatureError("\(fileName): no valid `signature` line") }
        let files = try files(in: directory)
        let present = Set(files.map(\.name))
        for name in present.subtracting(listed.keys).sorted() {
            throw PolicySignatureError("\(name): file is not covered by the signature (added or renamed)")
        }
        for name in Set(listed.keys).subtracting(present).sorted() {
            throw PolicySignatureError("\(name): signed file is missing (removed or renamed)")
        }
        for f in files where listed[f.name] != hex(SHA256.hash(f.bytes)) {
            throw PolicySignatureError("\(f.name): contents differ from the signed file")
        }
        guard publicKey.isValidSignature(signature, for: message(files)) else {
            throw PolicySignatureError("\(fileName): the signature does not verify with the policy public key")
        }
        return files.map { PolicyFile(name: $0.name, bytes: $0.bytes) }
    }

    /// Every file of the set in `directory` except the signature, read once.
    /// - Throws: `PolicySignatureError` when a file cannot be read.
    public static func read(directory: URL) throws(PolicySignatureError) -> [PolicyFile] {
        try files(in: directory).map { PolicyFile(name: $0.name, bytes: $0.bytes) }
    }
}

/// One file of a policy set, as read: its path inside the set and its bytes.
public struct PolicyFile: Sendable {
    /// The path inside the policy folder (`10-social-worker.cedar`, `sources/police.yaml`).
    public let name: String
    /// The file's bytes.
    public let bytes: [UInt8]
    /// The bytes as UTF-8 text, or nil when they are not UTF-8.
    public var text: String? { String(validating: bytes, as: UTF8.self) }
}

extension [PolicyFile] {
    /// The text of the file at `name` (a path inside the set), or nil when the set has no such file or
    /// it is not UTF-8.
    public func text(of name: String) -> String? { first { $0.name == name }?.text }
}

extension PolicyEngine {
    /// Loads a policy set only if its signature verifies with `publicKey` (see `PolicyBundleSignature`).
    ///
    /// The service keeps the set it had when this throws.
    /// - Throws: `PolicySignatureError` or `PolicyLoadError` (as `any Error`).
    public static func load(directory: URL, verifyingWith publicKey: Ed25519.PublicKey) throws -> PolicyEngine {
        try load(files: PolicyBundleSignature.verify(directory: directory, publicKey: publicKey))
    }
}
