import Foundation
import ShanyrakCrypto
import Testing

/// `<repo root>/../shared/vectors`, with the repo root found from this file's path.
let vectorsDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/vectors")

let wycheproofFiles = ["wycheproof_xchacha20_poly1305_test.json", "wycheproof_v1_xchacha20_poly1305_test.json"]

let vectorsPresent = wycheproofFiles.allSatisfy {
    FileManager.default.fileExists(atPath: vectorsDirectory.appendingPathComponent($0).path)
}

func hexBytes(_ hex: String) -> [UInt8] {
    let u = Array(hex.utf8)
    precondition(u.count % 2 == 0, "odd hex")
    func nib(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: preconditionFailure("not hex")
        }
    }
    return stride(from: 0, to: u.count, by: 2).map { nib(u[$0]) << 4 | nib(u[$0 + 1]) }
}

/// One Wycheproof case, with the group's nonce size.
struct WycheproofCase: Sendable, CustomTestStringConvertible {
    let file: String
    let tcId: Int
    let ivSizeBits: Int
    let key, iv, aad, msg, ct, tag: [UInt8]
    let valid: Bool
    var testDescription: String { "\(file) tc \(tcId) iv \(ivSizeBits) \(valid ? "valid" : "invalid")" }
}

private struct WycheproofFile: Decodable {
    struct Group: Decodable {
        let ivSize: Int
        let tests: [Test]
    }
    struct Test: Decodable {
        let tcId: Int
        let key, iv, aad, msg, ct, tag, result: String
    }
    let numberOfTests: Int
    let testGroups: [Group]
}

func loadWycheproof(_ name: String) -> [WycheproofCase] {
    guard let data = try? Data(contentsOf: vectorsDirectory.appendingPathComponent(name)) else { return [] }
    let file = try! JSONDecoder().decode(WycheproofFile.self, from: data)
    let cases = file.testGroups.flatMap { g in
        g.tests.map { t in
            WycheproofCase(
                file: name, tcId: t.tcId, ivSizeBits: g.ivSize, key: hexBytes(t.key), iv: hexBytes(t.iv),
                aad: hexBytes(t.aad), msg: hexBytes(t.msg), ct: hexBytes(t.ct), tag: hexBytes(t.tag),
                valid: t.result == "valid")
        }
    }
    precondition(cases.count == file.numberOfTests, "\(name): case count differs from numberOfTests")
    return cases
}

@Suite(.enabled(if: vectorsPresent, "Wycheproof vectors not found in ../shared/vectors next to the repository"))
struct WycheproofXChaCha20Poly1305Tests {
    static let cases = wycheproofFiles.flatMap(loadWycheproof)

    @Test func bothFilesAreFullyLoaded() {
        #expect(Self.cases.filter { $0.file == wycheproofFiles[0] }.count == 284)
        #expect(Self.cases.filter { $0.file == wycheproofFiles[1] }.count == 315)
    }

    @Test(arguments: cases)
    func vector(_ c: WycheproofCase) throws {
        let key = try SecureBytes(copying: c.key)
        if c.ivSizeBits != 192 {
            // Wrong nonce size: refused by the wrapper with the typed error, before libsodium runs.
            let expected = CryptoError.invalidNonceLength(expected: 24, actual: c.iv.count)
            #expect(throws: expected) {
                try XChaCha20Poly1305.decrypt(c.ct + c.tag, nonce: c.iv, associatedData: c.aad, key: key)
            }
            #expect(throws: expected) {
                try XChaCha20Poly1305.encrypt(c.msg, nonce: c.iv, associatedData: c.aad, key: key)
            }
            return
        }
        if c.valid {
            let sealed = try XChaCha20Poly1305.encrypt(c.msg, nonce: c.iv, associatedData: c.aad, key: key)
            #expect(sealed == c.ct + c.tag)
            let opened = try XChaCha20Poly1305.decrypt(c.ct + c.tag, nonce: c.iv, associatedData: c.aad, key: key)
            #expect(opened == c.msg)
        } else {
            #expect(throws: CryptoError.authenticationFailed) {
                try XChaCha20Poly1305.decrypt(c.ct + c.tag, nonce: c.iv, associatedData: c.aad, key: key)
            }
        }
    }
}
