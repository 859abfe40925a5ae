/// A position in a policy file: file name, 1-based line and column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file name (path inside the policy directory), or a label such as `<stdin>`.
    public let file: String
    /// 1-based line.
    public let line: Int
    /// 1-based column, counted in Unicode scalars.
    public let column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// An error in a policy file: where, and which rule failed or what was expected.
public struct PolicyParseError: Error, Sendable, CustomStringConvertible {
    /// Where the error is.
    public let location: SourceLocation
    /// What was expected or which rule failed.
    public let message: String

    /// Creates an error.
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    /// `file:line:column: message`.
    public var description: String { "\(location): error: \(message)" }
}

/// One token of Cedar source text.
struct CedarToken: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        /// A string literal, raw (escapes not yet processed).
        case string(String)
        /// An integer literal, as written (digits only).
        case integer(String)
        case doubleColon, colon, lparen, rparen, lbracket, rbracket, lbrace, rbrace, comma, semicolon, dot, at, question
        case eq, neq, lt, le, gt, ge, and, or, not, plus, minus, star
        case eof
    }
    let kind: Kind
    let location: SourceLocation
    /// Offset of the first scalar of the token in the source.
    let start: Int
    /// Offset just after the token.
    let end: Int

    var display: String {
        switch kind {
        case .identifier(let s): return "`\(s)`"
        case .string(let s): return "string \"\(s)\""
        case .integer(let s): return "integer `\(s)`"
        case .doubleColon: return "`::`"
        case .colon: return "`:`"
        case .lparen: return "`(`"
        case .rparen: return "`)`"
        case .lbracket: return "`[`"
        case .rbracket: return "`]`"
        case .lbrace: return "`{`"
        case .rbrace: return "`}`"
        case .comma: return "`,`"
        case .semicolon: return "`;`"
        case .dot: return "`.`"
        case .at: return "`@`"
        case .question: return "`?`"
        case .eq: return "`==`"
        case .neq: return "`!=`"
        case .lt: return "`<`"
        case .le: return "`<=`"
        case .gt: return "`>`"
        case .ge: return "`>=`"
        case .and: return "`&&`"
        case .or: return "`||`"
        case .not: return "`!`"
        case .plus: return "`+`"
        case .minus: return "`-`"
        case .star: return "`*`"
        case .eof: return "end of file"
        }
    }
}

/// One element of a `like` pattern.
enum PatternElement: Hashable, Sendable {
    case wildcard
    case scalar(Unicode.Scalar)
}

/// Splits Cedar source text into tokens.
struct CedarLexer {
    let scalars: [Unicode.Scalar]
    let file: String

    init(source: String, file: String) {
        self.scalars = Array(source.unicodeScalars)
        self.file = file
    }

