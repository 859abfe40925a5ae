import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy explain`: one request, with every policy part that held or failed.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain one decision: determining policies and, per policy, which part held or failed.",
            discussion: """
                The request is a Cedar JSON request (--request) or is built from --staff/--roles/... \
                and --action/--indicator/--view. The catalog's entities are always loaded.
                """)

        @Option(help: "The policy directory.")
        var policies: String = "policies"

        @Option(help: "More entities in Cedar's JSON format.")
        var entities: String?

        @Option(help: "The request as Cedar JSON (principal, action, resource, context).")
        var request: String?

        @Option(help: "Staff id of the principal (builds the principal entity).")
        var staff: String = "u1"

        @Option(help: "Comma-separated roles of the principal.")
        var roles: String = ""

        @Option(help: "The principal's district.")
        var district: String = ""

        @Option(help: "The principal's organisation.")
        var organisation: String = ""

        @Option(help: "The principal's agency source.")
        var source: String = ""

        @Option(help: "Action: read, export, ingest, readAudit, managePolicy, assign, breakGlass.")
        var action: String = "read"

        @Option(help: "Indicator id (resource); system actions use the registry or audit resource.")
        var indicator: String?

        @Option(help: "View: household, person, extract, aggregate, none.")
        var view: String = "person"

        @Flag(help: "context.assigned")
        var assigned = false

        @Flag(help: "context.sameDistrict")
        var sameDistrict = false

        @Flag(help: "context.breakGlass")
        var breakGlass = false

        @Option(help: "context.purpose")
        var purpose: String = ""

        @Flag(help: "Also list policies whose scope does not match the request.")
        var all = false

        func run() async throws {
            let engine = try loadEngine(policies)
            let staffMember = ShanyrakModel.Staff(
                id: staff, roles: Set(roles.split(separator: ",").map(String.init)), district: district,
                organisation: organisation, source: source)
            var extra: [CedarEntity] = []
            let req: CedarRequest
            do {
                if let entities {
                    extra = try CedarEntities.fromJSON(try Data(contentsOf: URL(fileURLWithPath: entities))).all
                }
                if let request {
                    req = try CedarRequest.fromJSON(Data(request.utf8))
                } else {
                    guard let act = ShanyrakModel.Action(rawValue: action) else {
                        throw ValidationError("unknown action \(action)")
                    }
                    guard let v = ShanyrakModel.View(rawValue: view) else {
                        throw ValidationError("unknown view \(view)")
                    }
                    let resource: CedarEntityUID =
                        act.isDataAction
                        ? ShanyrakModel.indicatorUID(indicator ?? "")
                        : (act == .readAudit ? ShanyrakModel.auditLog : ShanyrakModel.registry)
                    req = CedarRequest(
                        principal: staffMember.uid, action: act.uid, resource: resource,
                        context: ShanyrakModel.context(
                            view: v, assigned: assigned, sameDistrict: sameDistrict, purpose: purpose,
                            breakGlass: breakGlass))
                    if extra.isEmpty { extra = staffMember.entities }
                }
            } catch let e as CedarJSONError {
                printError("shanyrak policy explain: \(e.message)")
                throw ExitCode(1)
            }
            let store: CedarEntities
            do {
                store = try engine.baseEntities.adding(extra)
            } catch {
                printError("shanyrak policy explain: \(error.message)")
                throw ExitCode(1)
            }
            print("request: \(req.principal) \(req.action) \(req.resource) context \(CedarValue.record(req.context))")
            print(engine.explain(req, entities: store).report(all: all), terminator: "")
        }
    }
}
