import Foundation
import ShanyrakTestSupport

/// Generates random policy sets, entity hierarchies and requests within the supported Cedar subset,
/// including expressions that fail (overflow, type errors, missing attributes and entities).
struct CedarCaseGenerator {
    var rng: SeededRandom

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    static let users = (0...5).map { "Ns::User::\"u\($0)\"" }  // u5 never exists
    static let groups = (0...3).map { "Ns::Group::\"g\($0)\"" }
    static let docs = (0...5).map { "Ns::Doc::\"d\($0)\"" }  // d5 never exists
    static let folders = (0...2).map { "Ns::Folder::\"f\($0)\"" }
    static let actions = ["read", "write", "admin"].map { "Ns::Action::\"\($0)\"" }
    static let strings = ["", "a", "ab", "abc", "b*c", "x y", "kz", "\u{e9}t\u{e9}", "e\u{301}t\u{e9}", "a\\\"q"]

    func entityJSON(_ uid: String) -> [String: Any] {
        let parts = uid.components(separatedBy: "::\"")
        return ["type": parts[0], "id": String(parts[1].dropLast())]
    }

    // MARK: entities

    mutating func entities() -> [[String: Any]] {
        var list: [[String: Any]] = []
        for (i, g) in Self.groups.enumerated() {
            var parents: [Any] = []
            for j in (i + 1)..<Self.groups.count where chance(0.4) { parents.append(entityJSON(Self.groups[j])) }
            list.append(["uid": entityJSON(g), "attrs": ["rank": i], "parents": parents])
        }
        for u in Self.users.prefix(5) {
            var attrs: [String: Any] = [:]
            if chance(0.85) { attrs["age"] = pick([0, 17, 18, 42, 99, Int(Int64.max), Int(Int64.min)]) }
            if chance(0.85) { attrs["name"] = pick(Self.strings) }
            if chance(0.7) { attrs["tags"] = (0..<int(0...3)).map { _ in pick(Self.strings) } }
            if chance(0.7) { attrs["manager"] = ["__entity": entityJSON(pick(Self.users))] }
            if chance(0.6) { attrs["profile"] = ["level": int(-2...5), "active": chance(0.5)] as [String: Any] }
            if chance(0.3) { attrs["flag"] = chance(0.5) }
            var parents: [Any] = []
            for g in Self.groups where chance(0.35) { parents.append(entityJSON(g)) }
            list.append(["uid": entityJSON(u), "attrs": attrs, "parents": parents])
        }
        for (i, f) in Self.folders.enumerated() {
            var parents: [Any] = []
            for j in (i + 1)..<Self.folders.count where chance(0.5) { parents.append(entityJSON(Self.folders[j])) }
            list.append(["uid": entityJSON(f), "attrs": [:] as [String: Any], "parents": parents])
        }
        for d in Self.docs.prefix(5) {
            var attrs: [String: Any] = [:]
            if chance(0.85) { attrs["owner"] = ["__entity": entityJSON(pick(Self.users))] }
            if chance(0.85) { attrs["level"] = int(-3...9) }
            if chance(0.8) { attrs["public"] = chance(0.5) }
            if chance(0.7) { attrs["labels"] = (0..<int(0...3)).map { _ in pick(Self.strings) } }
            var parents: [Any] = []
            for f in Self.folders where chance(0.4) { parents.append(entityJSON(f)) }
            list.append(["uid": entityJSON(d), "attrs": attrs, "parents": parents])
        }
        if chance(0.5) {
            // an action hierarchy: read is in admin
            list.append([
                "uid": entityJSON(Self.actions[0]), "attrs": [:] as [String: Any],
                "parents": [entityJSON(Self.actions[2])],
            ])
        }
        return list
    }