    func tokenize() throws(PolicyParseError) -> [CedarToken] {
        var tokens: [CedarToken] = []
        var i = 0
        var line = 1
        var column = 1
        func advance() {
            if scalars[i] == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            i += 1
        }
        while true {
            // whitespace and `//` comments
            while i < scalars.count {
                let c = scalars[i]
                if c == " " || c == "\t" || c == "\n" || c == "\r" {
                    advance()
                } else if c == "/", i + 1 < scalars.count, scalars[i + 1] == "/" {
                    while i < scalars.count, scalars[i] != "\n" { advance() }
                } else {
                    break
                }
            }
            let loc = SourceLocation(file: file, line: line, column: column)
            let start = i
            guard i < scalars.count else {
                tokens.append(CedarToken(kind: .eof, location: loc, start: i, end: i))
                return tokens
            }
            let c = scalars[i]
            var kind: CedarToken.Kind
            if c == "_" || Self.isLetter(c) {
                var name = ""
                while i < scalars.count, scalars[i] == "_" || Self.isLetter(scalars[i]) || Self.isDigit(scalars[i]) {
                    name.unicodeScalars.append(scalars[i])
                    advance()
                }
                kind = .identifier(name)
            } else if Self.isDigit(c) {
                var digits = ""
                while i < scalars.count, Self.isDigit(scalars[i]) {
                    digits.unicodeScalars.append(scalars[i])
                    advance()
                }
                kind = .integer(digits)
            } else if c == "\"" {
                advance()
                var raw = ""
                var closed = false
                while i < scalars.count {
                    let d = scalars[i]
                    if d == "\\" {
                        raw.unicodeScalars.append(d)
                        advance()
                        if i < scalars.count {
                            raw.unicodeScalars.append(scalars[i])
                            advance()
                        }
                        continue
                    }
                    if d == "\"" {
                        advance()
                        closed = true
                        break
                    }
                    raw.unicodeScalars.append(d)
                    advance()
                }
                guard closed else { throw PolicyParseError(loc, "unterminated string literal") }
                kind = .string(raw)
            } else {
                let next: Unicode.Scalar? = i + 1 < scalars.count ? scalars[i + 1] : nil
                var two = true
                switch (c, next) {
                case (":", ":"): kind = .doubleColon
                case ("=", "="): kind = .eq
                case ("!", "="): kind = .neq
                case ("<", "="): kind = .le
                case (">", "="): kind = .ge
                case ("&", "&"): kind = .and
                case ("|", "|"): kind = .or
                default:
                    two = false
                    switch c {
                    case "(": kind = .lparen
                    case ":": kind = .colon
                    case ")": kind = .rparen
                    case "[": kind = .lbracket
                    case "]": kind = .rbracket
                    case "{": kind = .lbrace
                    case "}": kind = .rbrace
                    case ",": kind = .comma
                    case ";": kind = .semicolon
                    case ".": kind = .dot
                    case "@": kind = .at
                    case "?": kind = .question
                    case "<": kind = .lt
                    case ">": kind = .gt
                    case "!": kind = .not
                    case "+": kind = .plus
                    case "-": kind = .minus
                    case "*": kind = .star
                    default:
                        throw PolicyParseError(loc, "unexpected character `\(c.escaped(asASCII: true))`")
                    }
                }
                advance()
                if two { advance() }
            }
            tokens.append(CedarToken(kind: kind, location: loc, start: start, end: i))
        }
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    /// Why an escape sequence is invalid.
    struct EscapeError: Error {
        let message: String
    }

    /// Processes Cedar escapes (`\n \r \t \\ \0 \' \" \xHH \u{H..}`; in patterns also `\*`).
    /// - Returns: the plain string (for non-patterns) and the pattern elements.
    static func unescape(_ raw: String, pattern: Bool) throws(EscapeError) -> (plain: String, pattern: [PatternElement])
    {
        let s = Array(raw.unicodeScalars)
        var plain = ""
        var elements: [PatternElement] = []
        var i = 0
        func emit(_ u: Unicode.Scalar) {
            plain.unicodeScalars.append(u)
            elements.append(.scalar(u))
        }
        while i < s.count {
            let c = s[i]
            if c == "*" && pattern {
                elements.append(.wildcard)
                plain.unicodeScalars.append(c)
                i += 1
                continue
            }
            guard c == "\\" else {
                emit(c)
                i += 1
                continue
            }
            guard i + 1 < s.count else { throw EscapeError(message: "the input `\\` is not a valid escape") }
            let e = s[i + 1]
            i += 2
            switch e {
            case "n": emit("\n")
            case "r": emit("\r")
            case "t": emit("\t")
            case "\\": emit("\\")
            case "0": emit("\0")
            case "'": emit("'")
            case "\"": emit("\"")
            case "*" where pattern:
                elements.append(.scalar("*"))
                plain.unicodeScalars.append("*")
            case "x":
                guard i + 1 < s.count, let hi = Int(String(s[i]), radix: 16),
                    let lo = Int(String(s[i + 1]), radix: 16), hi <= 7,
                    let u = Unicode.Scalar(UInt32(hi * 16 + lo))
                else { throw EscapeError(message: "the input `\\x` is not a valid escape") }
                emit(u)
                i += 2
            case "u":
                guard i < s.count, s[i] == "{" else {
                    throw EscapeError(message: "the input `\\u` is not a valid escape")
                }
                var j = i + 1
                var hex = ""
                while j < s.count, s[j] != "}" {
                    hex.unicodeScalars.append(s[j])
                    j += 1
                }
                // Hex digits only: `UInt32(_:radix:)` alone also takes a sign (`\u{+41}`), which Cedar refuses.
                guard j < s.count, (1...6).contains(hex.count),
                    hex.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit),
                    let v = UInt32(hex, radix: 16),
                    let u = Unicode.Scalar(v)
                else { throw EscapeError(message: "the input `\\u{\(hex)}` is not a valid escape") }
                emit(u)
                i = j + 1
            default:
                throw EscapeError(message: "the input `\\\(e)` is not a valid escape")
            }
        }
        return (plain, elements)
    }
}
