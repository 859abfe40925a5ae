import Testing

@testable import ShanyrakPolicy

/// The entity hierarchy: transitive `in`, cycles, unknown entities, layered stores.
struct HierarchyTests {
    func uid(_ id: String) -> CedarEntityUID { CedarEntityUID(type: "T", id: id) }

    @Test("in is transitive through stored parents, and reflexive")
    func transitive() throws {
        let s = try CedarEntities([
            CedarEntity(uid: uid("a"), parents: [uid("b")]), CedarEntity(uid: uid("b"), parents: [uid("c")]),
            CedarEntity(uid: uid("c"), parents: [uid("d")]),
        ])
        #expect(s.isDescendant(uid("a"), orEqualTo: uid("d")))
        #expect(s.isDescendant(uid("a"), orEqualTo: uid("a")))
        #expect(!s.isDescendant(uid("d"), orEqualTo: uid("a")))
        #expect(s.ancestors(of: uid("a")) == [uid("b"), uid("c"), uid("d")])
        #expect(s.ancestors(of: uid("zz")).isEmpty)
    }

    @Test("cycles terminate")
    func cycles() throws {
        let s = try CedarEntities([
            CedarEntity(uid: uid("a"), parents: [uid("b")]), CedarEntity(uid: uid("b"), parents: [uid("a")]),
        ])
        #expect(s.isDescendant(uid("a"), orEqualTo: uid("b")))
        #expect(s.isDescendant(uid("b"), orEqualTo: uid("a")))
    }

    @Test("adding entities layers them; adding a missing ancestor recomputes the closure")
    func adding() throws {
        let base = try CedarEntities([CedarEntity(uid: uid("leaf"), parents: [uid("mid")])])
        #expect(!base.isDescendant(uid("leaf"), orEqualTo: uid("top")))
        let layered = try base.adding([CedarEntity(uid: uid("p"), parents: [uid("leaf")])])
        #expect(layered.isDescendant(uid("p"), orEqualTo: uid("mid")))
        let linked = try layered.adding([CedarEntity(uid: uid("mid"), parents: [uid("top")])])
        #expect(linked.isDescendant(uid("leaf"), orEqualTo: uid("top")))
        #expect(linked.isDescendant(uid("p"), orEqualTo: uid("top")))
        #expect(!base.isDescendant(uid("leaf"), orEqualTo: uid("top")), "the base is not changed")
        #expect(throws: CedarJSONError.self) { try base.adding([CedarEntity(uid: uid("leaf"))]) }
    }
}
