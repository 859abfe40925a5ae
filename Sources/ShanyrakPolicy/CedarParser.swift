/// Parses Cedar policy text (the supported subset) into policies.
struct CedarParser {
    private let tokens: [CedarToken]
    private let scalars: [Unicode.Scalar]
    private let file: String
    private var pos = 0

    static let reserved: Set<String> = ["true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"]
    static let extensionFunctions: Set<String> = ["ip", "decimal", "datetime", "duration"]
    static let extensionMethods: Set<String> = [
        "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "isIpv4", "isIpv6", "isLoopback",
        "isMulticast", "isInRange", "toDate", "toTime", "toDays", "toHours", "toMinutes", "toSeconds",
        "toMilliseconds", "offset", "durationSince", "getTag", "hasTag",
    ]

    /// Parses every policy of one file.
    /// - Parameters:
    ///   - source: the file's text.
    ///   - file: the name used in locations.
    ///   - firstIndex: the `policyN` number of the file's first policy within its set.
    static func parse(source: String, file: String, firstIndex: Int) throws(PolicyParseError) -> [CedarPolicy] {
        let lexer = CedarLexer(source: source, file: file)
        var parser = CedarParser(tokens: try lexer.tokenize(), scalars: lexer.scalars, file: file)
        var policies: [CedarPolicy] = []
        while parser.peek.kind != .eof {
            policies.append(try parser.parsePolicy(index: firstIndex + policies.count))
        }
        return policies
    }

    /// Parses a single expression (used by tests and tools).
    static func parseExpression(_ source: String) throws(PolicyParseError) -> Expr {
        let lexer = CedarLexer(source: source, file: "<expr>")
        var parser = CedarParser(tokens: try lexer.tokenize(), scalars: lexer.scalars, file: "<expr>")
        let e = try parser.parseExpr()
        try parser.expect(.eof, "end of expression")
        return e
    }

    private init(tokens: [CedarToken], scalars: [Unicode.Scalar], file: String) {
        self.tokens = tokens
        self.scalars = scalars
        self.file = file
    }

    // MARK: token helpers

    private var peek: CedarToken { tokens[pos] }
    private var peek2: CedarToken { tokens[min(pos + 1, tokens.count - 1)] }

    private mutating func next() -> CedarToken {
        let t = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }

    private func fail(_ message: String, at token: CedarToken? = nil) -> PolicyParseError {
        PolicyParseError((token ?? peek).location, message)
    }

    private func unexpected(_ expected: String) -> PolicyParseError {
        fail("expected \(expected), found \(peek.display)")
    }

    @discardableResult
    private mutating func expect(_ kind: CedarToken.Kind, _ what: String) throws(PolicyParseError) -> CedarToken {
        guard peek.kind == kind else { throw unexpected(what) }
        return next()
    }

    private func isIdent(_ name: String) -> Bool {
        if case .identifier(name) = peek.kind { return true }
        return false
    }

    private mutating func expectKeyword(_ name: String) throws(PolicyParseError) {
        guard isIdent(name) else { throw unexpected("`\(name)`") }
        _ = next()
    }

    private mutating func identifier(_ what: String, allowReserved: Bool = false) throws(PolicyParseError) -> String {
        guard case .identifier(let name) = peek.kind else { throw unexpected(what) }
        if !allowReserved && Self.reserved.contains(name) {
            throw fail("this identifier is reserved and cannot be used: \(name)")
        }
        _ = next()
        return name
    }