    mutating func request() -> [String: Any] {
        var context: [String: Any] = [:]
        if chance(0.9) { context["n"] = pick([0, 1, -1, 7, 1000, Int(Int64.max), Int(Int64.min)]) }
        if chance(0.9) { context["s"] = pick(Self.strings) }
        if chance(0.9) { context["flag"] = chance(0.5) }
        if chance(0.6) { context["e"] = ["__entity": entityJSON(pick(Self.users + Self.docs))] }
        if chance(0.6) { context["nums"] = (0..<int(0...3)).map { _ in int(-1...3) } }
        if chance(0.3) { context["rec"] = ["a": int(0...2), "b": pick(Self.strings)] as [String: Any] }
        return [
            "principal": pick(Self.users + (chance(0.1) ? [Self.docs[0]] : [])),
            "action": pick(Self.actions),
            "resource": pick(Self.docs + (chance(0.1) ? [Self.users[0]] : [])),
            "context": context,
        ]
    }

    // MARK: policies

    mutating func policySet() -> String {
        var text = ""
        for i in 0..<int(1...6) {
            if chance(0.3) { text += "@id(\"p\(i)_\(int(0...9))\")\n" }
            if chance(0.15) { text += "@note(\"generated\")\n" }
            text += chance(0.55) ? "permit" : "forbid"
            text += "(\(principalScope()), \(actionScope()), \(resourceScope()))"
            if chance(0.35) {
                // a single shallow condition: its outcome decides the policy, so operators are compared closely
                text += "\nwhen { \(expr(.bool, 1)) };\n"
                continue
            }
            let conditions = pick([0, 1, 1, 1, 2])
            for _ in 0..<conditions {
                let depth = int(1...3)
                text += chance(0.75) ? "\nwhen { \(expr(.bool, depth)) }" : "\nunless { \(expr(.bool, depth)) }"
            }
            text += ";\n"
        }
        return text
    }

    mutating func principalScope() -> String {
        switch int(0...5) {
        case 0, 1: return "principal"
        case 2: return "principal == \(pick(Self.users))"
        case 3: return "principal in \(pick(Self.groups + Self.users))"
        case 4: return "principal is Ns::User"
        default: return "principal is Ns::User in \(pick(Self.groups))"
        }
    }

    mutating func actionScope() -> String {
        switch int(0...4) {
        case 0, 1: return "action"
        case 2: return "action == \(pick(Self.actions))"
        case 3: return "action in \(pick(Self.actions))"
        default: return "action in [\(pick(Self.actions)), \(pick(Self.actions))]"
        }
    }

    mutating func resourceScope() -> String {
        switch int(0...5) {
        case 0, 1: return "resource"
        case 2: return "resource == \(pick(Self.docs))"
        case 3: return "resource in \(pick(Self.folders + Self.docs))"
        case 4: return "resource is Ns::Doc"
        default: return "resource is \(pick(["Ns::Doc", "Ns::User"])) in \(pick(Self.folders))"
        }
    }

    enum T: CaseIterable { case bool, long, string, entity, set, record }

