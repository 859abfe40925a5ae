public import Foundation
public import ShanyrakCore
internal import ShanyrakCrypto

/// A loaded policy set with its schema and indicator catalog: the one object the access path asks.
///
/// Load it once (`load(directory:)`), then per request build a `DecisionTable` for the staff member,
/// the action and the context, and read decisions for every indicator from it.
public struct PolicyEngine: Sendable {
    /// The policies.
    public let policySet: CedarPolicySet
    /// The schema, when one was loaded.
    public let schema: CedarSchema?
    /// The indicator catalog.
    public let catalog: IndicatorCatalog
    /// The catalog's `Indicator` and `IndicatorClass` entities plus the schema's action entities.
    public let baseEntities: CedarEntities
    /// SHA-256 of the bundle message over every file of the policy directory (the message that
    /// `policy sign` signs), recorded in audit entries; empty for an engine built in memory.
    public internal(set) var bundleDigest: [UInt8] = []
    /// `bundleDigest` in hex, as `policy sign` and the logs show it.
    public var bundleHash: String { PolicyBundleSignature.hex(bundleDigest) }
    /// Per action, indicator indices grouped so that all indicators of a group get the same decision
    /// from every policy that can apply to the action.
    let groupingByAction: [CedarEntityUID: IndicatorGrouping]
    /// The grouping over all policies, for actions the schema does not name.
    let defaultGrouping: IndicatorGrouping
    let indicatorIndex: [String: Int]

    /// Creates an engine.
    /// - Parameters:
    ///   - policySet: the policies.
    ///   - catalog: the indicator catalog.
    ///   - schema: the schema (its action groups are added to the entity store).
    public init(policySet: CedarPolicySet, catalog: IndicatorCatalog, schema: CedarSchema?) {
        self.policySet = policySet
        self.schema = schema
        self.catalog = catalog
        var list = ShanyrakModel.catalogEntities(catalog)
        list += schema?.actionEntities ?? []
        // Catalog ids are unique and schema actions are in their own namespace, so this cannot fail; if it
        // ever did, an empty store would make `forbid`s on indicators error and be skipped: fail closed.
        let base: CedarEntities
        do {
            base = try CedarEntities(list)
        } catch {
            preconditionFailure("the catalog and schema entities do not form a store: \(error)")
        }
        self.baseEntities = base
        var index: [String: Int] = [:]
        for (i, ind) in catalog.indicators.enumerated() { index[ind.id] = i }
        self.indicatorIndex = index
        self.defaultGrouping = IndicatorGrouping(policies: policySet.policies, catalog: catalog, entities: base)
        var actions = Set(ShanyrakModel.Action.allCases.map(\.uid))
        actions.formUnion(schema?.actions.keys ?? [:].keys)
        var byAction: [CedarEntityUID: IndicatorGrouping] = [:]
        for a in actions {
            // A policy can apply unless its action scope names other actions only (`in` is kept: it may
            // reach the action through a group).
            let applicable = policySet.policies.filter { p in
                if case .eq(let b) = p.action { return a == b }
                return true
            }
            byAction[a] = IndicatorGrouping(policies: applicable, catalog: catalog, entities: base)
        }
        self.groupingByAction = byAction
    }

    /// The indicator grouping used for an action's decision tables.
    func grouping(for action: CedarEntityUID) -> IndicatorGrouping {
        groupingByAction[action] ?? defaultGrouping
    }

    /// Loads `DIR/*.cedar` (recursively, lexicographic path order), `DIR/schema.cedarschema.json` and
    /// `DIR/indicators.yaml`.
    /// - Parameters:
    ///   - directory: the policy directory.
    ///   - catalog: a catalog to use instead of `DIR/indicators.yaml`.
    /// - Throws: `PolicyLoadError` naming the file (and line and column) that failed.
    public static func load(directory: URL, catalog: IndicatorCatalog? = nil) throws(PolicyLoadError) -> PolicyEngine {
        let files: [PolicyFile]
        do {
            files = try PolicyBundleSignature.read(directory: directory)
        } catch {
            throw PolicyLoadError(error.message)
        }
        return try load(files: files, catalog: catalog)
    }

