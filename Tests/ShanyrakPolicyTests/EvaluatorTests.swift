import Foundation
import Testing

@testable import ShanyrakPolicy

/// Every operator of the supported subset, with Cedar's results and errors.
struct EvaluatorTests {
    static let entities: CedarEntities = {
        let g = CedarEntityUID(type: "Ns::Group", id: "g")
        let top = CedarEntityUID(type: "Ns::Group", id: "top")
        let alice = CedarEntityUID(type: "Ns::User", id: "alice")
        return try! CedarEntities([
            CedarEntity(
                uid: alice,
                attributes: [
                    "age": .long(42), "name": .string("Alice"), "tags": .set([.string("a"), .string("b")]),
                    "profile": .record(["level": .long(3)]),
                    "boss": .entity(CedarEntityUID(type: "Ns::User", id: "bob")),
                ], parents: [g]),
            CedarEntity(uid: g, parents: [top]),
            CedarEntity(uid: top),
        ])
    }()

    static let request = CedarRequest(
        principal: CedarEntityUID(type: "Ns::User", id: "alice"),
        action: CedarEntityUID(type: "Ns::Action", id: "read"),
        resource: CedarEntityUID(type: "Ns::Doc", id: "d1"),
        context: ["n": .long(7), "flag": .bool(true), "s": .string("hello"), "max": .long(Int64.max)])

    static func eval(_ source: String) throws -> Result<CedarValue, EvaluationError> {
        let e = try CedarParser.parseExpression(source)
        let ev = Evaluator(request: request, entities: entities)
        do throws(EvaluationError) {
            return .success(try ev.eval(e))
        } catch {
            return .failure(error)
        }
    }

    static let trueCases: [String] = [
        // literals and equality
        "true", "!false", "1 == 1", "1 != 2", "\"a\" == \"a\"", "1 != true", "[1, 2] == [2, 1, 1]",
        "{a: 1, b: \"x\"} == {b: \"x\", a: 1}", "{a: 1} != {a: 1, b: 2}", "Ns::User::\"alice\" == principal",
        "principal != resource", "\"\\u{41}\\x42\\t\" == \"AB\t\"", "\"\\\"q\\\"\" like \"\\\"*\"",
        // comparison and arithmetic
        "1 < 2", "2 <= 2", "3 > 2", "3 >= 3", "1 + 2 * 3 == 7", "10 - 2 - 3 == 5", "-5 < 0", "--5 == 5",
        "-9223372036854775808 < 0", "-(2) == -2", "context.n * 2 == 14",
        // boolean logic with short-circuit
        "true || (1 + \"a\" == 2)", "!(false && context.missing)", "if context.flag then true else 1",
        "(if false then 1 else 2) == 2",
        // hierarchy
        "principal in Ns::Group::\"g\"", "principal in Ns::Group::\"top\"", "principal in principal",
        "principal in [Ns::Group::\"x\", Ns::Group::\"top\"]", "!(principal in Ns::Group::\"x\")",
        "Ns::User::\"ghost\" in Ns::User::\"ghost\"", "!(Ns::User::\"ghost\" in Ns::Group::\"g\")",
        // has, attributes
        "principal has age", "principal has \"name\"", "!(principal has nope)", "!(resource has anything)",
        "context has n", "principal has profile.level", "!(principal has profile.nope)", "principal.age == 42",
        "principal[\"name\"] == \"Alice\"", "principal.profile.level == 3", "{\"a b\": 1}[\"a b\"] == 1",
        // like
        "\"hello\" like \"h*o\"", "\"hello\" like \"*\"", "\"\" like \"*\"", "\"a*b\" like \"a\\*b\"",
        "!(\"axb\" like \"a\\*b\")", "\"abcabc\" like \"*bc*bc\"", "!(\"abc\" like \"ab\")",
        // is
        "principal is Ns::User", "!(principal is Ns::Group)", "principal is Ns::User in Ns::Group::\"top\"",
        "!(resource is Ns::User in Ns::Group::\"top\")",
        // sets
        "principal.tags.contains(\"a\")", "!principal.tags.contains(\"z\")", "[1, 2, 3].containsAll([3, 1])",
        "!([1].containsAll([1, 2]))", "[1, 2].containsAny([2, 9])", "!([1].containsAny([]))", "[].isEmpty()",
        "![1].isEmpty()", "[[1]].contains([1])", "[{a: 1}].contains({a: 1})",
    ]

