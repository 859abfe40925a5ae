import ArgumentParser
import Foundation
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakStore

/// The access path of one command-line invocation: the service and the audit log it appends to.
struct AccessSession {
    let service: AccessService
    let log: AuditLog

    /// Closes the audit log (every append was already durable when it returned).
    func close() async { await log.close() }

    /// Runs `body` on the service and closes the session whether or not `body` throws, so that a refused
    /// request (`AccessDenied`) still closes the audit log before the command reports it.
    /// - Parameter body: The request to the access service.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, after the session is closed.
    func closing<T>(_ body: (AccessService) async throws -> T) async throws -> T {
        let result: Result<T, any Error>
        do {
            result = .success(try await body(service))
        } catch {
            result = .failure(error)
        }
        await close()
        return try result.get()
    }
}

extension ServiceContext {
    /// The access path over this data folder: the Cedar policies of the policies folder and the
    /// Merkle audit log in the data folder (`audit.sqlite`, the keyring's checkpoint key); entries name
    /// the operating-system user as actor, as `OperatorAudit` does.
    /// Checkpoints are left to `shanyrak audit checkpoint`.
    func accessSession() async throws -> AccessSession {
        let keys = try DataKeys.load(from: registry, keyring: keyring)
        let policy = try loadAccessPolicy()
        let log = try await openAuditLog(configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
        let service = AccessService(
            registry: registry, keys: keys, catalog: catalog, policy: policy,
            auditLog: MerkleAccessAuditLog(
                log: log, policySetHash: policy.bundleDigest, anonymousActor: OperatorAudit.actor),
            pseudonymiser: try Pseudonymiser(key: keyring.pseudonymKey))
        return AccessSession(service: service, log: log)
    }

    /// The policy set of the policies folder, verified with the policy public key when one is configured.
    func loadAccessPolicy() throws -> CedarAccessPolicy {
        // A signed set was verified when the context opened: load those bytes, not the folder again.
        if let verifiedPolicyFiles { return try CedarAccessPolicy.load(files: verifiedPolicyFiles, catalog: catalog) }
        return try CedarAccessPolicy.load(directory: policiesDirectory, catalog: catalog)
    }
}

/// A request id for one command-line invocation (recorded in the audit log).
func commandLineRequestID() -> String { "cli-" + UUID().uuidString.lowercased() }

extension Shanyrak {
    /// `shanyrak users ...`: staff accounts and their API tokens.
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke staff accounts, and replace their API tokens.",
            subcommands: [UsersAdd.self, UsersList.self, UsersRevoke.self, UsersRotateToken.self])
    }

    struct UsersAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Create a staff account and print its API token once (only a hash is stored).")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Display name of the employee.")
        var name: String
        @Option(
            name: .long,
            help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        var role: String
        @Option(name: .long, help: "District code RR-DD the account works in.")
        var district: String?
        @Option(name: .long, help: "Employing organisation.")
        var organisation: String?
        @Option(name: .long, help: "For role agency: the feed source the account may deliver.")
        var source: String?
        @Flag(name: .long, help: "Print {\"id\": ..., \"token\": ...} as JSON.")
        var json = false

        func validate() throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError(
                    "unknown role '\(role)' (one of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if role == .agency && source == nil { throw ValidationError("role agency needs --source") }
            if role != .agency && source != nil { throw ValidationError("--source is only for role agency") }
            if let source, !SourceName.isValid(source) {
                throw ValidationError("--source must be \(SourceName.rule)")
            }
            if let district {
                let d = Array(district.utf8)
                guard d.count == 5, d[2] == 0x2d, [0, 1, 3, 4].allSatisfy({ d[$0] >= 0x30 && d[$0] <= 0x39 }) else {
                    throw ValidationError("district code must be RR-DD (two digits, dash, two digits)")
                }
            }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--name must not be empty")
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                guard let role = Role(rawValue: role) else { throw CLIError("unknown role") }
                let session = try await context.accessSession()
                let (id, token) = try await session.service.addStaff(
                    name: name, role: role, district: district, organisation: organisation, source: source,
                    actor: nil, requestID: commandLineRequestID())
                await session.close()
                try printJSONOrText(AccountToken(id: id, token: token), json: json) { account in
                    print("created user \(account.id) (\(role.rawValue))")
                    print("token (shown once, keep it secret): \(account.token)")
                }
            }
        }

    }

    /// What `users add` and `users rotate-token` print with `--json`: the account and its token, shown once.
    struct AccountToken: Encodable {
        var id: Int64
        var token: String
    }

    struct UsersList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List staff accounts (never tokens).")
        @OptionGroup var data: DataOption
        @OptionGroup var output: JSONOption

        func run() async throws {
            try await data.printReport(
                json: output.json, read: { try $0.listStaff() },
                text: { staff in
                    for s in staff {
                        let state = s.revokedAt == nil ? "active" : "revoked"
                        let fields = [
                            String(s.id), s.role, s.district ?? "-", s.organisation ?? "-", s.source ?? "-", state,
                            s.name,
                        ]
                        print(fields.joined(separator: "\t"))
                    }
                })
        }
    }

    struct UsersRevoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke a staff account: its token stops working at once.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The account id.")
        var user: Int64

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let session = try await context.accessSession()
                let revoked = try await session.service.revokeStaff(
                    id: user, actor: nil, requestID: commandLineRequestID())
                await session.close()
                guard revoked else { throw CLIError("no active user with id \(user)") }
                print("revoked user \(user)")
            }
        }
    }

    struct UsersRotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Give an active account a new API token and print it once; the old token stops working.",
            discussion: """
                The account keeps its id, role and caseload. A running server stops accepting the old token \
                within a second (its authentication cache). Use it when a token was lost or may have been seen.
                """)
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The account id.")
        var user: Int64
        @Flag(name: .long, help: "Print {\"id\": ..., \"token\": ...} as JSON.")
        var json = false

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let session = try await context.accessSession()
                let token = try await session.closing { service in
                    try await service.rotateToken(staffID: user, actor: nil, requestID: commandLineRequestID())
                }
                guard let token else { throw CLIError("no active user with id \(user)") }
                try printJSONOrText(AccountToken(id: user, token: token), json: json) { account in
                    print("new token for user \(account.id); the old one no longer works")
                    print("token (shown once, keep it secret): \(account.token)")
                }
            }
        }
    }
}