    /// Builds the engine from a policy set's files as read once (`PolicyBundleSignature.read` or `verify`):
    /// the `.cedar` files in set order, `schema.cedarschema.json`, `indicators.yaml`, and the bundle digest
    /// of exactly these bytes.
    /// - Parameters:
    ///   - files: the set's files.
    ///   - catalog: a catalog to use instead of the set's `indicators.yaml`.
    /// - Throws: `PolicyLoadError` naming the file (and line and column) that failed.
    public static func load(files: [PolicyFile], catalog: IndicatorCatalog? = nil) throws(PolicyLoadError)
        -> PolicyEngine
    {
        var cedar: [(name: String, text: String)] = []
        for f in files where f.name.hasSuffix(".cedar") {
            guard let text = f.text else {
                throw PolicyLoadError("\(f.name): cannot read the file as UTF-8")
            }
            cedar.append((f.name, text))
        }
        let set: CedarPolicySet
        do {
            set = try CedarPolicySet(files: cedar)
        } catch {
            throw PolicyLoadError(error.description)
        }
        var schema: CedarSchema?
        if let file = files.first(where: { $0.name == "schema.cedarschema.json" }) {
            do {
                schema = try CedarSchema.parse(Data(file.bytes))
            } catch {
                throw PolicyLoadError(error.message)
            }
        }
        let cat: IndicatorCatalog
        if let catalog {
            cat = catalog
        } else {
            guard let text = files.text(of: "indicators.yaml") else {
                throw PolicyLoadError("indicators.yaml: missing or not UTF-8")
            }
            do {
                cat = try IndicatorCatalog.parse(yaml: text)
            } catch {
                throw PolicyLoadError("indicators.yaml: \(error.message)")
            }
        }
        var engine = PolicyEngine(policySet: set, catalog: cat, schema: schema)
        engine.bundleDigest = SHA256.hash(PolicyBundleSignature.message(files.map { ($0.name, $0.bytes) }))
        return engine
    }

    /// The entity store for a request by this staff member: the catalog plus the staff entity and roles.
    public func entities(for staff: ShanyrakModel.Staff) -> CedarEntities {
        // The staff entity and its roles are in their own types, apart from the catalog's: adding them cannot
        // collide. Were it to, deciding without the principal would be wrong either way: fail closed.
        do {
            return try baseEntities.adding(staff.entities)
        } catch {
            preconditionFailure("a staff member's entities collide with the catalog's: \(error)")
        }
    }

    /// Decides one request (Cedar semantics).
    /// - Parameters:
    ///   - request: the request.
    ///   - entities: the entity store, usually `entities(for:)`.
    public func authorize(_ request: CedarRequest, entities: CedarEntities) -> CedarResponse {
        policySet.authorize(request, entities: entities)
    }

    /// Decides one request by a staff member on one resource.
    /// - Parameters:
    ///   - staff: the principal.
    ///   - action: the action.
    ///   - resource: an indicator uid (`ShanyrakModel.indicatorUID`) or a system uid.
    ///   - context: the context (`ShanyrakModel.context(...)`).
    public func authorize(
        staff: ShanyrakModel.Staff, action: ShanyrakModel.Action, resource: CedarEntityUID,
        context: [String: CedarValue]
    ) -> CedarResponse {
        let request = CedarRequest(principal: staff.uid, action: action.uid, resource: resource, context: context)
        return policySet.authorize(request, entities: entities(for: staff))
    }

    /// Explains one request: the decision, the determining policies, and per policy which part held or failed.
    public func explain(_ request: CedarRequest, entities: CedarEntities) -> PolicyExplanation {
        policySet.explain(request, entities: entities)
    }

    /// Decisions for every catalog indicator, for one staff member, action and context.
    ///
    /// Costs one evaluation of the policy set per indicator group (indicators that no policy can tell
    /// apart), not one per indicator.
    public func decisionTable(
        staff: ShanyrakModel.Staff, action: ShanyrakModel.Action, context: [String: CedarValue]
    ) -> DecisionTable {
        decisionTable(principal: staff.uid, action: action.uid, context: context, entities: entities(for: staff))
    }

