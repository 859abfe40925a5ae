import ArgumentParser
import Foundation
import ShanyrakCrypto
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy sign DIR --key FILE`: signs every file of the set.
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign every file of a policy set (Ed25519); writes DIR/policies.sig.",
            discussion: "With --verify PUBKEY, checks an existing signature instead of signing.")

        @Argument(help: "The policy directory.")
        var directory: String = "policies"

        @Option(help: "The Ed25519 secret key file (base64 seed, mode 0600), e.g. keys/policy-signing.key.")
        var key: String?

        @Option(help: "Verify the set with this public key file instead of signing.")
        var verify: String?

        func validate() throws {
            if (key == nil) == (verify == nil) { throw ValidationError("give exactly one of --key or --verify") }
        }

        func run() async throws {
            let dir = URL(fileURLWithPath: directory)
            do {
                if let verify {
                    let raw = try KeyFile.readPublic(URL(fileURLWithPath: verify), length: Ed25519.publicKeyLength)
                    try PolicyBundleSignature.verify(directory: dir, publicKey: try Ed25519.PublicKey(rawBytes: raw))
                    print("\(directory): signature verifies")
                } else if let key {
                    // Refuse to sign a set that does not pass the check.
                    let engine = try loadEngine(directory)
                    let errors = engine.check().filter { $0.severity == .error }
                    guard errors.isEmpty else {
                        for e in errors { printError(e.description) }
                        printError("shanyrak policy sign: the set does not pass `policy check`; not signed")
                        throw ExitCode(1)
                    }
                    let seed = try KeyFile.readSecret(URL(fileURLWithPath: key), length: Ed25519.seedLength)
                    let url = try PolicyBundleSignature.sign(directory: dir, key: try Ed25519.SigningKey(seed: seed))
                    print("wrote \(url.path)")
                }
            } catch let e as PolicySignatureError {
                printError("shanyrak policy sign: \(e.message)")
                throw ExitCode(1)
            } catch let e as CryptoError {
                printError("shanyrak policy sign: \(e)")
                throw ExitCode(1)
            }
        }
    }
}
