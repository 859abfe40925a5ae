public import Foundation

/// A type in a Cedar schema.
public indirect enum CedarSchemaType: Sendable, Hashable {
    /// `String`.
    case string
    /// `Long`.
    case long
    /// `Boolean`.
    case boolean
    /// `Set` of an element type.
    case set(CedarSchemaType)
    /// An entity of the named (fully qualified) type.
    case entity(String)
    /// A record: attribute name to (type, required).
    case record([String: CedarSchemaAttribute])
    /// An extension type (ip, decimal...): accepted in the schema, unusable in this engine's policies.
    case `extension`(String)
}

/// One attribute of a record or entity shape.
public struct CedarSchemaAttribute: Sendable, Hashable {
    /// The attribute's type.
    public let type: CedarSchemaType
    /// Whether every value has it (Cedar's default: true).
    public let required: Bool
}

/// A Cedar schema in its JSON form (the subset this service uses: entity types with shapes and
/// `memberOfTypes`, actions with `appliesTo` and `memberOf`, common types).
public struct CedarSchema: Sendable {
    /// One entity type.
    public struct EntityType: Sendable {
        /// Fully qualified name, such as `Shanyrak::Staff`.
        public let name: String
        /// Types its entities may be members of.
        public let memberOfTypes: [String]
        /// Attributes of its entities.
        public let attributes: [String: CedarSchemaAttribute]
    }

    /// One action.
    public struct Action: Sendable {
        /// The action's uid (`Shanyrak::Action::"read"`).
        public let uid: CedarEntityUID
        /// Principal types it applies to.
        public let principalTypes: [String]
        /// Resource types it applies to.
        public let resourceTypes: [String]
        /// The context record's attributes.
        public let context: [String: CedarSchemaAttribute]
        /// Action groups it belongs to.
        public let memberOf: [CedarEntityUID]
    }

    /// Entity types by fully qualified name.
    public let entityTypes: [String: EntityType]
    /// Actions by uid.
    public let actions: [CedarEntityUID: Action]

    /// Parses a schema file.
    /// - Throws: `CedarJSONError` naming the field that is wrong.
    public static func load(contentsOf url: URL) throws(CedarJSONError) -> CedarSchema {
        guard let data = try? Data(contentsOf: url) else { throw CedarJSONError("\(url.path): cannot read the schema") }
        do {
            return try parse(data)
        } catch {
            throw CedarJSONError("\(url.lastPathComponent): \(error.message)")
        }
    }

    /// Parses a schema from JSON data.
    /// - Throws: `CedarJSONError` naming the field that is wrong.
    public static func parse(_ data: Data) throws(CedarJSONError) -> CedarSchema {
        guard let root = try JSONValue.parse(data, what: "schema").object else {
            throw CedarJSONError("schema: expected an object of namespaces")
        }
        var entityTypes: [String: EntityType] = [:]
        var actions: [CedarEntityUID: Action] = [:]
        for (ns, body) in root {
            guard let nsObject = body.object else { throw CedarJSONError("schema.\(ns): expected an object") }
            func qualify(_ name: String) -> String {
                name.contains("::") || ns.isEmpty ? name : "\(ns)::\(name)"
            }
            let common = nsObject["commonTypes"]?.object ?? [:]
            let entityNames = Set((nsObject["entityTypes"]?.object ?? [:]).keys)
            func resolve(_ json: JSONValue, at path: String, depth: Int = 0) throws(CedarJSONError) -> CedarSchemaType {
                guard depth < 32, let o = json.object, let t = o["type"]?.string else {
                    throw CedarJSONError("\(path): a type needs a \"type\" field")
                }
                switch t {
                case "String": return .string
                case "Long": return .long
                case "Boolean", "Bool": return .boolean
                case "Set":
                    guard let e = o["element"] else { throw CedarJSONError("\(path): Set needs \"element\"") }
                    return .set(try resolve(e, at: path + ".element", depth: depth + 1))
                case "Entity":
                    guard let n = o["name"]?.string else { throw CedarJSONError("\(path): Entity needs \"name\"") }
                    return .entity(qualify(n))
                case "Extension":
                    return .extension(o["name"]?.string ?? "?")
                case "Record":
                    var attrs: [String: CedarSchemaAttribute] = [:]
                    for (k, v) in o["attributes"]?.object ?? [:] {
                        let required = v.object?["required"]?.bool ?? true
                        attrs[k] = CedarSchemaAttribute(
                            type: try resolve(v, at: "\(path).\(k)", depth: depth + 1), required: required)
                    }
                    return .record(attrs)
                default:
                    let name = t == "EntityOrCommon" ? (o["name"]?.string ?? "") : t
                    if let c = common[name] { return try resolve(c, at: "commonTypes.\(name)", depth: depth + 1) }
                    if entityNames.contains(name) || name.contains("::") { return .entity(qualify(name)) }
                    throw CedarJSONError("\(path): unknown type `\(name)`")
                }
            }
            for (name, def) in nsObject["entityTypes"]?.object ?? [:] {
                let at = "schema.\(ns).entityTypes.\(name)"
                var attrs: [String: CedarSchemaAttribute] = [:]
                if let shape = def.object?["shape"] {
                    guard case .record(let r) = try resolve(shape, at: at + ".shape") else {
                        throw CedarJSONError("\(at).shape: must be a Record")
                    }
                    attrs = r
                }
                let member = (def.object?["memberOfTypes"]?.array ?? []).compactMap(\.string).map(qualify)
                entityTypes[qualify(name)] = EntityType(name: qualify(name), memberOfTypes: member, attributes: attrs)
            }
            for (name, def) in nsObject["actions"]?.object ?? [:] {
                let at = "schema.\(ns).actions.\(name)"
                let applies = def.object?["appliesTo"]?.object ?? [:]
                var context: [String: CedarSchemaAttribute] = [:]
                if let c = applies["context"] {
                    guard case .record(let r) = try resolve(c, at: at + ".context") else {
                        throw CedarJSONError("\(at).context: must be a Record")
                    }
                    context = r
                }
                let memberOf = (def.object?["memberOf"]?.array ?? []).compactMap { m -> CedarEntityUID? in
                    guard let id = m.object?["id"]?.string else { return nil }
                    let type = m.object?["type"]?.string.map(qualify) ?? qualify("Action")
                    return CedarEntityUID(type: type, id: id)
                }
                let uid = CedarEntityUID(type: qualify("Action"), id: name)
                actions[uid] = Action(
                    uid: uid,
                    principalTypes: (applies["principalTypes"]?.array ?? []).compactMap(\.string).map(qualify),
                    resourceTypes: (applies["resourceTypes"]?.array ?? []).compactMap(\.string).map(qualify),
                    context: context, memberOf: memberOf)
            }
        }
        return CedarSchema(entityTypes: entityTypes, actions: actions)
    }

    /// The action entities (with their groups), to add to an entity store as Cedar does.
    public var actionEntities: [CedarEntity] {
        actions.values.map { CedarEntity(uid: $0.uid, parents: Set($0.memberOf)) }
    }
}
