public import ShanyrakCore

/// The Cedar model of this service: entity types, roles, actions, views and the builders of
/// entities and contexts that the access path passes to the policy engine.
public enum ShanyrakModel {
    /// The Cedar namespace of every type.
    public static let namespace = "Shanyrak"

    /// Entity type names.
    public static let staffType = "Shanyrak::Staff"
    /// The role entity type; a staff member is `in` each of their roles.
    public static let roleType = "Shanyrak::Role"
    /// The indicator entity type (resource of data decisions).
    public static let indicatorType = "Shanyrak::Indicator"
    /// The indicator class entity type (parent of each indicator).
    public static let indicatorClassType = "Shanyrak::IndicatorClass"
    /// The system entity type (resource of non-data decisions).
    public static let systemType = "Shanyrak::System"
    /// The action entity type.
    public static let actionType = "Shanyrak::Action"

    /// The resource of `assign`, `managePolicy` and `breakGlass` decisions.
    public static let registry = CedarEntityUID(type: systemType, id: "registry")
    /// The resource of `readAudit` decisions.
    public static let auditLog = CedarEntityUID(type: systemType, id: "audit")

    /// The staff roles policies scope over (`ShanyrakCore.Role`).
    public typealias Role = ShanyrakCore.Role

    /// Actions of the schema.
    public enum Action: String, CaseIterable, Sendable {
        /// Read indicator values in a view.
        case read
        /// Export indicators in an extract or aggregate.
        case export
        /// Ingest indicator values from an agency feed.
        case ingest
        /// Read the audit log (resource `auditLog`).
        case readAudit
        /// Change the policy set (resource `registry`).
        case managePolicy
        /// Assign cases to staff (resource `registry`).
        case assign
        /// Open a break-glass session (resource `registry`).
        case breakGlass

        /// The action's entity uid.
        public var uid: CedarEntityUID { CedarEntityUID(type: ShanyrakModel.actionType, id: rawValue) }
        /// Whether the resource is an indicator (else a `System` entity).
        public var isDataAction: Bool { self == .read || self == .export || self == .ingest }
    }

    /// The view a decision is asked for (`context.view`).
    public enum View: String, CaseIterable, Sendable {
        /// A household view (never survivor-sensitive data).
        case household
        /// One person's view.
        case person
        /// An anonymised research extract.
        case extract
        /// A noisy aggregate table.
        case aggregate
        /// Actions that have no view (ingest, audit, administration).
        case none
    }

    /// A staff member as a principal.
    public struct Staff: Sendable, Hashable {
        /// Staff id (the entity id).
        public let id: String
        /// Role names, such as `social_worker`.
        public let roles: Set<String>
        /// District of work.
        public let district: String
        /// Organisation.
        public let organisation: String
        /// Agency source for agency accounts, else "".
        public let source: String

        /// Creates a staff principal.
        public init(id: String, roles: Set<String>, district: String, organisation: String, source: String = "") {
            self.id = id
            self.roles = roles
            self.district = district
            self.organisation = organisation
            self.source = source
        }

        /// The staff member's entity uid.
        public var uid: CedarEntityUID { CedarEntityUID(type: ShanyrakModel.staffType, id: id) }

        /// The staff entity and its role entities.
        public var entities: [CedarEntity] {
            let roleUIDs = roles.map { CedarEntityUID(type: ShanyrakModel.roleType, id: $0) }
            let me = CedarEntity(
                uid: uid,
                attributes: [
                    "district": .string(district), "organisation": .string(organisation), "source": .string(source),
                ], parents: Set(roleUIDs))
            return [me] + roleUIDs.map { CedarEntity(uid: $0) }
        }
    }

    /// The uid of an indicator entity.
    public static func indicatorUID(_ id: String) -> CedarEntityUID { CedarEntityUID(type: indicatorType, id: id) }

    /// The uid of an indicator class entity.
    public static func classUID(_ c: IndicatorClass) -> CedarEntityUID {
        CedarEntityUID(type: indicatorClassType, id: c.rawValue)
    }

    /// The catalog as entities: one `Indicator` per entry (in its `IndicatorClass`) and every class.
    public static func catalogEntities(_ catalog: IndicatorCatalog) -> [CedarEntity] {
        var list = IndicatorClass.allCases.map { CedarEntity(uid: classUID($0)) }
        for i in catalog.indicators {
            list.append(
                CedarEntity(
                    uid: indicatorUID(i.id),
                    attributes: [
                        "survivorSensitive": .bool(i.survivorSensitive), "sphere": .string(i.sphere.rawValue),
                        "sources": .set(Set(i.sources.map { CedarValue.string($0) })),
                    ], parents: [classUID(i.indicatorClass)]))
        }
        return list
    }

    /// The decision context record.
    /// - Parameters:
    ///   - view: the view asked for.
    ///   - assigned: the subject's case is assigned to the principal.
    ///   - sameDistrict: the subject lives in the principal's district.
    ///   - purpose: the stated purpose ("" when none).
    ///   - breakGlass: a break-glass session is open.
    public static func context(
        view: View, assigned: Bool, sameDistrict: Bool, purpose: String = "", breakGlass: Bool = false
    ) -> [String: CedarValue] {
        [
            "view": .string(view.rawValue), "assigned": .bool(assigned), "sameDistrict": .bool(sameDistrict),
            "purpose": .string(purpose), "breakGlass": .bool(breakGlass),
        ]
    }
}

extension Role {
    /// The role's entity uid.
    public var uid: CedarEntityUID { CedarEntityUID(type: ShanyrakModel.roleType, id: rawValue) }
}
