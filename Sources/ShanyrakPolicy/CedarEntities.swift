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
public struct CedarEntities: Sendable {
    private var entities: [CedarEntityUID: CedarEntity]
    private var ancestorSets: [CedarEntityUID: Set<CedarEntityUID>]
    /// Every uid that is an ancestor of some stored entity.
    private var allAncestors: Set<CedarEntityUID>

    /// An empty store.
    public init() {
        entities = [:]
        ancestorSets = [:]
        allAncestors = []
    }

    /// Creates a store from entities, computing the transitive closure of the parent relation.
    /// - Throws: `CedarJSONError` when two entities share a uid.
    public init(_ list: [CedarEntity]) throws(CedarJSONError) {
        self.init()
        try self.add(list)
    }

    /// The number of entities.
    public var count: Int { entities.count }

    /// Every entity, in no particular order.
    public var all: [CedarEntity] { Array(entities.values) }

    /// The entity with this uid, if stored.
    public func entity(_ uid: CedarEntityUID) -> CedarEntity? { entities[uid] }

    /// All ancestors of an entity (transitively), empty when unknown.
    public func ancestors(of uid: CedarEntityUID) -> Set<CedarEntityUID> { ancestorSets[uid] ?? [] }

    /// Cedar's `in`: equal, or an ancestor through the hierarchy.
    public func isDescendant(_ uid: CedarEntityUID, orEqualTo other: CedarEntityUID) -> Bool {
        uid == other || (ancestorSets[uid]?.contains(other) ?? false)
    }

    /// A new store with more entities (for example a request's principal added to the catalog store).
    /// - Throws: `CedarJSONError` when a uid is already stored.
    public func adding(_ list: [CedarEntity]) throws(CedarJSONError) -> CedarEntities {
        var copy = self
        try copy.add(list)
        return copy
    }

    private mutating func add(_ list: [CedarEntity]) throws(CedarJSONError) {
        var needsFull = false
        for e in list {
            if entities[e.uid] != nil { throw CedarJSONError("duplicate entity \(e.uid)") }
            entities[e.uid] = e
            if allAncestors.contains(e.uid) { needsFull = true }
        }
        if needsFull {
            ancestorSets = [:]
            allAncestors = []
            for uid in entities.keys { computeAncestors(uid) }
        } else {
            for e in list { computeAncestors(e.uid) }
        }
    }

    private mutating func computeAncestors(_ uid: CedarEntityUID) {
        var seen: Set<CedarEntityUID> = []
        var stack = Array(entities[uid]?.parents ?? [])
        while let p = stack.popLast() {
            guard seen.insert(p).inserted else { continue }
            if let known = ancestorSets[p] {
                seen.formUnion(known)
            } else if let parents = entities[p]?.parents {
                stack.append(contentsOf: parents)
            }
        }
        ancestorSets[uid] = seen
        allAncestors.formUnion(seen)
    }
}
