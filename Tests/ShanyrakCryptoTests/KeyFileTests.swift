import Foundation
import ShanyrakCrypto
import Testing

#if canImport(Glibc)
    import Glibc
#endif

func makeTempDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("shanyrak-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func mode(of url: URL) -> Int {
    var info = stat()
    precondition(stat(url.path, &info) == 0)
    return Int(info.st_mode & 0o777)
}

func errorText(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return String(describing: error)
    }
}

struct KeyFileTests {
    @Test func writtenSecretIsPrivateAndReadsBack() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("s.key")
        let secret = try SecureBytes.random(count: 32)
        try KeyFile.writeSecret(secret, to: url)
        #expect(mode(of: url) == 0o600)
        #expect(try KeyFile.readSecret(url, length: 32) == secret)
        // Never overwrites.
        let again = errorText { try KeyFile.writeSecret(SecureBytes.random(count: 32), to: url) }
        #expect(again?.contains("already exists") == true)
        #expect(try KeyFile.readSecret(url, length: 32) == secret)
    }

    @Test(arguments: [0o640, 0o644, 0o604, 0o660])
    func readableByOthersIsRefused(_ m: Int) throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("master.key")
        try KeyFile.writeSecret(SecureBytes.random(count: 32), to: url)
        #expect(chmod(url.path, mode_t(m)) == 0)
        let message = errorText { _ = try KeyFile.readSecret(url, length: 32) }
        #expect(message?.contains(url.path) == true)
        #expect(message?.contains("chmod 600") == true)
    }

    @Test(arguments: [
        ("AAECAwQFBgcICQoLDA0ODw==\n", "base64 of 16 bytes"),
        ("this is not base64 at all!!\n", "garbage"),
        (String(repeating: "A", count: 600), "too large"),
        ("", "empty"),
    ])
    func badContentIsRefused(_ content: String, _ what: String) throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.key")
        #expect(
            FileManager.default.createFile(
                atPath: url.path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600]))
        let message = errorText { _ = try KeyFile.readSecret(url, length: 32) }
        #expect(message != nil, "\(what) must be refused")
        #expect(message?.contains(url.path) == true)
    }

    @Test("another secret file is read as it is, with the checks of a key file, named as the caller says")
    func secretFileAsItIs() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.token")
        let text = "not base64 at all, but a secret\n"
        #expect(
            FileManager.default.createFile(
                atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(
            try KeyFile.readSecretFile(url, what: "metrics token file") == (try SecureBytes(copying: Array(text.utf8))))
        #expect(chmod(url.path, 0o640) == 0)
        let message = errorText { _ = try KeyFile.readSecretFile(url, what: "metrics token file") }
        #expect(message?.hasPrefix("metrics token file \(url.path) is readable by group or others") == true)
        #expect(message?.contains("chmod 600 \(url.path)") == true)
        #expect(message?.contains("not base64") == false)
    }

    @Test func missingFileIsRefusedByName() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/master.key")
        #expect(errorText { _ = try KeyFile.readSecret(url, length: 32) }?.contains(url.path) == true)
    }
}

