import ArgumentParser
import Foundation
import ShanyrakAccess
import ShanyrakCore

/// How an administrator names a household on the command line: by its id in the
/// service, a member's IIN, or the population register's household id.
struct HouseholdSelectorOptions: ParsableArguments {
    @Option(name: .long, help: "The household's id in the service (32 hex digits).")
    var household: String?
    @Option(name: .long, help: "The IIN of a member of the household.")
    var iin: String?
    @Option(name: .customLong("register-id"), help: "The household id in the population register.")
    var registerID: String?

    /// Whether `--household` is allowed (it is not for `households find`).
    func validate(allowID: Bool) throws {
        let given = [household != nil, iin != nil, registerID != nil].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError(
                allowID
                    ? "give exactly one of --household, --iin, --register-id"
                    : "give exactly one of --iin, --register-id")
        }
        if !allowID && household != nil { throw ValidationError("--household is not accepted here") }
        if let iin {
            // The rule only: the number itself never reaches an error message.
            do { _ = try IIN(validating: iin) } catch { throw ValidationError("--iin: \(error.description)") }
        }
        if let household, Pseudonym(hex: household) == nil {
            throw ValidationError("--household must be 32 lower-case hex digits")
        }
    }

    /// The selector for the access service.
    func selector() throws -> AccessService.HouseholdSelector {
        if let household { return .id(household) }
        if let iin {
            do { return .iin(try IIN(validating: iin)) } catch { throw CLIError("--iin: \(error.description)") }
        }
        if let registerID { return .registerID(registerID) }
        throw CLIError("no household given")
    }
}

extension Shanyrak {
    /// `shanyrak households ...`: find a household's id in the service.
    struct Households: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find a household's id in the service from a member's IIN or its register id.",
            subcommands: [HouseholdsFind.self])
    }

    struct HouseholdsFind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "find",
            abstract: "Print the service id of the household of an IIN or a register id (the lookup is audited).")
        @OptionGroup var data: DataOption
        @OptionGroup var select: HouseholdSelectorOptions
        @Flag(name: .long, help: "Print {\"household\": ...} as JSON.")
        var json = false

        func validate() throws { try select.validate(allowID: false) }

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let session = try await context.accessSession()
                do {
                    let household = try await session.closing { service in
                        try await service.findHousehold(
                            try select.selector(), actor: nil, requestID: commandLineRequestID())
                    }
                    if json { try printJSON(["household": household.hex]) } else { print(household.hex) }
                } catch is AccessDenied {
                    throw CLIError("no household found", code: 3)
                }
            }
        }
    }
}
