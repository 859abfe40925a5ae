import ArgumentParser
import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakStore

extension ServiceContext {
    /// File of the command line's audit log inside the data folder (until the Merkle log is wired in).
    static let accessAuditFileName = "access-audit.jsonl"

    /// The access path over this data folder: default policies, the data folder's audit log.
    func accessService() throws -> AccessService {
        let keys = try DataKeys.load(from: registry, keyring: keyring)
        return AccessService(
            registry: registry, keys: keys, catalog: catalog, policy: DefaultAccessPolicy(catalog: catalog),
            auditLog: JSONLinesAccessAuditLog(url: dataDirectory.appendingPathComponent(Self.accessAuditFileName)),
            pseudonymiser: try Pseudonymiser(key: keyring.pseudonymKey))
    }
}

/// A request id for one command-line invocation (recorded in the audit log).
func commandLineRequestID() -> String { "cli-" + UUID().uuidString.lowercased() }

extension Shanyrak {
    /// `shanyrak users ...`: staff accounts and their API tokens.
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke staff accounts (API tokens).",
            subcommands: [UsersAdd.self, UsersList.self, UsersRevoke.self])
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
                throw ValidationError("unknown role '\(role)' (one of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if role == .agency && source == nil { throw ValidationError("role agency needs --source") }
            if role != .agency && source != nil { throw ValidationError("--source is only for role agency") }
            if let district {
                let d = Array(district.utf8)
                guard d.count == 5, d[2] == 0x2d, [0, 1, 3, 4].allSatisfy({ d[$0] >= 0x30 && d[$0] <= 0x39 }) else {
                    throw ValidationError("district code must be RR-DD (two digits, dash, two digits)")
                }
            }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--name must not be empty") }
        }

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let service = try context.accessService()
                guard let role = Role(rawValue: role) else { throw CLIError("unknown role") }
                let (id, token) = try await service.addStaff(
                    name: name, role: role, district: district, organisation: organisation, source: source,
                    actor: nil, requestID: commandLineRequestID())
                if json {
                    try printJSON(NewAccount(id: id, token: token))
                } else {
                    print("created user \(id) (\(role.rawValue))")
                    print("token (shown once, keep it secret): \(token)")
                }
            }
        }

        struct NewAccount: Encodable {
            var id: Int64
            var token: String
        }
    }

    struct UsersList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List staff accounts (never tokens).")
        @OptionGroup var data: DataOption
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let staff = try context.registry.listStaff()
                if json {
                    try printJSON(staff)
                } else {
                    for s in staff {
                        let state = s.revokedAt == nil ? "active" : "revoked"
                        print(
                            "\(s.id)\t\(s.role)\t\(s.district ?? "-")\t\(s.organisation ?? "-")\t\(s.source ?? "-")\t\(state)\t\(s.name)")
                    }
                }
            }
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
                let service = try context.accessService()
                guard try await service.revokeStaff(id: user, actor: nil, requestID: commandLineRequestID()) else {
                    throw CLIError("no active user with id \(user)")
                }
                print("revoked user \(user)")
            }
        }
    }
}
