import Foundation
import ShanyrakCore
import ShanyrakCrypto
import Testing

@testable import ShanyrakPolicy

/// The shipped policy set: it checks, its expected decisions hold, decision tables agree with single
/// decisions, and the survivor-safety check refuses unsafe changes.
struct DefaultPolicyTests {
    static let policiesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies")

    static func copyPolicies() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: policiesDir, to: dir)
        return dir
    }

    /// A copy of the repository's set, signed with a new key.
    static func signedCopyOfPolicies() throws -> (URL, Ed25519.SigningKey) {
        let dir = try copyPolicies()
        let key = try Ed25519.SigningKey.generate()
        try PolicyBundleSignature.sign(directory: dir, key: key)
        return (dir, key)
    }

    @Test("the default set passes policy check without warnings")
    func checks() throws {
        let engine = try PolicyEngine.load(directory: Self.policiesDir)
        #expect(engine.check() == [])
        #expect(engine.policySet.policies.count >= 10)
    }

    @Test("policies/tests: every expected decision holds")
    func expectedDecisions() throws {
        let engine = try PolicyEngine.load(directory: Self.policiesDir)
        let cases = try PolicyEngine.loadTests(directory: Self.policiesDir.appendingPathComponent("tests"))
        #expect(cases.count >= 30)
        for r in engine.run(cases) {
            #expect(r.passed, "\(r.testCase.name):\n\(r.explanation.report())")
        }
    }

    @Test("a decision table gives exactly the single decisions, in a handful of evaluations")
    func decisionTableMatchesSingleDecisions() throws {
        let engine = try PolicyEngine.load(directory: Self.policiesDir)
        // reads: survivor-sensitive x violence x identity; ingest also reads sources
        #expect(engine.grouping(for: ShanyrakModel.Action.read.uid).groups.count <= 4)
        #expect(
            engine.grouping(for: ShanyrakModel.Action.ingest.uid).groups.count < engine.catalog.indicators.count / 2)
        for role in ShanyrakModel.Role.allCases {
            let staff = ShanyrakModel.Staff(
                id: "s", roles: [role.rawValue], district: "d", organisation: "o", source: "police")
            for action in ShanyrakModel.Action.allCases where action.isDataAction {
                for view in ShanyrakModel.View.allCases {
                    for bits in 0..<8 {
                        let ctx = ShanyrakModel.context(
                            view: view, assigned: bits & 1 != 0, sameDistrict: bits & 2 != 0, breakGlass: bits & 4 != 0)
                        let table = engine.decisionTable(staff: staff, action: action, context: ctx)
                        #expect(table.evaluations == engine.grouping(for: action.uid).groups.count)
                        for ind in engine.catalog.indicators {
                            let single = engine.authorize(
                                staff: staff, action: action, resource: ShanyrakModel.indicatorUID(ind.id), context: ctx
                            )
                            #expect(table.response(for: ind.id)?.decision == single.decision)
                            #expect(table.response(for: ind.id)?.determiningPolicies == single.determiningPolicies)
                        }
                    }
                }
            }
        }
    }

    @Test("no household view ever holds survivor-sensitive or violence data under the default set")
    func householdViewSafe() throws {
        let engine = try PolicyEngine.load(directory: Self.policiesDir)
        let (violations, evaluated, incomplete) = engine.checkSurvivorSafety()
        #expect(violations.isEmpty)
        #expect(incomplete == nil)
        #expect(evaluated > 1000)
    }

    static let unsafePolicies: [String] = [
        // a permit for social workers on the violence class in household views, with the global forbids removed
        """
        @id("bad") permit(principal in Shanyrak::Role::"social_worker", action == Shanyrak::Action::"read",
            resource in Shanyrak::IndicatorClass::"violence") when { context.view == "household" };
        """,
        // hidden behind a principal attribute value and a purpose
        """
        @id("bad") permit(principal, action == Shanyrak::Action::"read", resource is Shanyrak::Indicator)
        when { principal.organisation == "ngo-x" && context.purpose like "audit*" && resource.survivorSensitive };
        """,
        // hidden behind a pair of roles
        """
        @id("bad") permit(principal in Shanyrak::Role::"agency", action == Shanyrak::Action::"read", resource)
        when { principal in Shanyrak::Role::"researcher" && !context.breakGlass };
        """,
    ]

    @Test(
        "the survivor-safety check refuses a set that grants sensitive data in household views",
        arguments: unsafePolicies)
    func survivorCheckCatchesBadPolicy(_ text: String) throws {
        let dir = try Self.copyPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("00-survivor-safety.cedar"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("10-social-worker.cedar"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("50-agency.cedar"))
        try text.write(to: dir.appendingPathComponent("99-bad.cedar"), atomically: true, encoding: .utf8)
        let engine = try PolicyEngine.load(directory: dir)
        #expect(engine.validate().filter { $0.severity == .error } == [])
        let (violations, _, _) = engine.checkSurvivorSafety()
        #expect(!violations.isEmpty)
        #expect(violations.allSatisfy { $0.policies.contains("bad") })
        #expect(engine.check().contains { $0.severity == .error && $0.location?.file == "99-bad.cedar" })
    }

    @Test("check reports unknown types, attributes, actions and indicators with file:line:column")
    func validation() throws {
        let dir = try Self.copyPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        permit (principal in Shanyrak::Role::"social_worker", action == Shanyrak::Action::"read", resource)
        when { principal.distrct == "x" && context.veiw == "household" }
        when { resource == Shanyrak::Indicator::"health.nope" || resource in Shanyrak::IndicatorClas::"x" }
        when { Shanyrak::Action::"reed" == action && resource is Shanyrak::Indicatr };
        """.write(to: dir.appendingPathComponent("99-typos.cedar"), atomically: true, encoding: .utf8)
        let findings = try PolicyEngine.load(directory: dir).validate().map(\.description)
        let expected = [
            "99-typos.cedar:1:1: warning: policy has no @id annotation",
            "99-typos.cedar:2:8: error: unknown attribute `distrct` of entity type Shanyrak::Staff",
            "99-typos.cedar:2:36: error: unknown attribute `veiw` of context",
            "99-typos.cedar:3:20: error: unknown indicator Shanyrak::Indicator::\"health.nope\"",
            "99-typos.cedar:3:70: error: unknown entity type `Shanyrak::IndicatorClas`",
            "99-typos.cedar:4:8: error: unknown action Shanyrak::Action::\"reed\"",
            "99-typos.cedar:4:46: error: unknown entity type `Shanyrak::Indicatr`",
        ]
        for e in expected {
            #expect(findings.contains { $0.hasPrefix(e) }, "missing: \(e)\nfound:\n\(findings.joined(separator: "\n"))")
        }
    }

    @Test("diff shows who gains and who loses")
    func diff() throws {
        let dir = try Self.copyPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("30-researcher.cedar"))
        try """
        @id("auditor.export") permit(principal in Shanyrak::Role::"auditor", action == Shanyrak::Action::"readAudit", resource == Shanyrak::System::"registry");
        """.write(to: dir.appendingPathComponent("70-new.cedar"), atomically: true, encoding: .utf8)
        let old = try PolicyEngine.load(directory: Self.policiesDir).accessMatrix()
        let new = try PolicyEngine.load(directory: dir).accessMatrix()
        let (gains, losses) = AccessMatrix.diff(old: old, new: new)
        #expect(!gains.isEmpty && gains.allSatisfy { $0.role == "auditor" && $0.action == "readAudit" })
        #expect(!losses.isEmpty && losses.allSatisfy { $0.role == "researcher" && $0.action == "export" })
        #expect(losses.contains { $0.resource == "health.chronic_illness" && $0.view == "extract" })
    }

    @Test("a signed set verifies; any added, removed, renamed or changed file or a wrong key is refused")
    func signing() throws {
        let (dir, key) = try Self.signedCopyOfPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        try PolicyBundleSignature.verify(directory: dir, publicKey: key.publicKey)
        _ = try PolicyEngine.load(directory: dir, verifyingWith: key.publicKey)
        let other = try Ed25519.SigningKey.generate()
        #expect(throws: PolicySignatureError.self) {
            try PolicyBundleSignature.verify(directory: dir, publicKey: other.publicKey)
        }
        let fm = FileManager.default
        let file = dir.appendingPathComponent("30-researcher.cedar")
        let original = try Data(contentsOf: file)
        let tamperings: [(String, () throws -> Void, () throws -> Void)] = [
            ("changed", { try (original + Data(" ".utf8)).write(to: file) }, { try original.write(to: file) }),
            ("removed", { try fm.removeItem(at: file) }, { try original.write(to: file) }),
            (
                "renamed", { try fm.moveItem(at: file, to: dir.appendingPathComponent("31-researcher.cedar")) },
                { try fm.moveItem(at: dir.appendingPathComponent("31-researcher.cedar"), to: file) }
            ),
            (
                "added",
                {
                    try Data("permit(principal, action, resource);".utf8).write(
                        to: dir.appendingPathComponent("x.cedar"))
                },
                { try fm.removeItem(at: dir.appendingPathComponent("x.cedar")) }
            ),
        ]
        for (what, tamper, restore) in tampered(tamperings) {
            try tamper()
            #expect(throws: PolicySignatureError.self, "\(what)") {
                try PolicyBundleSignature.verify(directory: dir, publicKey: key.publicKey)
            }
            try restore()
        }
        try PolicyBundleSignature.verify(directory: dir, publicKey: key.publicKey)
        // a forged signature line over the tampered content is refused too
        try (original + Data(" ".utf8)).write(to: file)
        let forger = try Ed25519.SigningKey.generate()
        try PolicyBundleSignature.sign(directory: dir, key: forger)
        #expect(throws: PolicySignatureError.self) {
            try PolicyBundleSignature.verify(directory: dir, publicKey: key.publicKey)
        }
    }

    func tampered<T>(_ x: T) -> T { x }
}

extension DefaultPolicyTests {
    @Test("the bundle hash identifies the loaded files and changes with any of them")
    func bundleHash() throws {
        let dir = try Self.copyPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try PolicyEngine.load(directory: dir).bundleHash
        #expect(first.count == 64)
        #expect(try PolicyEngine.load(directory: dir).bundleHash == first)
        try Data("// note\n".utf8).write(to: dir.appendingPathComponent("tests/notes.txt"))
        #expect(try PolicyEngine.load(directory: dir).bundleHash != first)
    }
}

extension DefaultPolicyTests {
    @Test("a verified set is loaded from the bytes that were verified, not read again")
    func verifiedBytesAreWhatIsLoaded() throws {
        let (dir, key) = try Self.signedCopyOfPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        let verified = try PolicyBundleSignature.verify(directory: dir, publicKey: key.publicKey)
        let signedDigest = try PolicyBundleSignature.bundleDigest(directory: dir)
        // A file swapped after the check (the survivor-safety forbids emptied) is not what gets loaded.
        try Data().write(to: dir.appendingPathComponent("00-survivor-safety.cedar"))
        let engine = try PolicyEngine.load(files: verified)
        #expect(engine.bundleDigest == signedDigest)
        #expect(engine.policySet.policy(id: "survivor-safety.no-sensitive-in-household-view") != nil)
        #expect(engine.check().allSatisfy { $0.severity != .error })
        // Read again from the folder, the swapped set fails the check.
        let reread = try PolicyEngine.load(directory: dir)
        #expect(reread.check().contains { $0.severity == .error })
    }

    @Test("the engine store keeps the set in use when a new one is unsigned, tampered or unsafe")
    func storeKeepsSetInUse() throws {
        let (dir, key) = try Self.signedCopyOfPolicies()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try PolicyEngineStore(directory: dir, publicKey: key.publicKey)
        let hash = store.current.bundleHash

        // tampered after signing: refused, the old engine stays
        let safety = dir.appendingPathComponent("00-survivor-safety.cedar")
        let original = try Data(contentsOf: safety)
        try Data().write(to: safety)
        #expect(throws: PolicyReloadError.self) { try store.reload(directory: dir) }
        #expect(store.current.bundleHash == hash)

        // signed but unsafe: refused by the survivor-safety check
        try PolicyBundleSignature.sign(directory: dir, key: key)
        #expect(throws: PolicyReloadError.self) { try store.reload(directory: dir) }
        #expect(store.current.bundleHash == hash)

        // restored and re-signed: accepted
        try original.write(to: safety)
        try PolicyBundleSignature.sign(directory: dir, key: key)
        try store.reload(directory: dir)
        #expect(store.current.bundleHash == hash)
    }
}
