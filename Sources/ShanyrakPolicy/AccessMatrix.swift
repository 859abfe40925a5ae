import ShanyrakCore

/// One cell of the access matrix: a role may perform an action on a resource in a view under some facts.
public struct AccessCell: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The role (the principal holds only this role).
    public let role: String
    /// The action.
    public let action: String
    /// The view (`context.view`).
    public let view: String
    /// The boolean facts that were true: assigned, sameDistrict, breakGlass.
    public let facts: String
    /// The indicator id, or the system resource id for non-data actions.
    public let resource: String

    /// `role action view [facts] resource`.
    public var description: String { "\(role) \(action) \(view) [\(facts)] \(resource)" }

    /// Orders by role, action, view, facts, resource.
    public static func < (l: Self, r: Self) -> Bool {
        (l.role, l.action, l.view, l.facts, l.resource) < (r.role, r.action, r.view, r.facts, r.resource)
    }
}

/// Who may do what: every allowed (role x action x view x facts x resource) of a policy set.
public struct AccessMatrix: Sendable {
    /// The allowed cells.
    public let allowed: Set<AccessCell>

    /// Changes from `old` to `new`.
    /// - Returns: cells allowed only in `new` (gains) and only in `old` (losses), sorted.
    public static func diff(old: AccessMatrix, new: AccessMatrix) -> (gains: [AccessCell], losses: [AccessCell]) {
        (new.allowed.subtracting(old.allowed).sorted(), old.allowed.subtracting(new.allowed).sorted())
    }
}

extension PolicyEngine {
    /// The access matrix over every role (the service's roles and any role a policy names), action,
    /// view, combination of the boolean context facts, and every catalog indicator (or system resource).
    /// Agency principals get each catalog source in turn as their `source`; the purpose is "".
    /// - Parameter roles: extra roles to include.
    public func accessMatrix(extraRoles: Set<String> = []) -> AccessMatrix {
        var roles = Set(ShanyrakModel.Role.allCases.map(\.rawValue)).union(extraRoles)
        for uid in PolicyAnalysis.entityLiterals(in: policySet) where uid.type == ShanyrakModel.roleType {
            roles.insert(uid.id)
        }
        let sources = Set(catalog.indicators.flatMap(\.sources)).sorted()
        var cells: Set<AccessCell> = []
        for role in roles.sorted() {
            let principalSources = role == ShanyrakModel.Role.agency.rawValue ? sources : [""]
            for src in principalSources {
                let staff = ShanyrakModel.Staff(
                    id: "matrix-probe", roles: [role], district: "d", organisation: "o", source: src)
                let store = entities(for: staff)
                for action in ShanyrakModel.Action.allCases {
                    for view in ShanyrakModel.View.allCases {
                        for bits in 0..<8 {
                            let facts = [(1, "assigned"), (2, "sameDistrict"), (4, "breakGlass")]
                                .filter { bits & $0.0 != 0 }.map(\.1).joined(separator: ",")
                            let ctx = ShanyrakModel.context(
                                view: view, assigned: bits & 1 != 0, sameDistrict: bits & 2 != 0, purpose: "",
                                breakGlass: bits & 4 != 0)
                            let roleLabel = src.isEmpty ? role : "\(role)(\(src))"
                            if action.isDataAction {
                                let table = decisionTable(
                                    principal: staff.uid, action: action.uid, context: ctx, entities: store)
                                for (i, ind) in catalog.indicators.enumerated() where table.isAllowed(catalogIndex: i) {
                                    cells.insert(
                                        AccessCell(
                                            role: roleLabel, action: action.rawValue, view: view.rawValue,
                                            facts: facts, resource: ind.id))
                                }
                            } else {
                                for r in [ShanyrakModel.registry, ShanyrakModel.auditLog] {
                                    let req = CedarRequest(
                                        principal: staff.uid, action: action.uid, resource: r, context: ctx)
                                    if policySet.authorize(req, entities: store).decision == .allow {
                                        cells.insert(
                                            AccessCell(
                                                role: roleLabel, action: action.rawValue, view: view.rawValue,
                                                facts: facts, resource: r.description))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return AccessMatrix(allowed: cells)
    }
}
