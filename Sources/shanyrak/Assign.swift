import ArgumentParser
import Foundation
import ShanyrakAccess

extension Shanyrak {
    /// `shanyrak assign`: add a household to a staff member's caseload.
    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a household to a staff member's caseload (audited).")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The staff account id.")
        var user: Int64
        @OptionGroup var select: HouseholdSelectorOptions

        func validate() throws { try select.validate(allowID: true) }

        func run() async throws {
            try await runReportingErrors {
                try await changeAssignment(data: data.data, user: user, select: select, assigned: true)
            }
        }
    }

    /// `shanyrak unassign`: remove a household from a staff member's caseload.
    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a household from a staff member's caseload (audited).")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The staff account id.")
        var user: Int64
        @OptionGroup var select: HouseholdSelectorOptions

        func validate() throws { try select.validate(allowID: true) }

        func run() async throws {
            try await runReportingErrors {
                try await changeAssignment(data: data.data, user: user, select: select, assigned: false)
            }
        }
    }
}

private func changeAssignment(data: String, user: Int64, select: HouseholdSelectorOptions, assigned: Bool) async throws
{
    let context = try ServiceContext.open(data: data)
    let session = try await context.accessSession()
    let result: Result<Bool, any Error>
    do {
        result = .success(
            try await session.service.setAssignment(
                staffID: user, household: try select.selector(), assigned: assigned, actor: nil,
                requestID: commandLineRequestID()))
    } catch {
        result = .failure(error)
    }
    await session.close()
    let changed: Bool
    do {
        changed = try result.get()
    } catch is AccessDenied {
        throw CLIError("no such user or household", code: 3)
    }
    switch (assigned, changed) {
    case (true, true): print("assigned to user \(user)")
    case (true, false): print("already assigned to user \(user)")
    case (false, true): print("unassigned from user \(user)")
    case (false, false): print("was not assigned to user \(user)")
    }
}
