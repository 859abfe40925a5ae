public import Foundation
public import ShanyrakCore
public import ShanyrakCrypto
public import ShanyrakPolicy

/// `AccessPolicy` over the Cedar-compatible engine of ShanyrakPolicy.
///
/// Each request builds one `DecisionTable` for (staff, action, context), so a view
/// costs one evaluation per indicator group, not per indicator. The principal is
/// the staff entity `Shanyrak::Staff::"<id>"` in its role; the context carries
/// `view`, `assigned`, `sameDistrict`, `purpose` and `breakGlass`. A break-glass
/// read also needs `breakGlass` on `Shanyrak::System::"registry"` to be permitted.
///
/// Decisions are remembered (`DecisionCache`) keyed by everything they are computed from: every
/// attribute of the principal (id, role, district, organisation, source), the action, the whole
/// context and the indicator ids asked about. The engine is immutable and evaluation deterministic,
/// so a remembered decision is exactly the one evaluation gives. The cache belongs to this value and
/// its engine: loading another policy set makes a new `CedarAccessPolicy` with an empty cache.
public struct CedarAccessPolicy: AccessPolicy {
    /// The loaded policy engine.
    public let engine: PolicyEngine
    private let cache: DecisionCache

    /// SHA-256 (hex) of the loaded policy bundle, for audit entries (empty for an in-memory engine).
    public var bundleHash: String { engine.bundleHash }
    /// The same hash as bytes, as audit entries record it.
    public var bundleDigest: [UInt8] { engine.bundleDigest }

    /// Wraps a loaded engine.
    /// - Parameters:
    ///   - engine: the engine.
    ///   - decisionCacheCapacity: the most decisions remembered (zero: evaluate every time).
    public init(engine: PolicyEngine, decisionCacheCapacity: Int = 1024) {
        self.engine = engine
        self.cache = DecisionCache(capacity: decisionCacheCapacity)
    }

    /// Loads the policies of `directory` (`*.cedar`, `schema.cedarschema.json`) over `catalog`.
    /// - Parameter publicKey: when given, the set loads only if its signature (`policies.sig`,
    ///   see `PolicyBundleSignature`) covers exactly its files and verifies with this key.
    /// - Throws: `PolicySignatureError` or `PolicyLoadError` naming the file that failed.
    public static func load(directory: URL, catalog: IndicatorCatalog, publicKey: Ed25519.PublicKey? = nil) throws
        -> CedarAccessPolicy
    {
        // One read of the folder: with a key, what is loaded is exactly what was verified.
        let files =
            try publicKey.map { try PolicyBundleSignature.verify(directory: directory, publicKey: $0) }
            ?? PolicyBundleSignature.read(directory: directory)
        return try load(files: files, catalog: catalog)
    }

    /// Loads the policies of a set's files as read (and, for a signed set, verified) once, over `catalog`.
    /// - Throws: `PolicyLoadError` naming the file that failed, or the first error of `policy check`.
    public static func load(files: [PolicyFile], catalog: IndicatorCatalog) throws -> CedarAccessPolicy {
        let engine = try PolicyEngine.load(files: files, catalog: catalog)
        // The service decides only with a set that passes `policy check` (schema, catalog and the
        // survivor-safety invariant), signed or not.
        if let problem = engine.check().first(where: { $0.severity == .error }) {
            throw PolicyLoadError("the policy set fails `shanyrak policy check`: \(problem)")
        }
        return CedarAccessPolicy(engine: engine)
    }

    /// Decides through the engine's decision table (or returns the same decision remembered).
    public func decide(principal: Principal, action: AccessAction, context: AccessContext, indicators: [String]) throws
        -> AccessDecision
    {
        let key = DecisionCache.Key(principal: principal, action: action, context: context, indicators: indicators)
        if let remembered = cache[key] { return remembered }
        let decision = evaluate(principal: principal, action: action, context: context, indicators: indicators)
        cache[key] = decision
        return decision
    }

    /// Decides through the engine's decision table, without the cache.
    /// - Parameters:
    ///   - principal: who asks.
    ///   - action: what they want to do.
    ///   - context: the facts the service computed.
    ///   - indicators: catalog indicator ids asked about.
    /// - Returns: the granted subset and the determining policy ids.
    public func evaluate(principal: Principal, action: AccessAction, context: AccessContext, indicators: [String])
        -> AccessDecision
    {
        let cedarAction: ShanyrakModel.Action
        switch action {
        case .read: cedarAction = .read
        case .export: cedarAction = .export
        case .ingest: cedarAction = .ingest
        case .assign, .find, .administer: return AccessDecision(allowed: [], policyIDs: [])
        }
        let view: ShanyrakModel.View
        switch context.view {
        case .household: view = .household
        case .person: view = .person
        case .caseload, .administration: view = .none
        }
        let staff = Self.staff(principal)
        let facts = ShanyrakModel.context(
            view: view, assigned: context.assigned, sameDistrict: context.sameDistrict, purpose: context.purpose ?? "",
            breakGlass: context.breakGlass)
        if context.breakGlass {
            let session = engine.authorize(
                staff: staff, action: .breakGlass, resource: ShanyrakModel.registry, context: facts)
            guard session.decision == .allow else {
                return AccessDecision(allowed: [], policyIDs: session.determiningPolicies)
            }
        }
        let table = engine.decisionTable(staff: staff, action: cedarAction, context: facts)
        var allowed = Set<String>()
        var allowing = Set<String>()
        var forbidding = Set<String>()
        for id in indicators {
            guard let response = table.response(for: id) else { continue }
            if response.decision == .allow {
                allowed.insert(id)
                allowing.formUnion(response.determiningPolicies)
            } else {
                forbidding.formUnion(response.determiningPolicies)
            }
        }
        return AccessDecision(allowed: allowed, policyIDs: Array(allowed.isEmpty ? forbidding : allowing))
    }

    /// Decides a service action through the engine: `readAudit` on `Shanyrak::System::"audit"`, with a
    /// context that names no view. Rare (auditor reads), so not cached.
    public func decide(principal: Principal, serviceAction: ServiceAction) throws -> ServiceDecision {
        let action: ShanyrakModel.Action
        let resource: CedarEntityUID
        switch serviceAction {
        case .readAudit: (action, resource) = (.readAudit, ShanyrakModel.auditLog)
        }
        let response = engine.authorize(
            staff: Self.staff(principal), action: action, resource: resource,
            context: ShanyrakModel.context(view: .none, assigned: false, sameDistrict: false))
        return ServiceDecision(isAllowed: response.decision == .allow, policyIDs: response.determiningPolicies)
    }

    /// The principal as the engine's staff entity, in its one role.
    private static func staff(_ principal: Principal) -> ShanyrakModel.Staff {
        ShanyrakModel.Staff(
            id: String(principal.id), roles: [principal.role.rawValue], district: principal.district ?? "",
            organisation: principal.organisation ?? "", source: principal.source ?? "")
    }
}
