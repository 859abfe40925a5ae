import Foundation
import ShanyrakAudit
import ShanyrakCrypto
import ShanyrakTestSupport
import Testing

/// The shared vectors folder: `<repo root>/../shared/vectors`, found from this file's path.
enum Vectors {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ShanyrakAuditTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repo root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/vectors")

    static var merkleTestdata: URL { directory.appendingPathComponent("transparency-dev-merkle-testdata") }
    static var reference: URL { directory.appendingPathComponent("rfc6962_reference_vectors.json") }

    static var haveMerkleTestdata: Bool { FileManager.default.fileExists(atPath: merkleTestdata.path) }
    static var haveReference: Bool { FileManager.default.fileExists(atPath: reference.path) }

    static let skipReason: Comment =
        "../shared/vectors (transparency-dev testdata, RFC 6962 reference) not found next to the repository"

    /// Every JSON file under `folder` of the transparency-dev testdata, sorted.
    static func files(_ folder: String) -> [URL] {
        let root = merkleTestdata.appendingPathComponent(folder)
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
    }
}

func unhex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

func b64(_ s: String) -> [UInt8] { Array(Data(base64Encoded: s)!) }

func makeSigner(_ name: String = "shanyrak.test/audit") throws -> NoteSigner {
    try NoteSigner(name: name, signingKey: try Ed25519.SigningKey.generate())
}

func temporaryDirectory() throws -> URL {
    try TestDirectory.make("audit-test")
}

func draft(_ i: Int, subjects: [String] = ["p-2", "p-1"]) -> AuditEntryDraft {
    AuditEntryDraft(
        actorId: "officer-\(i % 3)", role: "caseworker", action: i % 2 == 0 ? "read" : "export", view: "household",
        subjects: subjects, indicatorIds: ["income", "disability"], decision: i % 5 == 0 ? .deny : .allow,
        policyIds: ["p.read"], policySetHash: Array(repeating: 0xAB, count: 32), requestId: "req-\(i)")
}