    /// Decisions for every catalog indicator, for any principal in `entities`.
    /// - Parameters:
    ///   - principal: the principal's uid.
    ///   - action: the action's uid.
    ///   - context: the context record.
    ///   - entities: a store holding the principal and the catalog (`entities(for:)` or `baseEntities.adding`).
    public func decisionTable(
        principal: CedarEntityUID, action: CedarEntityUID, context: [String: CedarValue], entities: CedarEntities
    ) -> DecisionTable {
        // If the request itself carries indicator or indicator-class references, a policy could compare
        // them with the resource: then grouping is not sound and every indicator is decided on its own.
        func risky(_ v: CedarValue) -> Bool {
            v.mentionsType(ShanyrakModel.indicatorType) || v.mentionsType(ShanyrakModel.indicatorClassType)
        }
        var perIndicator = context.values.contains(where: risky)
        if !perIndicator, let p = entities.entity(principal) {
            perIndicator = p.attributes.values.contains(where: risky)
        }
        var request = CedarRequest(
            principal: principal, action: action, resource: ShanyrakModel.indicatorUID(""), context: context)
        if perIndicator {
            var responses: [CedarResponse] = []
            for ind in catalog.indicators {
                request.resource = ShanyrakModel.indicatorUID(ind.id)
                responses.append(policySet.authorize(request, entities: entities))
            }
            return DecisionTable(
                indicatorIndex: indicatorIndex, groupOfIndicator: Array(0..<responses.count), responses: responses)
        }
        let grouping = grouping(for: action)
        var responses: [CedarResponse] = []
        responses.reserveCapacity(grouping.groups.count)
        for g in grouping.groups {
            request.resource = grouping.representatives[g[0]]
            responses.append(policySet.authorize(request, entities: entities))
        }
        return DecisionTable(indicatorIndex: indicatorIndex, groupOfIndicator: grouping.groupOf, responses: responses)
    }
}

/// Indicators grouped by everything a set of policies can observe about them: the attributes the
/// policies read, membership in the entities they name, and the id when they name the indicator.
struct IndicatorGrouping: Sendable {
    /// Catalog indices per group.
    let groups: [[Int]]
    /// Group per catalog index.
    let groupOf: [Int]
    /// The uid of each catalog indicator, built once.
    let representatives: [CedarEntityUID]

    init(policies: [CedarPolicy], catalog: IndicatorCatalog, entities: CedarEntities) {
        let set = CedarPolicySet(policies: policies)
        let named = PolicyAnalysis.entityLiterals(in: set)
        let read = PolicyAnalysis.attributeNames(in: set)
        let namedSorted = named.sorted()
        var keyToGroup: [String: Int] = [:]
        var groups: [[Int]] = []
        var groupOf: [Int] = []
        var uids: [CedarEntityUID] = []
        for (i, ind) in catalog.indicators.enumerated() {
            let uid = ShanyrakModel.indicatorUID(ind.id)
            uids.append(uid)
            var key: String
            if named.contains(uid) {
                key = "id:\(ind.id)"
            } else {
                key = read.contains("survivorSensitive") ? "s=\(ind.survivorSensitive)" : "s=?"
                key += read.contains("sphere") ? "|p=\(ind.sphere.rawValue)" : "|p=?"
                key += read.contains("sources") ? "|src=\(ind.sources.sorted())" : "|src=?"
                let within = namedSorted.filter { entities.isDescendant(uid, orEqualTo: $0) }
                key += "|in=\(within.map(\.description))"
            }
            if let g = keyToGroup[key] {
                groups[g].append(i)
                groupOf.append(g)
            } else {
                keyToGroup[key] = groups.count
                groupOf.append(groups.count)
                groups.append([i])
            }
        }
        self.groups = groups
        self.groupOf = groupOf
        self.representatives = uids
    }
}

/// Decisions for every catalog indicator for one (principal, action, context).
public struct DecisionTable: Sendable {
    let indicatorIndex: [String: Int]
    let groupOfIndicator: [Int]
    let responses: [CedarResponse]

    /// How many policy-set evaluations built the table.
    public var evaluations: Int { responses.count }