    mutating func stringLiteral() -> String {
        let s = pick(Self.strings)
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    mutating func expr(_ type: T, _ depth: Int) -> String {
        // occasionally an expression of the wrong type: a type error at run time
        if chance(0.06) { return leaf(pick(T.allCases)) }
        if depth <= 0 || chance(0.25) { return leaf(type) }
        let d = depth - 1
        switch type {
        case .bool:
            switch int(0...19) {
            case 17, 18:
                let lhs = pick([
                    "context.n", "resource.level", "principal.profile.level", "context.rec.a", "principal.age",
                ])
                let rhs = pick(["resource.level", "1", "0", "7", "-1", "18", "\(int(-3...9))"])
                return "(\(lhs) \(pick(["<", "<=", ">", ">=", "==", "!="])) \(rhs))"
            case 0: return "(\(expr(.long, d)) \(pick(["<", "<=", ">", ">="])) \(expr(.long, d)))"
            case 1: return "(\(expr(pick(T.allCases), d)) \(pick(["==", "!="])) \(expr(pick(T.allCases), d)))"
            case 2: return "(\(expr(.bool, d)) && \(expr(.bool, d)))"
            case 3: return "(\(expr(.bool, d)) || \(expr(.bool, d)))"
            case 4: return "!\(expr(.bool, d))"
            case 5: return "(if \(expr(.bool, d)) then \(expr(.bool, d)) else \(expr(.bool, d)))"
            case 6:
                let rhs = chance(0.7) ? expr(.entity, d) : "[\(expr(.entity, d)), \(expr(.entity, d))]"
                return "(\(expr(.entity, d)) in \(rhs))"
            case 7:
                let target = pick([
                    "principal", "resource", "context", "principal.profile", "context.rec", "resource.owner",
                ])
                let attr = pick([
                    "age", "name", "tags", "owner", "level", "profile", "flag", "n", "s", "e", "a", "\"x y\"",
                ])
                return "(\(target) has \(attr))"
            case 8:
                let pattern = pick(["*", "a*", "*b*", "a\\*", "ab", "*c", "\\u{e9}*", "", "**", "b\\*c"])
                return "(\(expr(.string, d)) like \"\(pattern)\")"
            case 9:
                let inPart = chance(0.3) ? " in \(pick(Self.groups + Self.folders))" : ""
                return "(\(expr(.entity, d)) is \(pick(["Ns::User", "Ns::Doc", "Ns::Group"]))\(inPart))"
            case 10: return "\(expr(.set, d)).contains(\(expr(pick(T.allCases), d)))"
            case 11: return "\(expr(.set, d)).\(pick(["containsAll", "containsAny"]))(\(expr(.set, d)))"
            case 12: return "\(expr(.set, d)).isEmpty()"
            case 13: return "(principal has profile && principal.profile.active)"
            case 14: return "(\(expr(.long, d)) + \(expr(.long, d)) * \(expr(.long, d)) == \(expr(.long, d)))"
            case 15: return "(context has rec && context.rec == {\"a\": \(int(0...2)), b: \(stringLiteral())})"
            default: return "(\(expr(.bool, d)) && \(expr(.bool, d)) || \(expr(.bool, d)))"
            }
        case .long:
            switch int(0...6) {
            case 0: return "(\(expr(.long, d)) + \(expr(.long, d)))"
            case 1: return "(\(expr(.long, d)) - \(expr(.long, d)))"
            case 2: return "(\(expr(.long, d)) * \(expr(.long, d)))"
            case 3: return "-\(expr(.long, d))"
            case 4: return "(if \(expr(.bool, d)) then \(expr(.long, d)) else \(expr(.long, d)))"
            case 5: return "\(pick(["principal", "resource.owner", "context.e"])).age"
            default: return "\(expr(.record, d))[\"a\"]"
            }
        case .string:
            return chance(0.5) ? "\(pick(["principal", "resource.owner", "principal.manager"])).name" : leaf(.string)
        case .entity:
            switch int(0...3) {
            case 0: return "resource.owner"
            case 1: return "principal.manager"
            case 2: return "(if \(expr(.bool, d)) then \(expr(.entity, d)) else \(expr(.entity, d)))"
            default: return leaf(.entity)
            }
        case .set:
            switch int(0...2) {
            case 0: return "[\(expr(pick(T.allCases), d)), \(expr(pick(T.allCases), d))]"
            case 1: return "[\(expr(.string, d)), \(expr(.string, d)), \(stringLiteral())]"
            default: return leaf(.set)
            }
        case .record:
            return chance(0.5) ? "{\"a\": \(expr(.long, d)), b: \(expr(.string, d))}" : leaf(.record)
        }
    }

    mutating func leaf(_ type: T) -> String {
        switch type {
        case .bool:
            return pick([
                "true", "false", "context.flag", "principal.flag", "resource.public", "principal.profile.active",
            ])
        case .long:
            return pick([
                "0", "1", "-1", "7", "9223372036854775807", "-9223372036854775808", "4611686018427387904",
                "principal.age", "context.n", "resource.level", "principal.profile.level", "context.rec.a",
            ])
        case .string:
            return chance(0.6) ? stringLiteral() : pick(["principal.name", "context.s", "context.rec.b"])
        case .entity:
            return pick(
                Self.users + Self.groups + Self.docs + Self.folders + ["principal", "resource", "action", "context.e"])
        case .set:
            return pick([
                "principal.tags", "resource.labels", "context.nums", "[]", "[1, 2]", "[\"a\", \"ab\"]",
                "[principal, resource]",
            ])
        case .record:
            return pick(["context", "context.rec", "principal.profile", "{}", "{\"a\": 1, b: \"ab\"}"])
        }
    }
}