    @Test("expressions that are true", arguments: trueCases)
    func isTrue(_ source: String) throws {
        let r = try Self.eval(source)
        #expect(r == .success(.bool(true)), "\(source) gave \(r)")
    }

    static let errorCases: [(String, String)] = [
        ("context.max + 1", "integer overflow while attempting to add"),
        ("-context.max - 2", "integer overflow while attempting to subtract"),
        ("context.max * 2", "integer overflow while attempting to multiply"),
        ("-(-9223372036854775808)", "integer overflow while attempting to negate"),
        ("1 + \"a\"", "type error: expected long, got string"),
        ("\"a\" < \"b\"", "type error"),
        ("!1", "type error: expected bool, got long"),
        ("-true", "type error: expected long, got bool"),
        ("1 && true", "type error: expected bool, got long"),
        ("true && 1", "type error: expected bool, got long"),
        ("false || 1", "type error: expected bool, got long"),
        ("if 1 then 2 else 3", "type error: expected bool"),
        ("1 in principal", "type error"),
        ("principal in 1", "type error"),
        ("principal in [1]", "type error"),
        ("1 like \"*\"", "type error: expected string"),
        ("1 is Ns::User", "type error"),
        ("1 has a", "type error"),
        ("1.contains(1)", "type error: expected set"),
        ("[1].containsAll(1)", "type error: expected set"),
        ("\"a\".isEmpty()", "type error: expected set"),
        ("context.missing", "record does not have the attribute `missing`"),
        ("principal.nope", "does not have the attribute `nope`"),
        ("resource.anything", "entity `Ns::Doc::\"d1\"` does not exist"),
        ("principal.boss.age", "does not exist"),
        ("true.x", "type error"),
    ]

    @Test("expressions that fail as Cedar fails", arguments: errorCases)
    func fails(_ source: String, _ message: String) throws {
        let r = try Self.eval(source)
        guard case .failure(let e) = r else {
            Issue.record("\(source) gave \(r), expected an error")
            return
        }
        #expect(e.message.contains(message), "\(source): \(e.message)")
    }

    @Test("a policy whose condition is not boolean errors and is skipped; the others still decide")
    func erroringPolicySkipped() throws {
        let set = try CedarPolicySet(
            text: """
                @id("bad") forbid(principal, action, resource) when { 1 };
                @id("overflow") forbid(principal, action, resource) when { context.max + 1 > 0 };
                @id("ok") permit(principal, action, resource);
                """)
        let r = set.authorize(Self.request, entities: Self.entities)
        #expect(r.decision == .allow)
        #expect(r.determiningPolicies == ["ok"])
        #expect(r.errors.map(\.policyID) == ["bad", "overflow"])
    }

    @Test("forbid overrides permit, default deny, order does not matter")
    func combination() throws {
        let policies = [
            "@id(\"p\") permit(principal, action, resource);",
            "@id(\"f\") forbid(principal in Ns::Group::\"top\", action, resource) when { context.flag };",
        ]
        for text in [policies.joined(separator: "\n"), policies.reversed().joined(separator: "\n")] {
            let r = try CedarPolicySet(text: text).authorize(Self.request, entities: Self.entities)
            #expect(r.decision == .deny)
            #expect(r.determiningPolicies == ["f"])
        }
        let none = try CedarPolicySet(text: "").authorize(Self.request, entities: Self.entities)
        #expect(none.decision == .deny && none.determiningPolicies.isEmpty)
    }
}

extension EvaluatorTests {
    @Test("strings compare by their bytes, as in Cedar, not by Unicode canonical equivalence")
    func stringsAreBytes() throws {
        #expect(try Self.eval("\"\\u{e9}\" == \"e\\u{301}\"") == .success(.bool(false)))
        #expect(try Self.eval("[\"\\u{e9}\"].contains(\"e\\u{301}\")") == .success(.bool(false)))
        #expect(try Self.eval("\"\\u{e9}\" == \"\\u{e9}\"") == .success(.bool(true)))
        #expect(CedarEntityUID(type: "T", id: "\u{e9}") != CedarEntityUID(type: "T", id: "e\u{301}"))
    }
}
