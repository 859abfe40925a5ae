public import ShanyrakCore

/// What a principal wants to do with the indicators it asks about.
public enum AccessAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Look at values in a view.
    case read
    /// Take values out in an extract.
    case export
    /// Deliver values in a feed.
    case ingest
    /// Change a caseload.
    case assign
    /// Find a household's id from an IIN or a register id.
    case find
    /// Create or revoke staff accounts.
    case administer
}

/// The kind of view a read is for.
public enum ViewKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The survivor-safe household card.
    case household
    /// One person's record.
    case person
    /// The caller's list of assigned households.
    case caseload
    /// Administrative lookups and changes (assign, find).
    case administration
}

/// The facts the service computes for one request; policies decide on them.
public struct AccessContext: Sendable, Hashable, Codable {
    /// The view asked for.
    public var view: ViewKind
    /// Whether the household concerned is in the caller's caseload.
    public var assigned: Bool
    /// Whether the household's district is the caller's district.
    public var sameDistrict: Bool
    /// Whether the caller invoked break-glass with a justification.
    public var breakGlass: Bool
    /// A declared purpose, where the request carries one.
    public var purpose: String?

    /// Creates a context.
    public init(view: ViewKind, assigned: Bool, sameDistrict: Bool, breakGlass: Bool = false, purpose: String? = nil) {
        self.view = view
        self.assigned = assigned
        self.sameDistrict = sameDistrict
        self.breakGlass = breakGlass
        self.purpose = purpose
    }
}

/// The answer for one request: which indicators are granted and which policies decided.
public struct AccessDecision: Sendable, Hashable {
    /// The indicator ids granted.
    public var allowed: Set<String>
    /// Ids of the policies that determined the decision (for the audit log), sorted.
    public var policyIDs: [String]

    /// Creates a decision.
    public init(allowed: Set<String>, policyIDs: [String]) {
        self.allowed = allowed
        self.policyIDs = policyIDs.sorted()
    }
}

/// An action on the service itself rather than on indicators, decided once per request.
public enum ServiceAction: String, Sendable, Hashable, CaseIterable {
    /// Read the audit log: entries, proofs, lookups by subject (an auditor's work).
    case readAudit
}

/// The answer for a service action: whether it is permitted, and which policies decided.
public struct ServiceDecision: Sendable, Hashable {
    /// Whether the action is permitted.
    public var isAllowed: Bool
    /// Ids of the policies that determined the decision (for the audit log), sorted.
    public var policyIDs: [String]

    /// Creates a decision.
    public init(isAllowed: Bool, policyIDs: [String]) {
        self.isAllowed = isAllowed
        self.policyIDs = policyIDs.sorted()
    }
}

/// The policy engine as the access path sees it.
///
/// Semantics expected of an implementation (Cedar's): default deny, forbid
/// overrides permit. The access path treats the answer as an upper bound: it still
/// refuses survivor-sensitive indicators in a household view by itself, and it
/// ignores granted ids it did not ask about.
public protocol AccessPolicy: Sendable {
    /// Decides, for each of `indicators`, whether `principal` may perform `action` in `context`.
    /// - Parameters:
    ///   - principal: who asks.
    ///   - action: what they want to do.
    ///   - context: the facts the service computed.
    ///   - indicators: catalog indicator ids asked about.
    /// - Returns: the granted subset and the determining policy ids.
    /// - Throws: when the policy cannot be evaluated (the access path then denies).
    func decide(principal: Principal, action: AccessAction, context: AccessContext, indicators: [String]) throws
        -> AccessDecision

    /// Decides whether `principal` may perform an action on the service itself (no indicators involved).
    /// - Throws: when the policy cannot be evaluated (the caller then denies).
    func decide(principal: Principal, serviceAction: ServiceAction) throws -> ServiceDecision
}

/// The design's default policies, written in Swift: used by tests and until the
/// Cedar engine is wired in.
///
/// - `sw-assigned`: a social worker reads non-sensitive indicators of assigned households
///   (household and person views).
/// - `gbv-assigned-household`: a GBV specialist reads non-sensitive indicators in household views
///   of assigned households.
/// - `gbv-assigned-person`: a GBV specialist reads every indicator, violence included, in person
///   views of assigned cases.
/// - `gbv-break-glass`: the same in a person view of the caller's district with break-glass.
/// - `sw-break-glass`: a social worker reads non-sensitive indicators in a person view of their
///   district with break-glass.
/// - `auditor-read-audit`: an auditor reads the audit log.
/// - every other role: nothing (default deny).
public struct DefaultAccessPolicy: AccessPolicy {
    private let catalog: IndicatorCatalog

    /// Creates the policy over the catalog (classes and sensitivity come from it).
    public init(catalog: IndicatorCatalog) { self.catalog = catalog }

    /// Decides per the rules in the type's documentation.
    public func decide(principal: Principal, action: AccessAction, context: AccessContext, indicators: [String]) throws
        -> AccessDecision
    {
        guard action == .read else { return AccessDecision(allowed: [], policyIDs: []) }
        var allowed = Set<String>()
        var policies = Set<String>()
        for id in indicators {
            guard let indicator = catalog[id] else { continue }
            let sensitive = indicator.survivorSensitive || indicator.indicatorClass == .violence
            var policy: String?
            switch (principal.role, context.view) {
            case (.socialWorker, .household), (.socialWorker, .person):
                if context.assigned && !sensitive { policy = "sw-assigned" }
                if context.view == .person && context.breakGlass && context.sameDistrict && !sensitive {
                    policy = "sw-break-glass"
                }
            case (.gbvSpecialist, .household):
                if context.assigned && !sensitive { policy = "gbv-assigned-household" }
            case (.gbvSpecialist, .person):
                if context.assigned {
                    policy = "gbv-assigned-person"
                } else if context.breakGlass && context.sameDistrict {
                    policy = "gbv-break-glass"
                }
            default:
                break
            }
            if let policy {
                allowed.insert(id)
                policies.insert(policy)
            }
        }
        return AccessDecision(allowed: allowed, policyIDs: Array(policies))
    }

    /// Decides per the rules in the type's documentation.
    public func decide(principal: Principal, serviceAction: ServiceAction) throws -> ServiceDecision {
        switch (serviceAction, principal.role) {
        case (.readAudit, .auditor): return ServiceDecision(isAllowed: true, policyIDs: ["auditor-read-audit"])
        default: return ServiceDecision(isAllowed: false, policyIDs: [])
        }
    }
}
