import Foundation

/// A Cedar entity identifier: a (namespaced) type name and an id, such as `Shanyrak::Staff::"u1"`.
public struct CedarEntityUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The entity type, with its namespace, such as `Shanyrak::Staff`.
    public let type: String
    /// The entity id, any string.
    public let id: String
    /// Hash of type and id, computed once: uids are hashed on every hierarchy lookup.
    private let cachedHash: Int

    /// Creates an entity uid.
    /// - Parameters:
    ///   - type: the type name with namespace (`Ns::Type`).
    ///   - id: the entity id.
    public init(type: String, id: String) {
        self.type = type
        self.id = id
        var h = Hasher()
        h.combine(type)
        h.combine(id)
        self.cachedHash = h.finalize()
    }

    /// Equal when type and id are equal.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.cachedHash == rhs.cachedHash && CedarText.bytesEqual(lhs.id, rhs.id)
            && CedarText.bytesEqual(lhs.type, rhs.type)
    }

    /// Feeds the cached hash.
    public func hash(into hasher: inout Hasher) { hasher.combine(cachedHash) }

    /// The uid in Cedar syntax, `Type::"id"`, with the id escaped.
    public var description: String { "\(type)::\"\(CedarText.escape(id))\"" }

    /// Orders by type, then id.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.type, lhs.id) < (rhs.type, rhs.id)
    }
}

/// A Cedar value: boolean, 64-bit long, string, entity reference, set or record.
///
/// Equality is Cedar's: structural, sets compare as sets, values of different types are unequal.
public enum CedarValue: Hashable, Sendable, CustomStringConvertible {
    /// A boolean.
    case bool(Bool)
    /// A 64-bit signed integer.
    case long(Int64)
    /// A string.
    case string(String)
    /// A reference to an entity.
    case entity(CedarEntityUID)
    /// A set of values (unordered, no duplicates).
    case set(Set<CedarValue>)
    /// A record of named values.
    case record([String: CedarValue])

    /// Cedar's equality: strings are equal when their bytes are (Cedar does not treat canonically
    /// equivalent Unicode spellings as equal, Swift's `String ==` does).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.bool(let a), .bool(let b)): return a == b
        case (.long(let a), .long(let b)): return a == b
        case (.string(let a), .string(let b)): return CedarText.bytesEqual(a, b)
        case (.entity(let a), .entity(let b)): return a == b
        case (.set(let a), .set(let b)): return a == b
        case (.record(let a), .record(let b)): return a == b
        default: return false
        }
    }

    /// Hashes consistently with `==` (strings by their UTF-8 bytes).
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .bool(let b):
            hasher.combine(0)
            hasher.combine(b)
        case .long(let v):
            hasher.combine(1)
            hasher.combine(v)
        case .string(let s):
            hasher.combine(2)
            var copy = s
            copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        case .entity(let uid):
            hasher.combine(3)
            hasher.combine(uid)
        case .set(let set):
            hasher.combine(4)
            hasher.combine(set)
        case .record(let r):
            hasher.combine(5)
            hasher.combine(r)
        }
    }

    /// The Cedar type name of the value, as used in type errors.
    public var typeName: String {
        switch self {
        case .bool: "bool"
        case .long: "long"
        case .string: "string"
        case .entity(let uid): "(entity of type `\(uid.type)`)"
        case .set: "set"
        case .record: "record"
        }
    }

    /// The value in Cedar syntax (sets and records with sorted members, for stable output).
    public var description: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .long(let v): return String(v)
        case .string(let s): return "\"\(CedarText.escape(s))\""
        case .entity(let uid): return uid.description
        case .set(let s): return "[" + s.map(\.description).sorted().joined(separator: ", ") + "]"
        case .record(let r):
            return "{"
                + r.keys.sorted().map { "\"\(CedarText.escape($0))\": \(r[$0]?.description ?? "")" }
                .joined(separator: ", ") + "}"
        }
    }
}

/// Text helpers shared by the lexer, the printer and the JSON codecs.
enum CedarText {
    /// Byte-wise string equality, as Cedar (Rust) compares strings.
    @inline(__always)
    static func bytesEqual(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                guard pa.count == pb.count else { return false }
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return true }
                return memcmp(x, y, pa.count) == 0
            }
        }
        if let inner = fast, let result = inner { return result }
        return a.utf8.elementsEqual(b.utf8)
    }

    /// Escapes a string for a Cedar string literal.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    out += "\\u{" + String(u.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// Parses a Cedar entity uid string such as `Ns::Type::"id"`.
    static func parseEntityUID(_ text: String) -> CedarEntityUID? {
        guard let lexed = try? CedarLexer(source: text, file: "<uid>").tokenize() else { return nil }
        var parts: [String] = []
        var i = 0
        while i < lexed.count {
            let t = lexed[i]
            guard case .identifier(let name) = t.kind else { break }
            parts.append(name)
            guard i + 1 < lexed.count, lexed[i + 1].kind == .doubleColon else { return nil }
            i += 2
        }
        guard !parts.isEmpty, i < lexed.count, case .string(let raw) = lexed[i].kind,
            i + 1 < lexed.count, lexed[i + 1].kind == .eof,
            let id = try? CedarLexer.unescape(raw, pattern: false).plain
        else { return nil }
        return CedarEntityUID(type: parts.joined(separator: "::"), id: id)
    }
}
