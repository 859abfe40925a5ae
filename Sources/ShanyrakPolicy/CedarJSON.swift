public import Foundation

/// An error in a JSON document (entities, request, schema or test file), naming the field and the rule.
public struct CedarJSONError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// A parsed JSON value that keeps booleans and integers apart.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    static func parse(_ data: Data, what: String) throws(CedarJSONError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw CedarJSONError("\(what): not valid JSON")
        }
    }

    var object: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}

/// Writes JSON text by hand (stable key order, no Foundation quirks).
public enum JSONWriter {
    /// A JSON string literal for `s`, with Cedar's escaping of quotes, backslashes and control characters.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func array(_ items: [String]) -> String { "[" + items.map(string).joined(separator: ",") + "]" }

    static func value(_ v: CedarValue) -> String {
        switch v {
        case .bool(let b): return b ? "true" : "false"
        case .long(let i): return String(i)
        case .string(let s): return string(s)
        case .entity(let uid): return "{\"__entity\":{\"type\":\(string(uid.type)),\"id\":\(string(uid.id))}}"
        case .set(let s): return "[" + s.map(value).sorted().joined(separator: ",") + "]"
        case .record(let r):
            return "{" + r.keys.sorted().map { "\(string($0)):\(value(r[$0] ?? .bool(false)))" }.joined(separator: ",")
                + "}"
        }
    }
}

extension CedarValue {
    /// Converts a value in Cedar's JSON form: entity references as `{"__entity": {"type", "id"}}`,
    /// sets as arrays, records as objects.
    static func fromJSON(_ json: JSONValue, at path: String) throws(CedarJSONError) -> CedarValue {
        switch json {
        case .bool(let b): return .bool(b)
        case .integer(let i): return .long(i)
        case .string(let s): return .string(s)
        case .double: throw CedarJSONError("\(path): numbers must be 64-bit integers")
        case .null: throw CedarJSONError("\(path): null is not a Cedar value")
        case .array(let a):
            var set: Set<CedarValue> = []
            for (i, item) in a.enumerated() { set.insert(try fromJSON(item, at: "\(path)[\(i)]")) }
            return .set(set)
        case .object(let o):
            if o.count == 1, let inner = o["__entity"] {
                return .entity(try CedarEntityUID.fromJSON(inner, at: path + ".__entity"))
            }
            if o["__extn"] != nil {
                throw CedarJSONError("\(path): extension values (__extn) are not supported by this engine")
            }
            var record: [String: CedarValue] = [:]
            for (k, v) in o { record[k] = try fromJSON(v, at: "\(path).\(k)") }
            return .record(record)
        }
    }
}

extension CedarEntityUID {
    /// Parses a uid: `{"type", "id"}`, `{"__entity": {...}}`, or a string `Ns::Type::"id"`.
    static func fromJSON(_ json: JSONValue, at path: String) throws(CedarJSONError) -> CedarEntityUID {
        if let s = json.string {
            guard let uid = CedarText.parseEntityUID(s) else {
                throw CedarJSONError("\(path): not an entity uid such as Ns::Type::\"id\": \(s)")
            }
            return uid
        }
        guard let o = json.object else { throw CedarJSONError("\(path): expected an entity uid") }
        if let inner = o["__entity"] { return try fromJSON(inner, at: path + ".__entity") }
        guard let type = o["type"]?.string, let id = o["id"]?.string else {
            throw CedarJSONError("\(path): an entity uid needs string fields \"type\" and \"id\"")
        }
        return CedarEntityUID(type: type, id: id)
    }
}

extension CedarEntities {
    /// Parses Cedar's entities JSON: `[{"uid": {...}, "attrs": {...}, "parents": [...]}]`.
    /// - Parameter data: the JSON document.
    /// - Throws: `CedarJSONError` naming the entity and the field.
    public static func fromJSON(_ data: Data) throws(CedarJSONError) -> CedarEntities {
        try CedarEntities(parseList(JSONValue.parse(data, what: "entities")))
    }

    static func parseList(_ json: JSONValue) throws(CedarJSONError) -> [CedarEntity] {
        guard let list = json.array else { throw CedarJSONError("entities: expected a JSON array") }
        var result: [CedarEntity] = []
        for (i, item) in list.enumerated() {
            let at = "entities[\(i)]"
            guard let o = item.object, let uidJSON = o["uid"] else { throw CedarJSONError("\(at): missing \"uid\"") }
            let uid = try CedarEntityUID.fromJSON(uidJSON, at: at + ".uid")
            var attrs: [String: CedarValue] = [:]
            if let a = o["attrs"] {
                guard let ao = a.object else { throw CedarJSONError("\(at).attrs: expected an object") }
                for (k, v) in ao { attrs[k] = try CedarValue.fromJSON(v, at: "\(at).attrs.\(k)") }
            }
            var parents: Set<CedarEntityUID> = []
            if let p = o["parents"] {
                guard let pl = p.array else { throw CedarJSONError("\(at).parents: expected an array") }
                for (j, pj) in pl.enumerated() {
                    parents.insert(try CedarEntityUID.fromJSON(pj, at: "\(at).parents[\(j)]"))
                }
            }
            if let tags = o["tags"], tags != .object([:]) {
                throw CedarJSONError("\(at).tags: entity tags are not supported by this engine")
            }
            result.append(CedarEntity(uid: uid, attributes: attrs, parents: parents))
        }
        return result
    }
}

extension CedarRequest {
    /// Parses a request in the form Cedar's tools take: principal, action and resource as uid strings
    /// (or `{"type", "id"}` objects), context as a JSON record.
    /// - Throws: `CedarJSONError` naming the field.
    public static func fromJSON(_ data: Data) throws(CedarJSONError) -> CedarRequest {
        try fromJSONValue(JSONValue.parse(data, what: "request"))
    }

    static func fromJSONValue(_ json: JSONValue) throws(CedarJSONError) -> CedarRequest {
        guard let o = json.object else { throw CedarJSONError("request: expected a JSON object") }
        func uid(_ key: String) throws(CedarJSONError) -> CedarEntityUID {
            guard let v = o[key] else { throw CedarJSONError("request: missing \"\(key)\"") }
            return try CedarEntityUID.fromJSON(v, at: "request.\(key)")
        }
        var context: [String: CedarValue] = [:]
        if let c = o["context"], c != .null {
            guard case .record(let r) = try CedarValue.fromJSON(c, at: "request.context") else {
                throw CedarJSONError("request.context: expected a record")
            }
            context = r
        }
        return CedarRequest(
            principal: try uid("principal"), action: try uid("action"), resource: try uid("resource"), context: context)
    }
}