struct KeyringTests {
    @Test func createLoadAndRefuseToOverwrite() throws {
        let dir = makeTempDirectory().appendingPathComponent("keys")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let files = try Keyring.create(at: dir)
        #expect(
            Set(files) == [
                "master.key", "pseudonym.key", "audit-signing.key", "audit-signing.pub",
                "policy-signing.key", "policy-signing.pub",
            ])
        #expect(mode(of: dir) == 0o700)
        for f in ["master.key", "pseudonym.key", "audit-signing.key", "policy-signing.key"] {
            #expect(mode(of: dir.appendingPathComponent(f)) == 0o600, "\(f)")
        }
        let ring = try Keyring.load(from: dir, environment: [:])
        #expect(ring.master != ring.pseudonymKey)
        let before = try Data(contentsOf: dir.appendingPathComponent("master.key"))
        #expect(throws: CryptoError.self) { try Keyring.create(at: dir) }
        #expect(try Data(contentsOf: dir.appendingPathComponent("master.key")) == before)
        #expect(try Keyring.load(from: dir, environment: [:]).master == ring.master)
        // A folder holding just one of the files is refused too.
        let partial = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: partial) }
        #expect(
            FileManager.default.createFile(
                atPath: partial.appendingPathComponent("policy-signing.pub").path, contents: Data()))
        #expect(throws: CryptoError.self) { try Keyring.create(at: partial) }
        #expect(!FileManager.default.fileExists(atPath: partial.appendingPathComponent("master.key").path))
        // The audit public key file matches the signing seed.
        let pub = try KeyFile.readPublic(dir.appendingPathComponent("audit-signing.pub"), length: 32)
        #expect(pub == ring.auditSigning.publicKey.rawBytes)
    }

    @Test func environmentOverridesFiles() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Keyring.create(at: dir)
        let fromFiles = try Keyring.load(from: dir, environment: [:])
        let master = Array(repeating: UInt8(7), count: 32)
        let ring = try Keyring.load(
            from: dir, environment: ["SHANYRAK_MASTER_KEY": Data(master).base64EncodedString()])
        #expect(ring.master == (try SecureBytes(copying: master)))
        #expect(ring.master != fromFiles.master)
        #expect(ring.pseudonymKey == fromFiles.pseudonymKey)
        // Works with no files at all.
        let empty = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let b64 = Data(master).base64EncodedString()
        let envOnly = try Keyring.load(
            from: empty,
            environment: [
                "SHANYRAK_MASTER_KEY": b64, "SHANYRAK_PSEUDONYM_KEY": b64, "SHANYRAK_AUDIT_SIGNING_KEY": b64,
            ])
        #expect(envOnly.pseudonymKey == (try SecureBytes(copying: master)))
        let bad = errorText {
            _ = try Keyring.load(from: dir, environment: ["SHANYRAK_PSEUDONYM_KEY": "short"])
        }
        #expect(bad?.contains("SHANYRAK_PSEUDONYM_KEY") == true)
    }

    @Test func looseModeOnMasterKeyIsRefused() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Keyring.create(at: dir)
        let url = dir.appendingPathComponent("master.key")
        #expect(chmod(url.path, 0o644) == 0)
        let message = errorText { _ = try Keyring.load(from: dir, environment: [:]) }
        #expect(message?.contains("chmod 600") == true)
        #expect(message?.contains(url.path) == true)
    }

    @Test func dataKeyWrapIsBoundToClassVersionAndMaster() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Keyring.create(at: dir)
        let ring = try Keyring.load(from: dir, environment: [:])
        let dataKey = try SecureBytes.random(count: 32)
        let wrapped = try ring.wrapDataKey(dataKey, className: "health", version: 2)
        #expect(try ring.unwrapDataKey(wrapped, className: "health", version: 2) == dataKey)
        #expect(throws: CryptoError.authenticationFailed) {
            try ring.unwrapDataKey(wrapped, className: "violence", version: 2)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try ring.unwrapDataKey(wrapped, className: "health", version: 1)
        }
        let other = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: ring.pseudonymKey, auditSigning: ring.auditSigning)
        #expect(throws: CryptoError.authenticationFailed) {
            try other.unwrapDataKey(wrapped, className: "health", version: 2)
        }
        #expect(!wrapped.contains(subsequence: dataKey.withUnsafeBytes { Array($0) }))
        // Bound to a sealed-format floor, it opens with that floor only; one wrapped without opens without.
        let bound = try ring.wrapDataKey(dataKey, className: "health", version: 2, sealedFormatFloor: 3)
        #expect(try ring.unwrapDataKey(bound, className: "health", version: 2, sealedFormatFloor: 3) == dataKey)
        for floor: UInt8? in [nil, 1, 2, 4] {
            #expect(throws: CryptoError.authenticationFailed) {
                try ring.unwrapDataKey(bound, className: "health", version: 2, sealedFormatFloor: floor)
            }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try ring.unwrapDataKey(wrapped, className: "health", version: 2, sealedFormatFloor: 3)
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence s: [UInt8]) -> Bool {
        guard !s.isEmpty, s.count <= count else { return s.isEmpty }
        for i in 0...(count - s.count) where self[i..<i + s.count].elementsEqual(s) { return true }
        return false
    }
}
