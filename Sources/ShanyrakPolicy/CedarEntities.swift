/// One entity: its uid, attributes and direct parents.
public struct CedarEntity: Sendable, Hashable {
    /// The entity's uid.
    public let uid: CedarEntityUID
    /// Attribute values.
    public let attributes: [String: CedarValue]
    /// Direct parents in the hierarchy.
    public let parents: Set<CedarEntityUID>

    /// Creates an entity.
    /// - Parameters:
    ///   - uid: the entity's uid.
    ///   - attributes: attribute values.
    ///   - parents: direct parents.
    public init(uid: CedarEntityUID, attributes: [String: CedarValue] = [:], parents: Set<CedarEntityUID> = []) {
        self.uid = uid
        self.attributes = attributes
        self.parents = parents
    }
}

/// An entity store with the transitive closure of the hierarchy precomputed, so that `in` is one lookup.
///
/// `adding(_:)` layers a few entities (a request's principal and roles) over a shared base (the catalog)
/// without copying the base, as long as the new entities are not ancestors of stored ones.
public struct CedarEntities: Sendable {
    private var base: [CedarEntityUID: CedarEntity]
    private var baseAncestors: [CedarEntityUID: Set<CedarEntityUID>]
    private var baseAllAncestors: Set<CedarEntityUID>
    private var extra: [CedarEntityUID: CedarEntity] = [:]
    private var extraAncestors: [CedarEntityUID: Set<CedarEntityUID>] = [:]
    private var extraAllAncestors: Set<CedarEntityUID> = []

    /// An empty store.
    public init() {
        base = [:]
        baseAncestors = [:]
        baseAllAncestors = []
    }

    /// Creates a store from entities, computing the transitive closure of the parent relation.
    /// - Throws: `CedarJSONError` when two entities share a uid.
    public init(_ list: [CedarEntity]) throws(CedarJSONError) {
        self.init()
        for e in list {
            if base[e.uid] != nil { throw CedarJSONError("duplicate entity \(e.uid)") }
            base[e.uid] = e
        }
        rebuild()
    }

    /// The number of entities.
    public var count: Int { base.count + extra.count }

    /// Every entity, in no particular order.
    public var all: [CedarEntity] { Array(base.values) + Array(extra.values) }

    /// The entity with this uid, if stored.
    @inline(__always)
    public func entity(_ uid: CedarEntityUID) -> CedarEntity? {
        if !extra.isEmpty, let e = extra[uid] { return e }
        return base[uid]
    }

    /// All ancestors of an entity (transitively), empty when unknown.
    public func ancestors(of uid: CedarEntityUID) -> Set<CedarEntityUID> {
        if !extraAncestors.isEmpty, let a = extraAncestors[uid] { return a }
        return baseAncestors[uid] ?? []
    }

    /// Cedar's `in`: equal, or an ancestor through the hierarchy.
    @inline(__always)
    public func isDescendant(_ uid: CedarEntityUID, orEqualTo other: CedarEntityUID) -> Bool {
        if uid == other { return true }
        if !extraAncestors.isEmpty, let a = extraAncestors[uid] { return a.contains(other) }
        return baseAncestors[uid]?.contains(other) ?? false
    }

    /// A new store with more entities (for example a request's principal added to the catalog store).
    /// - Throws: `CedarJSONError` when a uid is already stored.
    public func adding(_ list: [CedarEntity]) throws(CedarJSONError) -> CedarEntities {
        var copy = self
        var layered = true
        for e in list {
            if copy.entity(e.uid) != nil { throw CedarJSONError("duplicate entity \(e.uid)") }
            if baseAllAncestors.contains(e.uid) || extraAllAncestors.contains(e.uid) { layered = false }
            copy.extra[e.uid] = e
        }
        if layered {
            for e in list {
                let a = copy.closure(of: e.parents)
                copy.extraAncestors[e.uid] = a
                copy.extraAllAncestors.formUnion(a)
            }
        } else {
            for (k, v) in copy.extra { copy.base[k] = v }
            copy.extra = [:]
            copy.extraAncestors = [:]
            copy.extraAllAncestors = []
            copy.rebuild()
        }
        return copy
    }

    private mutating func rebuild() {
        baseAncestors = [:]
        baseAllAncestors = []
        for (uid, e) in base {
            let a = closure(of: e.parents)
            baseAncestors[uid] = a
            baseAllAncestors.formUnion(a)
        }
    }

    private func closure(of parents: Set<CedarEntityUID>) -> Set<CedarEntityUID> {
        var seen: Set<CedarEntityUID> = []
        var stack = Array(parents)
        while let p = stack.popLast() {
            guard seen.insert(p).inserted else { continue }
            if let known = extraAncestors[p] ?? baseAncestors[p] {
                seen.formUnion(known)
            } else if let ps = entity(p)?.parents {
                stack.append(contentsOf: ps)
            }
        }
        return seen
    }
}