    /// The response for an indicator, nil when the catalog has no such indicator.
    ///
    /// Indicators of one group share a response; an error message may name the group's first indicator.
    public func response(for indicatorID: String) -> CedarResponse? {
        guard let i = indicatorIndex[indicatorID] else { return nil }
        return responses[groupOfIndicator[i]]
    }

    /// Whether the indicator is allowed (false for unknown indicators).
    public func isAllowed(_ indicatorID: String) -> Bool {
        guard let i = indicatorIndex[indicatorID] else { return false }
        return responses[groupOfIndicator[i]].decision == .allow
    }

    /// Whether the indicator at this catalog position is allowed.
    public func isAllowed(catalogIndex: Int) -> Bool {
        guard catalogIndex >= 0, catalogIndex < groupOfIndicator.count else { return false }
        return responses[groupOfIndicator[catalogIndex]].decision == .allow
    }

    /// Ids of every allowed indicator.
    public var allowedIndicatorIDs: Set<String> {
        Set(indicatorIndex.compactMap { responses[groupOfIndicator[$0.value]].decision == .allow ? $0.key : nil })
    }
}

extension CedarValue {
    /// Whether the value is, or contains, an entity reference of this type.
    func mentionsType(_ type: String) -> Bool {
        switch self {
        case .entity(let uid): return uid.type == type
        case .set(let s): return s.contains { $0.mentionsType(type) }
        case .record(let r): return r.values.contains { $0.mentionsType(type) }
        default: return false
        }
    }
}

/// Static facts about a policy set.
enum PolicyAnalysis {
    /// Every entity uid written in a policy (scope and conditions).
    static func entityLiterals(in set: CedarPolicySet) -> Set<CedarEntityUID> {
        var out: Set<CedarEntityUID> = []
        for p in set.policies {
            for s in [p.principal, p.resource] {
                switch s {
                case .eq(let e), .in(let e), .isIn(_, let e): out.insert(e)
                default: break
                }
            }
            for c in p.conditions { walk(c.body) { if case .literal(let v) = $0.kind { collect(v, into: &out) } } }
        }
        return out
    }

    static func collect(_ v: CedarValue, into out: inout Set<CedarEntityUID>) {
        switch v {
        case .entity(let e): out.insert(e)
        case .set(let s): for x in s { collect(x, into: &out) }
        case .record(let r): for x in r.values { collect(x, into: &out) }
        default: break
        }
    }

    /// Calls `visit` on every sub-expression.
    static func walk(_ e: Expr, _ visit: (Expr) -> Void) {
        visit(e)
        switch e.kind {
        case .literal, .variable: break
        case .not(let x), .negate(let x), .getAttr(let x, _), .hasAttr(let x, _), .like(let x, _, _), .isEmpty(let x):
            walk(x, visit)
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b):
            walk(a, visit)
            walk(b, visit)
        case .ifThenElse(let a, let b, let c):
            walk(a, visit)
            walk(b, visit)
            walk(c, visit)
        case .isType(let x, _, let y):
            walk(x, visit)
            if let y { walk(y, visit) }
        case .set(let items): for x in items { walk(x, visit) }
        case .record(let fields): for (_, x) in fields { walk(x, visit) }
        }
    }

    /// Every string literal in the policies, plus a string matching each `like` pattern.
    static func stringLiterals(in set: CedarPolicySet) -> Set<String> {
        var out: Set<String> = []
        for p in set.policies {
            for c in p.conditions {
                walk(c.body) { e in
                    switch e.kind {
                    case .literal(let v): collectStrings(v, into: &out)
                    case .like(_, let pattern, _):
                        var s = ""
                        for el in pattern { if case .scalar(let u) = el { s.unicodeScalars.append(u) } }
                        out.insert(s)
                    default: break
                    }
                }
            }
        }
        return out
    }

    static func collectStrings(_ v: CedarValue, into out: inout Set<String>) {
        switch v {
        case .string(let s): out.insert(s)
        case .set(let s): for x in s { collectStrings(x, into: &out) }
        case .record(let r): for x in r.values { collectStrings(x, into: &out) }
        default: break
        }
    }
}