    private func text(from start: Int, to end: Int) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars[start..<end])
        return s
    }

    private mutating func stringLiteral(_ what: String) throws(PolicyParseError) -> String {
        guard case .string(let raw) = peek.kind else { throw unexpected(what) }
        let token = next()
        do {
            return try CedarLexer.unescape(raw, pattern: false).plain
        } catch {
            throw fail(error.message, at: token)
        }
    }

    // MARK: policies

    private mutating func parsePolicy(index: Int) throws(PolicyParseError) -> CedarPolicy {
        let first = peek
        var annotations: [(key: String, value: String)] = []
        while peek.kind == .at {
            _ = next()
            let keyToken = peek
            let key = try identifier("an annotation name", allowReserved: true)
            var value = ""
            if peek.kind == .lparen {
                _ = next()
                value = try stringLiteral("a string literal as the annotation value")
                try expect(.rparen, "`)`")
            }
            if annotations.contains(where: { $0.key == key }) {
                throw fail("duplicate annotation: @\(key)", at: keyToken)
            }
            annotations.append((key, value))
        }
        let effectToken = peek
        let effect: PolicyEffect
        if isIdent("permit") {
            effect = .permit
        } else if isIdent("forbid") {
            effect = .forbid
        } else {
            throw unexpected(annotations.isEmpty ? "`permit`, `forbid` or `@`" : "`permit`, `forbid` or `@`")
        }
        _ = next()
        try expect(.lparen, "`(`")
        let principalLocation = peek.location
        try expectKeyword("principal")
        let principal = try parseEntityScope(variable: "principal")
        try expect(.comma, "`,`")
        let actionLocation = peek.location
        try expectKeyword("action")
        let action = try parseActionScope()
        try expect(.comma, "`,`")
        let resourceLocation = peek.location
        try expectKeyword("resource")
        let resource = try parseEntityScope(variable: "resource")
        if peek.kind == .comma {
            if case .identifier(let extra) = peek2.kind {
                throw fail("this policy has an extra element in the scope: \(extra)", at: peek2)
            }
            if peek2.kind == .rparen { _ = next() }  // trailing comma
        }
        try expect(.rparen, "`)`")
        var conditions: [Condition] = []
        while isIdent("when") || isIdent("unless") {
            let keyword = next()
            let isWhen = keyword.kind == .identifier("when")
            try expect(.lbrace, "`{`")
            if peek.kind == .rbrace { throw unexpected("an expression") }
            let body = try parseExpr()
            let close = try expect(.rbrace, "`}`")
            conditions.append(Condition(isWhen: isWhen, body: body, text: text(from: keyword.start, to: close.end)))
        }
        let semicolon = try expect(
            .semicolon, conditions.isEmpty ? "`when`, `unless` or `;`" : "`when`, `unless` or `;`")
        _ = effectToken
        let positional = "policy\(index)"
        let id = annotations.first { $0.key == "id" }?.value ?? positional
        return CedarPolicy(
            id: id, positionalID: positional, effect: effect, annotations: annotations, location: first.location,
            text: text(from: first.start, to: semicolon.end), principal: principal, action: action,
            resource: resource, conditions: conditions, principalLocation: principalLocation,
            actionLocation: actionLocation, resourceLocation: resourceLocation)
    }

    private mutating func parseEntityScope(variable: String) throws(PolicyParseError) -> EntityScope {
        switch peek.kind {
        case .eq:
            _ = next()
            return .eq(try parseScopeEntity())
        case .identifier("in"):
            _ = next()
            return .in(try parseScopeEntity())
        case .identifier("is"):
            _ = next()
            let type = try parsePath()
            if isIdent("in") {
                _ = next()
                return .isIn(type, try parseScopeEntity())
            }
            return .is(type)
        case .comma, .rparen:
            return .any
        default:
            throw unexpected("`==`, `in`, `is`, `,` or `)` after `\(variable)`")
        }
    }

    private mutating func parseScopeEntity() throws(PolicyParseError) -> CedarEntityUID {
        if peek.kind == .question {
            throw fail("policy templates (?principal, ?resource) are not supported")
        }
        return try parseEntityRef()
    }

    private mutating func parseActionScope() throws(PolicyParseError) -> ActionScope {
        switch peek.kind {
        case .eq:
            _ = next()
            return .eq(try parseActionEntity())
        case .identifier("in"):
            _ = next()
            if peek.kind == .lbracket {
                _ = next()
                var list: [CedarEntityUID] = []
                if peek.kind != .rbracket {
                    list.append(try parseActionEntity())
                    while peek.kind == .comma {
                        _ = next()
                        if peek.kind == .rbracket { break }  // trailing comma
                        list.append(try parseActionEntity())
                    }
                }
                try expect(.rbracket, "`,` or `]`")
                return .inSet(list)
            }
            return .in(try parseActionEntity())
        case .comma, .rparen:
            return .any
        case .identifier("is"):
            throw fail("`is` is not allowed in the action scope")
        default:
            throw unexpected("`==`, `in`, `,` or `)` after `action`")
        }
    }

    private mutating func parseActionEntity() throws(PolicyParseError) -> CedarEntityUID {
        let token = peek
        let uid = try parseEntityRef()
        guard uid.type == "Action" || uid.type.hasSuffix("::Action") else {
            throw fail("expected an entity uid of type `Action` in the action scope, found `\(uid)`", at: token)
        }
        return uid
    }

    /// `Name::Name::...::"id"`.
    private mutating func parseEntityRef() throws(PolicyParseError) -> CedarEntityUID {
        var parts = [try identifier("an entity uid such as `Ns::Type::\"id\"`")]
        while true {
            try expect(.doubleColon, "`::` in an entity uid")
            if case .string = peek.kind {
                let id = try stringLiteral("an entity id")
                return CedarEntityUID(type: parts.joined(separator: "::"), id: id)
            }
            parts.append(try identifier("a name or a string id after `::`"))
        }
    }

    /// `Name::Name` (an entity type).
    private mutating func parsePath() throws(PolicyParseError) -> String {
        var parts = [try identifier("an entity type name")]
        while peek.kind == .doubleColon {
            _ = next()
            parts.append(try identifier("a name after `::`"))
        }
        return parts.joined(separator: "::")
    }

    // MARK: expressions

    mutating func parseExpr() throws(PolicyParseError) -> Expr {
        if isIdent("if") {
            let loc = next().location
            let c = try parseExpr()
            try expectKeyword("then")
            let t = try parseExpr()
            try expectKeyword("else")
            let e = try parseExpr()
            return Expr(kind: .ifThenElse(c, t, e), location: loc)
        }
        return try parseOr()
    }

    private mutating func parseOr() throws(PolicyParseError) -> Expr {
        var lhs = try parseAnd()
        while peek.kind == .or {
            let loc = next().location
            let rhs = try parseAnd()
            lhs = Expr(kind: .or(lhs, rhs), location: loc)
        }
        return lhs
    }

    private mutating func parseAnd() throws(PolicyParseError) -> Expr {
        var lhs = try parseRelation()
        while peek.kind == .and {
            let loc = next().location
            let rhs = try parseRelation()
            lhs = Expr(kind: .and(lhs, rhs), location: loc)
        }
        return lhs
    }

    private var atRelationalOperator: Bool {
        switch peek.kind {
        case .eq, .neq, .lt, .le, .gt, .ge, .identifier("in"), .identifier("has"), .identifier("like"),
            .identifier("is"):
            return true
        default:
            return false
        }
    }

    private mutating func parseRelation() throws(PolicyParseError) -> Expr {
        let lhs = try parseAdd()
        guard atRelationalOperator else { return lhs }
        let opToken = next()
        let loc = lhs.location
        let result: Expr
        switch opToken.kind {
        case .identifier("has"):
            var names: [String] = []
            if case .string = peek.kind {
                names.append(try stringLiteral("an attribute name"))
            } else {
                names.append(try identifier("an attribute name after `has`"))
                while peek.kind == .dot {
                    _ = next()
                    names.append(try identifier("an attribute name after `.`"))
                }
            }
            // `e has a.b` is `e has a && e.a has b`.
            var acc = Expr(kind: .hasAttr(lhs, names[0]), location: loc)
            var path = lhs
            for (i, name) in names.enumerated().dropFirst() {
                path = Expr(kind: .getAttr(path, names[i - 1]), location: loc)
                acc = Expr(kind: .and(acc, Expr(kind: .hasAttr(path, name), location: loc)), location: loc)
            }
            result = acc
        case .identifier("like"):
            guard case .string(let raw) = peek.kind else { throw unexpected("a string pattern after `like`") }
            let token = next()
            do {
                let p = try CedarLexer.unescape(raw, pattern: true)
                result = Expr(kind: .like(lhs, p.pattern, raw), location: loc)
            } catch {
                throw fail(error.message, at: token)
            }
        case .identifier("is"):
            let type = try parsePath()
            var inExpr: Expr?
            if isIdent("in") {
                _ = next()
                inExpr = try parseAdd()
            }
            result = Expr(kind: .isType(lhs, type, inExpr), location: loc)
        default:
            let rhs = try parseAdd()
            let op: BinaryOperator
            switch opToken.kind {
            case .eq: op = .eq
            case .neq: op = .neq
            case .lt: op = .lt
            case .le: op = .le
            case .gt: op = .gt
            case .ge: op = .ge
            default: op = .in
            }
            result = Expr(kind: .binary(op, lhs, rhs), location: loc)
        }
        if atRelationalOperator {
            throw fail(
                "multiple relational operators (>, ==, in, etc.) must be used with parentheses to make ordering explicit"
            )
        }
        return result
    }

    private mutating func parseAdd() throws(PolicyParseError) -> Expr {
        var lhs = try parseMult()
        while peek.kind == .plus || peek.kind == .minus {
            let t = next()
            let rhs = try parseMult()
            lhs = Expr(kind: .binary(t.kind == .plus ? .add : .sub, lhs, rhs), location: t.location)
        }
        return lhs
    }

    private mutating func parseMult() throws(PolicyParseError) -> Expr {
        var lhs = try parseUnary()
        while peek.kind == .star {
            let t = next()
            let rhs = try parseUnary()
            lhs = Expr(kind: .binary(.mul, lhs, rhs), location: t.location)
        }
        return lhs
    }

    private mutating func parseUnary() throws(PolicyParseError) -> Expr {
        guard peek.kind == .not || peek.kind == .minus else { return try parseMember() }
        let opKind = peek.kind
        let loc = peek.location
        var count = 0
        while peek.kind == opKind {
            _ = next()
            count += 1
        }
        if count > 4 { throw fail("too many occurrences of `\(opKind == .not ? "!" : "-")`", at: tokens[pos - 1]) }
        if peek.kind == .not || peek.kind == .minus { throw fail("unexpected token \(peek.display)") }
        var operand: Expr
        if opKind == .minus, case .integer(let digits) = peek.kind, peek2.kind != .dot, peek2.kind != .lbracket {
            let t = next()
            guard let magnitude = UInt64(digits), magnitude <= UInt64(Int64.max) + 1 else {
                throw fail("integer literal `\(digits)` is too large", at: t)
            }
            let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            operand = Expr(kind: .literal(.long(value)), location: loc)
            count -= 1
        } else {
            operand = try parseMember()
        }
        for _ in 0..<count {
            operand = Expr(kind: opKind == .not ? .not(operand) : .negate(operand), location: loc)
        }
        return operand
    }

    private mutating func parseMember() throws(PolicyParseError) -> Expr {
        var e = try parsePrimary()
        while true {
            if peek.kind == .dot {
                _ = next()
                let nameToken = peek
                let name = try identifier("an attribute or method name after `.`")
                if peek.kind == .lparen {
                    _ = next()
                    let args = try parseExprList(closing: .rparen)
                    e = try makeMethod(name, receiver: e, args: args, at: nameToken)
                } else {
                    e = Expr(kind: .getAttr(e, name), location: e.location)
                }
            } else if peek.kind == .lbracket {
                _ = next()
                let name = try stringLiteral("a string literal in `[...]`")
                try expect(.rbracket, "`]`")
                e = Expr(kind: .getAttr(e, name), location: e.location)
            } else {
                return e
            }
        }
    }

    private func makeMethod(_ name: String, receiver: Expr, args: [Expr], at token: CedarToken) throws(PolicyParseError)
        -> Expr
    {
        let arity: Int
        switch name {
        case "contains", "containsAll", "containsAny": arity = 1
        case "isEmpty": arity = 0
        default:
            if Self.extensionMethods.contains(name) {
                throw fail(
                    "extension method `\(name)` is not supported by this engine (see docs/policies.md)", at: token)
            }
            throw fail("`\(name)` is not a valid method", at: token)
        }
        guard args.count == arity else {
            let plural = arity == 1 ? "argument" : "arguments"
            throw fail(
                "call to `\(name)` requires exactly \(arity) \(plural), but got \(args.count) argument\(args.count == 1 ? "" : "s")",
                at: token)
        }
        switch name {
        case "contains": return Expr(kind: .binary(.contains, receiver, args[0]), location: receiver.location)
        case "containsAll": return Expr(kind: .binary(.containsAll, receiver, args[0]), location: receiver.location)
        case "containsAny": return Expr(kind: .binary(.containsAny, receiver, args[0]), location: receiver.location)
        default: return Expr(kind: .isEmpty(receiver), location: receiver.location)
        }
    }

    private mutating func parseExprList(closing: CedarToken.Kind) throws(PolicyParseError) -> [Expr] {
        var list: [Expr] = []
        if peek.kind == closing {
            _ = next()
            return list
        }
        list.append(try parseExpr())
        while peek.kind == .comma {
            _ = next()
            if peek.kind == closing { break }  // Cedar accepts a trailing comma
            list.append(try parseExpr())
        }
        try expect(closing, closing == .rparen ? "`,` or `)`" : "`,` or `]`")
        return list
    }

    private mutating func parsePrimary() throws(PolicyParseError) -> Expr {
        let t = peek
        switch t.kind {
        case .integer(let digits):
            _ = next()
            guard let v = Int64(digits) else { throw fail("integer literal `\(digits)` is too large", at: t) }
            return Expr(kind: .literal(.long(v)), location: t.location)
        case .string:
            return Expr(kind: .literal(.string(try stringLiteral("a string"))), location: t.location)
        case .lparen:
            _ = next()
            let e = try parseExpr()
            try expect(.rparen, "`)`")
            return e
        case .lbracket:
            _ = next()
            return Expr(kind: .set(try parseExprList(closing: .rbracket)), location: t.location)
        case .lbrace:
            _ = next()
            var fields: [(String, Expr)] = []
            if peek.kind != .rbrace {
                repeat {
                    if !fields.isEmpty {
                        _ = next()
                        if peek.kind == .rbrace { break }  // trailing comma
                    }
                    let keyToken = peek
                    let key: String
                    if case .string = peek.kind {
                        key = try stringLiteral("a record key")
                    } else {
                        key = try identifier("a record key (a name or a string)")
                    }
                    if fields.contains(where: { $0.0 == key }) {
                        throw fail("duplicate key `\(key)` in record literal", at: keyToken)
                    }
                    try expect(.colon, "`:`")
                    fields.append((key, try parseExpr()))
                } while peek.kind == .comma
            }
            try expect(.rbrace, "`,` or `}`")
            return Expr(kind: .record(fields), location: t.location)
        case .identifier(let name):
            if name == "true" || name == "false" {
                _ = next()
                return Expr(kind: .literal(.bool(name == "true")), location: t.location)
            }
            if peek2.kind == .doubleColon {
                // entity uid or namespaced function
                let save = pos
                var parts = [try identifier("a name")]
                while peek.kind == .doubleColon {
                    _ = next()
                    if case .string = peek.kind {
                        let id = try stringLiteral("an entity id")
                        let uid = CedarEntityUID(type: parts.joined(separator: "::"), id: id)
                        return Expr(kind: .literal(.entity(uid)), location: t.location)
                    }
                    parts.append(try identifier("a name or a string id after `::`"))
                }
                if peek.kind == .lparen {
                    throw fail("`\(parts.joined(separator: "::"))` is not a valid function", at: tokens[save])
                }
                throw unexpected("`::` and a string id to complete the entity uid")
            }
            if peek2.kind == .lparen {
                if Self.extensionFunctions.contains(name) {
                    throw fail(
                        "extension function `\(name)` is not supported by this engine (see docs/policies.md)", at: t)
                }
                throw fail("`\(name)` is not a valid function", at: t)
            }
            if let v = CedarVariable(rawValue: name) {
                _ = next()
                return Expr(kind: .variable(v), location: t.location)
            }
            if Self.reserved.contains(name) {
                throw fail("this identifier is reserved and cannot be used: \(name)", at: t)
            }
            throw fail("invalid variable: \(name)", at: t)
        case .question:
            throw fail("policy templates (?principal, ?resource) are not supported")
        default:
            throw unexpected("an expression")
        }
    }
}
