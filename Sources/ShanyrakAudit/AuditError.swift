/// An error from the audit log: names the entry, checkpoint or proof and the rule that failed.
///
/// A struct over a private enum, so that new cases do not break callers. The text never
/// carries entry contents, key material or a sealed justification.
public struct AuditError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case entry(UInt64)
        case checkpoint(Int)
        case trustedCheckpoint
        case proof
        case encoding
        case note
        case key
        case storage
        case notDurable
        case closed
        case argument
        case grownElsewhere
    }

    private let kind: Kind
    /// The rule that failed, in words.
    public let rule: String

    private init(_ kind: Kind, _ rule: String) {
        self.kind = kind
        self.rule = rule
    }

    /// The sequence number of the entry that failed, when the error is about one entry.
    public var entryIndex: UInt64? {
        if case .entry(let index) = kind { return index }
        return nil
    }

    /// The stored number (1-based, in issue order) of the checkpoint that failed, when the error is about one.
    public var checkpointNumber: Int? {
        if case .checkpoint(let number) = kind { return number }
        return nil
    }

    /// Whether the error is about the checkpoint an auditor supplied (`audit verify --checkpoint`).
    public var isAboutTrustedCheckpoint: Bool { kind == .trustedCheckpoint }

    /// Whether the error says an append was not made durable (the caller must not release data).
    public var isNotDurable: Bool { kind == .notDurable }

    /// Whether the error says a Merkle proof was rejected.
    public var isProofRejection: Bool { kind == .proof }

    /// An entry of the log breaks `rule`.
    public static func entry(_ index: UInt64, _ rule: String) -> AuditError { AuditError(.entry(index), rule) }
    /// A stored checkpoint (1-based issue number) breaks `rule`.
    public static func checkpoint(_ number: Int, _ rule: String) -> AuditError { AuditError(.checkpoint(number), rule) }
    /// The checkpoint an auditor supplied breaks `rule`.
    public static func trustedCheckpoint(_ rule: String) -> AuditError { AuditError(.trustedCheckpoint, rule) }
    /// A Merkle inclusion or consistency proof is rejected by `rule`.
    public static func proof(_ rule: String) -> AuditError { AuditError(.proof, rule) }
    /// Entry bytes do not follow the canonical encoding (`rule` says where).
    public static func encoding(_ rule: String) -> AuditError { AuditError(.encoding, rule) }
    /// A signed note or checkpoint text is malformed or does not verify.
    public static func note(_ rule: String) -> AuditError { AuditError(.note, rule) }
    /// A signing or verifier key cannot be used.
    public static func key(_ rule: String) -> AuditError { AuditError(.key, rule) }
    /// The log database cannot be opened, read or written.
    public static func storage(_ rule: String) -> AuditError { AuditError(.storage, rule) }
    /// An append could not be made durable; the data it describes must not be released.
    public static func notDurable(_ rule: String) -> AuditError { AuditError(.notDurable, rule) }
    /// The log has been closed.
    public static let closed = AuditError(.closed, "the audit log is closed")
    /// Another process appended to the log since this one read its state (internal: the group is built again).
    static let grownElsewhere = AuditError(.grownElsewhere, "another process appended to the log since it was read")
    /// A caller passed an argument outside what the log holds (an index past the end, for example).
    public static func argument(_ rule: String) -> AuditError { AuditError(.argument, rule) }

    /// What went wrong, naming the entry or checkpoint.
    public var description: String {
        switch kind {
        case .entry(let index): return "audit entry \(index): \(rule)"
        case .checkpoint(let number): return "audit checkpoint #\(number): \(rule)"
        case .trustedCheckpoint: return "trusted checkpoint: \(rule)"
        case .proof: return "proof rejected: \(rule)"
        case .encoding: return "audit entry encoding: \(rule)"
        case .note: return "signed note: \(rule)"
        case .key: return "audit key: \(rule)"
        case .storage: return "audit storage: \(rule)"
        case .notDurable: return "audit append not durable: \(rule)"
        case .closed: return rule
        case .argument: return "audit: \(rule)"
        case .grownElsewhere: return "audit storage: \(rule)"
        }
    }
}
