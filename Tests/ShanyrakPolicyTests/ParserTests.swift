import Foundation
import Testing

@testable import ShanyrakPolicy

/// Syntax: what parses, and errors with file, line, column and what was expected.
struct ParserTests {
    static let errorCases: [(String, Int, Int, String)] = [
        ("permit(principal, action, resource) when { 1 + };", 1, 48, "expected an expression, found `}`"),
        ("permit(principal, action, resource)", 1, 36, "expected `when`, `unless` or `;`"),
        ("permit(principal, action)", 1, 25, "expected `,`"),
        ("permit(principal, action, resource, context);", 1, 37, "extra element in the scope: context"),
        ("permit(principal, action, resource) when { [,] };", 1, 45, "expected an expression"),
        ("allow(principal, action, resource);", 1, 1, "expected `permit`, `forbid` or `@`"),
        (
            "permit(principal, action, resource) when { ip(\"1.2.3.4\") };", 1, 44,
            "extension function `ip` is not supported"
        ),
        ("permit(principal, action, resource) when { decimal(\"1.0\") };", 1, 44, "extension function `decimal`"),
        ("permit(principal, action, resource) when { context.a.lessThan(1) };", 1, 54, "extension method `lessThan`"),
        ("permit(principal == ?principal, action, resource);", 1, 21, "templates"),
        ("permit(principal, action, resource) when { 1 < 2 < 3 };", 1, 50, "multiple relational operators"),
        ("permit(principal, action, resource) when { 9223372036854775808 };", 1, 44, "too large"),
        ("permit(principal, action, resource) when { \"\\q\" };", 1, 44, "not a valid escape"),
        ("permit(principal, action, resource) when { \"\\u{+41}\" };", 1, 44, "not a valid escape"),
        ("permit(principal, action, resource) when { \"\\u{-0}\" };", 1, 44, "not a valid escape"),
        ("permit(principal, action, resource) when { {a: 1, a: 2} };", 1, 51, "duplicate key `a`"),
        ("permit(principal, action, resource) when { x };", 1, 44, "invalid variable: x"),
        ("permit(principal, action, resource) when { context.if };", 1, 52, "reserved"),
        ("permit(principal, action, resource) when { [1].contains() };", 1, 48, "requires exactly 1 argument"),
        ("permit(principal, action, resource) when { !!!!!true };", 1, 48, "too many occurrences of `!`"),
        ("permit(principal, action == Ns::User::\"x\", resource);", 1, 29, "type `Action`"),
        ("@id(\"a\") @id(\"b\") permit(principal, action, resource);", 1, 11, "duplicate annotation"),
        ("permit(principal, action, resource) when { \"abc };", 1, 44, "unterminated string"),
        ("permit(principal, action, resource)\n  when {\n    context.a ==\n  };", 4, 3, "expected an expression"),
    ]

    @Test("parse errors name line, column and what was expected", arguments: errorCases)
    func parseError(_ source: String, _ line: Int, _ column: Int, _ message: String) {
        do {
            _ = try CedarPolicySet(text: source, file: "t.cedar")
            Issue.record("parsed: \(source)")
        } catch {
            #expect(error.location.file == "t.cedar")
            #expect(error.location.line == line, "\(error)")
            #expect(error.location.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("scope forms, annotations and conditions parse")
    func scopeForms() throws {
        let set = try CedarPolicySet(
            text: """
                // comment
                @id("one") @note("x")
                permit(principal == A::"a", action == Action::"r", resource == R::"x");
                forbid(principal in G::"g", action in Action::"grp", resource in F::"f") when { true } unless { false };
                permit(principal is A, action in [Action::"r", Action::"w"], resource is R in F::"f");
                permit(principal is A in G::"g", action, resource,)
                when { [1, 2,].contains(1,) && {a: 1,} == {a: 1} };
                permit(principal, action in [Action::"r",], resource);
                """)
        #expect(set.policies.map(\.id) == ["one", "policy1", "policy2", "policy3", "policy4"])
        #expect(set.policies[0].annotations.map(\.key) == ["id", "note"])
        #expect(set.policies[1].conditions.count == 2)
        #expect(set.policies[1].location.line == 4)
    }

    @Test("policyN numbers run across files in path order")
    func numberingAcrossFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-ids-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "permit(principal, action, resource);\npermit(principal, action, resource);".write(
            to: dir.appendingPathComponent("b.cedar"), atomically: true, encoding: .utf8)
        try "@id(\"named\") forbid(principal, action, resource);".write(
            to: dir.appendingPathComponent("a.cedar"), atomically: true, encoding: .utf8)
        try "permit(principal, action, resource);".write(
            to: dir.appendingPathComponent("sub/c.cedar"), atomically: true, encoding: .utf8)
        try "not cedar".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let set = try CedarPolicySet(directory: dir)
        #expect(set.policies.map(\.id) == ["named", "policy1", "policy2", "policy3"])
        #expect(set.policies.map(\.location.file) == ["a.cedar", "b.cedar", "b.cedar", "sub/c.cedar"])
    }

    @Test("entity uids in JSON: {type,id}, __entity and Cedar strings")
    func requestJSON() throws {
        let r = try CedarRequest.fromJSON(
            Data(
                """
                {"principal": "Ns::User::\\"a\\\\\\"b\\"", "action": {"type": "Ns::Action", "id": "read"},
                 "resource": {"__entity": {"type": "Ns::Doc", "id": "d"}},
                 "context": {"e": {"__entity": {"type": "Ns::User", "id": "x"}}, "n": 1, "s": [true]}}
                """.utf8))
        #expect(r.principal == CedarEntityUID(type: "Ns::User", id: "a\"b"))
        #expect(r.action.id == "read")
        #expect(r.resource.type == "Ns::Doc")
        #expect(r.context["e"] == .entity(CedarEntityUID(type: "Ns::User", id: "x")))
        #expect(r.context["s"] == .set([.bool(true)]))
        #expect(throws: CedarJSONError.self) { try CedarRequest.fromJSON(Data("{\"principal\": 1}".utf8)) }
        #expect(throws: CedarJSONError.self) {
            try CedarEntities.fromJSON(
                Data("[{\"uid\": {\"type\": \"A\", \"id\": \"a\"}, \"attrs\": {\"x\": 1.5}}]".utf8))
        }
    }
}
