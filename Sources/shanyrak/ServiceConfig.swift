import ArgumentParser
import Foundation
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakPolicy
import ShanyrakStore

/// What `init` records in the data folder so that later commands need only `--data`.
struct ServiceConfig: Codable {
    /// Absolute path of the key folder.
    var keys: String
    /// Absolute path of the policies folder (catalog, sources, Cedar policies).
    var policies: String
    /// Absolute path of the policy public key; when set, only a policy set signed with
    /// the matching key (`shanyrak policy sign`) is loaded.
    var policyPublicKey: String?

    /// The policy verification key, if one is configured.
    func policyVerificationKey() throws -> Ed25519.PublicKey? {
        guard let policyPublicKey else { return nil }
        return try Ed25519.PublicKey(
            rawBytes: KeyFile.readPublic(URL(fileURLWithPath: policyPublicKey), length: Ed25519.publicKeyLength))
    }

    static let fileName = "shanyrak.json"

    static func load(dataDirectory: URL) throws -> ServiceConfig {
        let url = dataDirectory.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw CLIError(
                "no Shanyrak data folder at \(dataDirectory.path): run `shanyrak init --data \(dataDirectory.path) --keys KEYDIR` first"
            )
        }
        do { return try JSONDecoder().decode(ServiceConfig.self, from: data) } catch {
            throw CLIError("\(url.path) is not a valid configuration file")
        }
    }

    func write(dataDirectory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(
            to: dataDirectory.appendingPathComponent(Self.fileName), options: .withoutOverwriting)
    }
}

/// Everything a command needs to work on a data folder.
struct ServiceContext {
    let dataDirectory: URL
    let config: ServiceConfig
    let keyring: Keyring
    let catalog: IndicatorCatalog
    let registry: Registry
    /// The policy set's files as verified, when the data folder takes signed sets only: the catalog and
    /// the feed mappings are read from these bytes, never from the folder again.
    let verifiedPolicyFiles: [PolicyFile]?

    var policiesDirectory: URL { URL(fileURLWithPath: config.policies) }
    var keysDirectory: URL { URL(fileURLWithPath: config.keys) }

    static func open(data: String) throws -> ServiceContext {
        let dir = URL(fileURLWithPath: data)
        let config = try ServiceConfig.load(dataDirectory: dir)
        let keysDirectory = URL(fileURLWithPath: config.keys)
        // A data folder that takes signed policy sets only takes the catalog and feed mappings of a signed
        // set, for every command (ingest included), not only for the Cedar policies. The catalog is parsed
        // from the very bytes that were verified.
        let catalog: IndicatorCatalog
        var verifiedFiles: [PolicyFile]?
        if let publicKey = try config.policyVerificationKey() {
            let files = try PolicyBundleSignature.verify(
                directory: URL(fileURLWithPath: config.policies), publicKey: publicKey)
            verifiedFiles = files
            guard let text = files.text(of: "indicators.yaml") else {
                throw CLIError("the signed policy set has no readable indicators.yaml")
            }
            catalog = try IndicatorCatalog.parse(yaml: text)
        } else {
            catalog = try IndicatorCatalog.load(
                contentsOf: URL(fileURLWithPath: config.policies).appendingPathComponent("indicators.yaml"))
        }
        let registry = try Registry.open(dataDirectory: dir)
        // The keys are loaded, and a master-key rotation that was interrupted is settled, under the key
        // folder's lock: a command started during a rotation waits for it, then uses the key it left.
        let (keyring, outcome) = try MasterKeyRotation.loadKeyring(
            registry: registry, keysDirectory: keysDirectory, lockTimeout: try keyLockTimeout())
        if let message = outcome.message { FileHandle.standardError.write(Data("shanyrak: \(message)\n".utf8)) }
        return ServiceContext(
            dataDirectory: dir, config: config, keyring: keyring, catalog: catalog, registry: registry,
            verifiedPolicyFiles: verifiedFiles)
    }

    /// The feed mapping of `source`: from the verified bytes of a signed set, else from the policies folder.
    /// - Throws: `IngestError` naming the file and rule, or an unknown source.
    func sourceMapping(_ source: String) throws -> SourceMapping {
        let sources = policiesDirectory.appendingPathComponent("sources")
        guard let files = verifiedPolicyFiles else {
            return try SourceMapping.load(source: source, directory: sources, catalog: catalog)
        }
        guard let text = files.text(of: "sources/\(source).yaml") else {
            throw IngestError.configuration("unknown source '\(source)': the signed policy set has no mapping")
        }
        return try SourceMapping.parse(
            yaml: text, file: sources.appendingPathComponent("\(source).yaml").path, catalog: catalog,
            expectedSource: source)
    }

    /// Every feed mapping of the policy set, by source name (from the verified bytes of a signed set).
    /// - Throws: as `sourceMapping`.
    func sourceMappings() throws -> [String: SourceMapping] {
        let names: [String]
        if let files = verifiedPolicyFiles {
            names = files.map(\.name).filter { $0.hasPrefix("sources/") && $0.hasSuffix(".yaml") }
                .map { String($0.dropFirst("sources/".count).dropLast(".yaml".count)) }
        } else {
            let listed =
                (try? FileManager.default.contentsOfDirectory(
                    atPath: policiesDirectory.appendingPathComponent("sources").path)) ?? []
            names = listed.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }
        }
        var mappings: [String: SourceMapping] = [:]
        for name in names.sorted() { mappings[name] = try sourceMapping(name) }
        return mappings
    }
}

/// Seconds a command waits for the key folder's lock (`MasterKeyLock`): `SHANYRAK_KEY_LOCK_TIMEOUT`
/// when set, otherwise `MasterKeyLock.defaultTimeout`.
/// - Throws: `CLIError` when the variable is not a number of seconds.
func keyLockTimeout(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TimeInterval {
    guard let text = environment["SHANYRAK_KEY_LOCK_TIMEOUT"] else { return MasterKeyLock.defaultTimeout }
    guard let seconds = TimeInterval(text), seconds >= 0, seconds.isFinite else {
        throw CLIError("SHANYRAK_KEY_LOCK_TIMEOUT must be a number of seconds, not '\(text)'")
    }
    return seconds
}

/// A command-line failure: the message is printed as `error: ...` and the process exits with `code`.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    init(_ message: String, code: Int32 = 1) {
        self.message = message
        self.code = code
    }
    var description: String { message }
}

/// Runs a command body, turning library errors into one clear line on standard error and an exit code.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(error.code)
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(String(describing: error))\n".utf8))
        throw ExitCode((error as? any IngestErrorExit)?.exitCode ?? 1)
    }
}

/// Errors that choose their own exit code.
protocol IngestErrorExit {
    var exitCode: Int32 { get }
}

/// Prints a value as pretty JSON with sorted keys on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Whether standard error is a terminal (progress is shown only then).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }
