import Foundation
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import Testing

@testable import ShanyrakStore

/// Master-key rotation rewraps the data keys only, and a rotation interrupted at any step is settled
/// so that the registry's keys always open with the key the folder then holds.
struct MasterKeyRotationTests {
    let persons = makePersons(4)

    /// The newest income values of the persons, opened with `keyring`'s data keys.
    func incomes(_ f: Fixture, _ keyring: Keyring) throws -> [String] {
        let keys = try DataKeys.load(from: f.registry, keyring: keyring)
        let pseudonymiser = try Pseudonymiser(key: keyring.pseudonymKey)
        let subjects = try persons.map { pseudonymiser.person(try IIN(validating: $0.iin)) }
        return try f.registry.newestObservations(subjects: subjects, indicators: ["economic.monthly_income"]).map {
            let key = try #require(keys.key(for: "economic", version: $0.keyVersion))
            return try SealedValueFormat.open(
                $0.sealed, subject: $0.subject, indicator: $0.indicator, keyVersion: $0.keyVersion, key: key)
        }
    }

    func loaded(_ f: Fixture) throws -> Keyring { try Keyring.load(from: f.keysDir, environment: [:]) }
    func masterFile(_ f: Fixture) -> URL { f.keysDir.appendingPathComponent(Keyring.FileName.master) }
    func pendingFile(_ f: Fixture) -> URL { f.keysDir.appendingPathComponent(MasterKeyRotation.pendingFileName) }

    func populated() throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest(
            "labour", ([labourHeader] + persons.map { labourRow($0.iin, income: "180000") }).joined(separator: "\n"))
        return f
    }

    @Test func rotationRewrapsEveryActiveDataKeyAndKeepsTheValues() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        #expect(before == Array(repeating: "180000", count: persons.count))
        let oldMaster = try Data(contentsOf: masterFile(f))

        let (next, rewrapped) = try MasterKeyRotation.rotate(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])

        #expect(rewrapped == DataKeys.allClasses.count)
        #expect(try Data(contentsOf: masterFile(f)) != oldMaster)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        let mode = try FileManager.default.attributesOfItem(atPath: masterFile(f).path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The folder now holds the new key; it opens everything, the old one nothing.
        #expect(try incomes(f, loaded(f)) == before)
        #expect(try incomes(f, next) == before)
        #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: f.keyring) }
        // Pseudonyms do not depend on the master key.
        #expect(
            try loaded(f).pseudonymKey.withUnsafeBytes(Array.init) == f.keyring.pseudonymKey.withUnsafeBytes(Array.init)
        )
    }

    @Test func aRotationInterruptedAfterTheRegistryCommittedIsFinished() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        // Steps 1 and 2 done, then the process died before the rename.
        let next = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: f.keyring.pseudonymKey,
            auditSigning: f.keyring.auditSigning)
        try KeyFile.writeSecret(next.master, to: pendingFile(f))
        _ = try f.registry.rewrapDataKeys(from: f.keyring, to: next)
        #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: loaded(f)) }

        let (keyring, outcome) = try MasterKeyRotation.recover(
            registry: f.registry, keysDirectory: f.keysDir, keyring: loaded(f))

        #expect(outcome == .finished)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try incomes(f, keyring) == before)
        #expect(try incomes(f, loaded(f)) == before)
        // Settled: nothing more to do.
        #expect(
            try MasterKeyRotation.recover(registry: f.registry, keysDirectory: f.keysDir, keyring: loaded(f)).outcome
                == .nothingPending)
    }

    @Test(arguments: [true, false])
    func aRotationInterruptedBeforeTheRegistryCommittedIsAbandoned(completeKeyFile: Bool) throws {
        let f = try populated()
        let oldMaster = try Data(contentsOf: masterFile(f))
        if completeKeyFile {
            try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))
        } else {
            // The process died while writing the new key's file.
            try Data("c29tZQ".utf8).write(to: pendingFile(f))
        }

        let (keyring, outcome) = try MasterKeyRotation.recover(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring)

        #expect(outcome == .abandoned)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try Data(contentsOf: masterFile(f)) == oldMaster)
        #expect(try incomes(f, keyring) == Array(repeating: "180000", count: persons.count))
    }

    @Test func keysThatOpenWithNeitherKeyAreReportedAndNothingChanges() throws {
        let f = try populated()
        let elsewhere = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: f.keyring.pseudonymKey,
            auditSigning: f.keyring.auditSigning)
        _ = try f.registry.rewrapDataKeys(from: f.keyring, to: elsewhere)
        try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))

        #expect(throws: StoreError.self) {
            try MasterKeyRotation.recover(registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring)
        }
        #expect(FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try incomes(f, elsewhere) == Array(repeating: "180000", count: persons.count))
    }

    @Test func rotationIsRefusedForAKeyFromTheEnvironmentOrWhileOneIsPending() throws {
        let f = try populated()
        let oldMaster = try Data(contentsOf: masterFile(f))
        #expect(throws: StoreError.self) {
            try MasterKeyRotation.rotate(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring,
                environment: ["SHANYRAK_MASTER_KEY": "x"])
        }
        try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))
        #expect(throws: StoreError.self) {
            try MasterKeyRotation.rotate(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])
        }
        #expect(try Data(contentsOf: masterFile(f)) == oldMaster)
        #expect(try incomes(f, f.keyring) == Array(repeating: "180000", count: persons.count))
    }
}
