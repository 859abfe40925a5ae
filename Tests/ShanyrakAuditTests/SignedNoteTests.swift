import Foundation
import ShanyrakAudit
import ShanyrakCrypto
import Testing

/// The signed-note example of golang.org/x/mod/sumdb/note (also in the C2SP signed-note spec).
struct SignedNoteTests {
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    let seedBase64 = "gQoUAtUUbI2E8kQzMPVAgOv5juF9nHT2JS/F1ccoMXM="  // from PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK...
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    let signatureLine =
        "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test func goExampleVerifies() throws {
        let verifier = try NoteVerifier(vkey: vkey)
        #expect(verifier.name == "PeterNeumann")
        #expect(verifier.keyID == [0xc7, 0x4f, 0x20, 0xa3])
        #expect(verifier.vkey == vkey)
        let note = try SignedNote(parsing: text + "\n" + signatureLine)
        #expect(note.text == text)
        #expect(note.isSigned(by: verifier))
        let altered = try SignedNote(
            parsing: text.replacingOccurrences(of: "cryptography", with: "cryptographY") + "\n" + signatureLine)
        #expect(!altered.isSigned(by: verifier))
    }

    @Test func goExampleSignsIdentically() throws {
        let seed = try KeyFile.decodeSecret(base64: seedBase64, length: 32, what: "test seed")
        let signer = try NoteSigner(name: "PeterNeumann", signingKey: Ed25519.SigningKey(seed: seed))
        #expect(signer.verifier.vkey == vkey)
        #expect(signer.sign(text) == text + "\n" + signatureLine)
    }

    @Test func badVerifierKeysRejected() {
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpcC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3",
        ] {
            #expect(throws: AuditError.self) { try NoteVerifier(vkey: bad) }
        }
    }

    @Test func checkpointRoundTrip() throws {
        let signer = try makeSigner("example.com/log")
        let root = Merkle.leafHash([1, 2, 3])
        let c = Checkpoint(origin: "example.com/log", size: 12, rootHash: root, signer: signer)
        #expect(
            c.note.hasPrefix("example.com/log\n12\n\(Data(root).base64EncodedString())\n\n\u{2014} example.com/log "))
        let parsed = try Checkpoint(verifying: c.note, verifiers: [signer.verifier], origin: "example.com/log")
        #expect(parsed == c)
        let other = try makeSigner("example.com/log")
        #expect(throws: AuditError.self) { try Checkpoint(verifying: c.note, verifiers: [other.verifier]) }
        #expect(throws: AuditError.self) {
            try Checkpoint(
                verifying: c.note.replacingOccurrences(of: "\n12\n", with: "\n13\n"), verifiers: [signer.verifier])
        }
        #expect(throws: AuditError.self) {
            try Checkpoint(verifying: c.note, verifiers: [signer.verifier], origin: "other.example/log")
        }
        // Malformed bodies are rejected even when correctly signed.
        for body in [
            "example.com/log\n012\n\(Data(root).base64EncodedString())\n",
            "example.com/log\n12\n\(Data(root.prefix(31)).base64EncodedString())\n",
            "example.com/log\n+12\n\(Data(root).base64EncodedString())\n",
            "\n12\n\(Data(root).base64EncodedString())\n",
        ] {
            #expect(throws: AuditError.self, "\(body)") {
                try Checkpoint(verifying: signer.sign(body), verifiers: [signer.verifier])
            }
        }
    }
}
