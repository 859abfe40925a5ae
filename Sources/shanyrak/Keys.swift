import ArgumentParser
import Foundation
import ShanyrakCrypto
import ShanyrakStore

extension Shanyrak {
    /// `shanyrak keys ...`: create a keyring, rotate and rewrap data keys, show their state.
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a keyring; rotate, rewrap and retire data keys.",
            subcommands: [KeysInit.self, Rotate.self, Rewrap.self, Status.self, Retire.self, RotateMaster.self])
    }

    struct RotateMaster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-master",
            abstract: "Replace master.key with a new random key and rewrap every active data key under it.",
            discussion: """
                Values, pseudonyms and the audit log are untouched. The old master key no longer opens \
                the registry afterwards: back up the new master.key at once. A rotation that is \
                interrupted is settled by the next command on the data folder.
                """)
        @OptionGroup var data: DataOption

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let (_, rewrapped) = try MasterKeyRotation.rotate(
                    registry: context.registry, keysDirectory: context.keysDirectory, keyring: context.keyring,
                    lockTimeout: try keyLockTimeout())
                try await OperatorAudit.record(
                    context, action: "keys.rotate-master", requestId: "\(rewrapped)-rewrapped")
                print("master key rotated: \(rewrapped) data keys rewrapped under the new \(Keyring.FileName.master)")
                print(
                    "back up \(context.keysDirectory.appendingPathComponent(Keyring.FileName.master).path) now: the old key no longer opens this registry"
                )
            }
        }
    }

    struct KeysInit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create a new keyring (master, pseudonym, audit and policy signing keys).")

        @Option(name: .long, help: "Folder to create the key files in (mode 0700, secrets 0600).")
        var out: String

        func run() async throws {
            try await runReportingErrors {
                let files = try Keyring.create(at: URL(fileURLWithPath: out))
                print("created keyring in \(out): \(files.joined(separator: ", "))")
                print("keep the .key files secret and backed up: losing master.key loses every sealed value")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a new data-key version of a class for writing.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Key class: an indicator class, or quarantine.")
        var `class`: String

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                // Under the key folder's lock: a master-key rotation cannot run while the new key is wrapped.
                let version = try MasterKeyLock.withLock(
                    keysDirectory: context.keysDirectory, purpose: "data-key rotation (\(`class`))",
                    timeout: try keyLockTimeout()
                ) {
                    try context.registry.rotateDataKey(className: `class`, keyring: context.keyring)
                }
                try await OperatorAudit.record(context, action: "keys.rotate", requestId: "\(`class`)-v\(version)")
                print(
                    "\(`class`): new values are now sealed under version \(version); run `shanyrak keys rewrap` to re-seal older values"
                )
            }
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-seal values sealed under older key versions or in older sealed-value formats (in batches; resumable).",
            discussion: """
                Every value it re-seals goes to sealed-value format 3 under its class's current key version, bound \
                to its record's observation date and source as they are stored now. Run it once on a data folder \
                written before format 3 to upgrade it (no `keys rotate` needed); it is done when it reports \
                "re-sealed 0 values". A run that leaves no value in formats 1 and 2 raises the registry's \
                sealed-format floor to 3 and says so: from then on every reader refuses a value in an older \
                format (one copied back from an old backup) instead of opening it. `keys status` shows the floor.
                """)
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Only this class (default: every indicator class).")
        var `class`: String?
        @Option(name: .long, help: "Records (or quarantined lines) per transaction.")
        var batchSize = 10_000

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        }

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let terminal = standardErrorIsTerminal
                let outcome = try await context.rewrapAnchoringBatches(className: `class`, batchSize: batchSize) {
                    done in
                    if terminal { FileHandle.standardError.write(Data("\rre-sealed \(done) values".utf8)) }
                }
                if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                try await OperatorAudit.record(
                    context, action: "keys.rewrap",
                    requestId: "\(`class` ?? "all"):\(outcome.resealed)-resealed\(outcome.auditNote)")
                print("re-sealed \(outcome.resealed) values")
                if let message = outcome.floorMessage { print(message) }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show data-key versions, how many values each seals, and the sealed-value formats accepted.",
            discussion: """
                The text form begins with the registry's sealed-format floor: the oldest sealed-value format its \
                readers open. A registry written before format 3 accepts formats 1 to 3 until `keys rewrap` has \
                re-sealed every older value; then it accepts format 3 only. (`--json` prints the key versions, \
                each with the floor as `sealed_format_floor`.) \
                It also opens the active keys, bound to that floor: when they do not open (the wrong master key, \
                or a floor lowered or deleted in the database), it says so and exits 1 after the report.
                """)
        @OptionGroup var data: DataOption
        @OptionGroup var output: JSONOption

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let registry = context.registry
                let report = try StatusReport(keys: registry.keyStatus(), floor: registry.sealedFormatFloor())
                try printJSONOrText(report, json: output.json) { report in
                    print(
                        report.floor > SealedFormatFloor.acceptsAll
                            ? "sealed-value formats accepted: \(report.floor) and newer (older ones are refused)"
                            : "sealed-value formats accepted: all (run `keys rewrap` until it re-seals 0 values to refuse formats 1 and 2)"
                    )
                    for s in report.keys {
                        print(
                            "\(s.keyClass) v\(s.version) \(s.state)\(s.current ? " (current)" : ""): \(s.sealedCount) sealed"
                        )
                    }
                }
                // The floor shown is the database's; the keys say whether it is the one they were bound to.
                _ = try DataKeys.load(from: registry, keyring: context.keyring)
            }
        }
    }

    /// What `keys status` reads. Its JSON is the list of key versions it was before the floor existed (scripts
    /// read it as one), each with the registry's floor as `sealed_format_floor`.
    struct StatusReport: Encodable {
        let keys: [KeyVersionStatus]
        let floor: UInt8

        /// One key version and the floor, in one JSON object.
        private struct Element: Encodable {
            let key: KeyVersionStatus
            let floor: UInt8

            enum CodingKeys: String, CodingKey {
                case floor = "sealed_format_floor"
            }

            func encode(to encoder: any Encoder) throws {
                try key.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(floor, forKey: .floor)
            }
        }

        func encode(to encoder: any Encoder) throws {
            try keys.map { Element(key: $0, floor: floor) }.encode(to: encoder)
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire a data-key version that no value is sealed under (its wrapped key is erased).")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Key class.")
        var `class`: String
        @Option(name: .long, help: "Version to retire.")
        var version: UInt32

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                try context.registry.retireDataKey(className: `class`, version: version)
                try await OperatorAudit.record(context, action: "keys.retire", requestId: "\(`class`)-v\(version)")
                print("\(`class`) v\(version) retired")
            }
        }
    }
}
