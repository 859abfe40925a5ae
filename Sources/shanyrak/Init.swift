import ArgumentParser
import Foundation
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakStore

extension Shanyrak {
    /// `shanyrak init`: create a data folder with its registry.
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a data folder: registry database, data keys, indicator catalog.")

        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The key folder (see `shanyrak keys init`).")
        var keys: String
        @Option(name: .long, help: "The policies folder holding indicators.yaml and sources/.")
        var policies = "policies"
        @Option(
            name: .long,
            help:
                "A policy public key (e.g. KEYDIR/policy-signing.pub): only policy sets signed with its key are loaded."
        )
        var policyPublicKey: String?

        func run() async throws {
            try await runReportingErrors {
                let dir = URL(fileURLWithPath: data.data).standardizedFileURL
                let keysDir = URL(fileURLWithPath: keys).standardizedFileURL
                let policiesDir = URL(fileURLWithPath: policies).standardizedFileURL
                // The key folder's lock, as every command that reads or changes the master key holds it: a
                // master-key rotation under way in this folder (for another data folder) is waited for.
                let lock = try MasterKeyLock.acquire(keysDirectory: keysDir, purpose: "init \(dir.path)")
                defer { lock?.release() }
                guard
                    !FileManager.default.fileExists(
                        atPath: keysDir.appendingPathComponent(MasterKeyRotation.pendingFileName).path)
                else {
                    throw CLIError(
                        "\(keysDir.path) holds a master-key rotation that is not finished "
                            + "(\(MasterKeyRotation.pendingFileName)); run any command on the data folder it was "
                            + "started for, so that it finishes, before initialising another folder with these keys")
                }
                // Check everything before writing anything.
                let keyring = try Keyring.load(from: keysDir)
                let catalog = try IndicatorCatalog.load(
                    contentsOf: policiesDir.appendingPathComponent("indicators.yaml"))
                let publicKeyPath = policyPublicKey.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                let config = ServiceConfig(
                    keys: keysDir.path, policies: policiesDir.path, policyPublicKey: publicKeyPath)
                _ = try config.policyVerificationKey()  // refuse an unreadable key before writing anything
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent(ServiceConfig.fileName).path)
                    || FileManager.default.fileExists(atPath: dir.appendingPathComponent(Registry.fileName).path)
                {
                    throw CLIError("\(dir.path) is already a Shanyrak data folder; refusing to initialise it again")
                }
                let registry = try Registry.create(dataDirectory: dir)
                do {
                    try registry.initialise(catalog: catalog, keyring: keyring)
                    try config.write(dataDirectory: dir)
                } catch {
                    // Leave no half-made folder behind.
                    for suffix in ["", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(at: dir.appendingPathComponent(Registry.fileName + suffix))
                    }
                    throw error
                }
                print("initialised \(dir.path): \(catalog.indicators.count) indicators, keys from \(keysDir.path)")
            }
        }
    }
}
