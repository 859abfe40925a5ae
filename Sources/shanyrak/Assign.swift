import ArgumentParser
import Foundation
import ShanyrakAccess

extension Shanyrak {
    /// `shanyrak assign`: add a household to a staff member's caseload.
    struct Assign: AssignmentCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a household to a staff member's caseload (audited).")
        static let assigned = true
        @OptionGroup var options: AssignmentOptions
    }

    /// `shanyrak unassign`: remove a household from a staff member's caseload.
    struct Unassign: AssignmentCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a household from a staff member's caseload (audited).")
        static let assigned = false
        @OptionGroup var options: AssignmentOptions
    }
}

/// The options of `assign` and `unassign`, declared once so that the two commands cannot drift apart.
struct AssignmentOptions: ParsableArguments {
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The staff account id.")
    var user: Int64
    @OptionGroup var select: HouseholdSelectorOptions
}

/// `assign` and `unassign` are one audited change of a caseload that differs only in its direction,
/// so they share their validation and `run()` and each states only its help text and direction.
protocol AssignmentCommand: AsyncParsableCommand {
    /// True to add the household to the caseload, false to remove it.
    static var assigned: Bool { get }
    /// The data folder, the staff account and the household.
    var options: AssignmentOptions { get }
}

extension AssignmentCommand {
    func validate() throws { try options.select.validate(allowID: true) }

    func run() async throws {
        try await runReportingErrors {
            try await changeAssignment(
                data: options.data.data, user: options.user, select: options.select, assigned: Self.assigned)
        }
    }
}

private func changeAssignment(data: String, user: Int64, select: HouseholdSelectorOptions, assigned: Bool) async throws
{
    let context = try ServiceContext.open(data: data)
    let session = try await context.accessSession()
    let changed: Bool
    do {
        changed = try await session.closing { service in
            try await service.setAssignment(
                staffID: user, household: try select.selector(), assigned: assigned, actor: nil,
                requestID: commandLineRequestID())
        }
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
