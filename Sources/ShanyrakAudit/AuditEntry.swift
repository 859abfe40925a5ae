public import Foundation
public import ShanyrakCore

/// The outcome recorded for a request.
public enum AuditDecision: String, Sendable, Codable, Hashable {
    /// Access was denied.
    case deny
    /// Access was allowed.
    case allow
}

/// What a caller supplies for one audit entry; the log adds the sequence number and time.
///
/// Sets (subjects, indicator ids, policy ids) are kept sorted by UTF-8 bytes without
/// duplicates, so two drafts with the same members encode to the same bytes.
public struct AuditEntryDraft: Sendable, Hashable, Codable {
    /// Who asked: an authenticated principal id (never a person's IIN).
    public var actorId: String
    /// The role the actor acted in.
    public var role: String
    /// What was done (`read`, `export`, `ingest`, `policy-load`, `key-rotate`, ...).
    public var action: String
    /// The view or purpose the request was made for.
    public var view: String
    /// Pseudonyms of the people the request concerned (never IINs).
    public var subjects: [String]
    /// Ids of the indicators disclosed (never their values).
    public var indicatorIds: [String]
    /// Allow or deny.
    public var decision: AuditDecision
    /// Ids of the policies that determined the decision.
    public var policyIds: [String]
    /// Hash of the policy set in force (raw bytes, usually 32).
    public var policySetHash: [UInt8]
    /// The request id, to join with server logs.
    public var requestId: String
    /// For break-glass access: the justification, already sealed by the caller. The log stores the bytes as given.
    public var sealedJustification: [UInt8]?
    /// For an ingest, a rewrap or `registry anchor`: the digests of the registry batches whose records
    /// the action wrote, by increasing batch id (empty for every other action). `registry verify`
    /// compares each batch's records with its newest anchor.
    public var batchAnchors: [BatchAnchor]
    /// How many requests of the same kind this entry stands for: 1 for every entry but a summary of refused
    /// requests that were not recorded one by one (the server's throttled failed authentications), which
    /// counts them all. Never 0.
    public var occurrences: UInt64

    /// Creates a draft; sets are sorted and de-duplicated.
    /// - Parameters:
    ///   - actorId: who asked.
    ///   - role: the role acted in.
    ///   - action: what was done.
    ///   - view: the view or purpose.
    ///   - subjects: subject pseudonyms.
    ///   - indicatorIds: indicator ids disclosed.
    ///   - decision: allow or deny.
    ///   - policyIds: determining policy ids.
    ///   - policySetHash: hash of the policy set in force.
    ///   - requestId: the request id.
    ///   - sealedJustification: sealed break-glass justification, if any.
    ///   - batchAnchors: digests of the registry batches the action wrote (sorted by batch id here).
    ///   - occurrences: how many requests the entry stands for (at least 1; 0 is taken as 1).
    public init(
        actorId: String, role: String, action: String, view: String, subjects: [String] = [],
        indicatorIds: [String] = [], decision: AuditDecision, policyIds: [String] = [], policySetHash: [UInt8] = [],
        requestId: String, sealedJustification: [UInt8]? = nil, batchAnchors: [BatchAnchor] = [],
        occurrences: UInt64 = 1
    ) {
        self.actorId = actorId
        self.role = role
        self.action = action
        self.view = view
        self.subjects = canonicalSet(subjects)
        self.indicatorIds = canonicalSet(indicatorIds)
        self.decision = decision
        self.policyIds = canonicalSet(policyIds)
        self.policySetHash = policySetHash
        self.requestId = requestId
        self.sealedJustification = sealedJustification
        self.batchAnchors = batchAnchors.sorted { $0.batch < $1.batch }
        self.occurrences = max(occurrences, 1)
    }
}

/// One entry of the audit log: a draft plus the sequence number and time the log assigned.
///
/// The draft's fields read and write as the entry's own (`entry.actorId`, `entry.subjects`).
/// `AuditEntryCodec.encode` gives its canonical bytes (the Merkle leaf data); the JSON form
/// (Codable, flat) is for people and export only and is never hashed.
@dynamicMemberLookup
public struct AuditEntry: Sendable, Hashable, Codable {
    /// Position in the log, from 0: equal to the Merkle leaf index.
    public var sequence: UInt64
    /// Time of the append in microseconds since 1970-01-01T00:00:00Z, never decreasing along the log.
    public var timeMicroseconds: Int64
    /// What the caller supplied: actor, role, action, view, subjects, indicators, decision, policies,
    /// policy set hash, request id, sealed justification, batch anchors and occurrences.
    public var draft: AuditEntryDraft

    /// Creates an entry from a draft and the values the log assigns.
    /// - Parameters:
    ///   - sequence: the leaf index.
    ///   - timeMicroseconds: microseconds since the Unix epoch.
    ///   - draft: what the caller supplied; its sets are made canonical again, as they may have been
    ///     changed since the draft was created.
    public init(sequence: UInt64, timeMicroseconds: Int64, draft: AuditEntryDraft) {
        self.sequence = sequence
        self.timeMicroseconds = timeMicroseconds
        var draft = draft
        draft.subjects = canonicalSet(draft.subjects)
        draft.indicatorIds = canonicalSet(draft.indicatorIds)
        draft.policyIds = canonicalSet(draft.policyIds)
        draft.batchAnchors.sort { $0.batch < $1.batch }
        draft.occurrences = max(draft.occurrences, 1)
        self.draft = draft
    }

    /// A field of the draft, as the entry's own.
    public subscript<Value>(dynamicMember field: WritableKeyPath<AuditEntryDraft, Value>) -> Value {
        get { draft[keyPath: field] }
        set { draft[keyPath: field] = newValue }
    }

    /// The time as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(timeMicroseconds) / 1_000_000) }

    private enum CodingKeys: String, CodingKey {
        case sequence, time, actorId, role, action, view, subjects, indicatorIds, decision, policyIds
        case policySetHash, requestId, sealedJustification, batchAnchors, occurrences
    }

    /// Decodes the JSON form (hash as lowercase hex, justification as base64, anchors absent when none,
    /// occurrences absent when 1).
    /// - Throws: `DecodingError` on a missing or malformed field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let hashHex = try c.decode(String.self, forKey: .policySetHash)
        guard let hash = bytes(fromHex: hashHex) else {
            throw DecodingError.dataCorruptedError(forKey: .policySetHash, in: c, debugDescription: "not hex")
        }
        var sealed: [UInt8]?
        if let text = try c.decodeIfPresent(String.self, forKey: .sealedJustification) {
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .sealedJustification, in: c, debugDescription: "not base64")
            }
            sealed = Array(data)
        }
        self.init(
            sequence: try c.decode(UInt64.self, forKey: .sequence),
            timeMicroseconds: try c.decode(Int64.self, forKey: .time),
            draft: AuditEntryDraft(
                actorId: try c.decode(String.self, forKey: .actorId),
                role: try c.decode(String.self, forKey: .role),
                action: try c.decode(String.self, forKey: .action),
                view: try c.decode(String.self, forKey: .view),
                subjects: try c.decode([String].self, forKey: .subjects),
                indicatorIds: try c.decode([String].self, forKey: .indicatorIds),
                decision: try c.decode(AuditDecision.self, forKey: .decision),
                policyIds: try c.decode([String].self, forKey: .policyIds),
                policySetHash: hash,
                requestId: try c.decode(String.self, forKey: .requestId),
                sealedJustification: sealed,
                batchAnchors: try c.decodeIfPresent([BatchAnchor].self, forKey: .batchAnchors) ?? [],
                occurrences: try Self.occurrences(c)))
    }

    /// The JSON form's `occurrences`: absent means 1, and a present one is at least 2 (as in the bytes).
    private static func occurrences(_ c: KeyedDecodingContainer<CodingKeys>) throws -> UInt64 {
        guard let count = try c.decodeIfPresent(UInt64.self, forKey: .occurrences) else { return 1 }
        guard count >= 2 else {
            throw DecodingError.dataCorruptedError(
                forKey: .occurrences, in: c, debugDescription: "present only for 2 or more")
        }
        return count
    }

    /// Encodes the JSON form (hash as lowercase hex, justification as base64, absent when nil; anchors
    /// absent when there are none; occurrences absent when 1).
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(timeMicroseconds, forKey: .time)
        try c.encode(draft.actorId, forKey: .actorId)
        try c.encode(draft.role, forKey: .role)
        try c.encode(draft.action, forKey: .action)
        try c.encode(draft.view, forKey: .view)
        try c.encode(draft.subjects, forKey: .subjects)
        try c.encode(draft.indicatorIds, forKey: .indicatorIds)
        try c.encode(draft.decision, forKey: .decision)
        try c.encode(draft.policyIds, forKey: .policyIds)
        try c.encode(hex(draft.policySetHash), forKey: .policySetHash)
        try c.encode(draft.requestId, forKey: .requestId)
        if let sealedJustification = draft.sealedJustification {
            try c.encode(Data(sealedJustification).base64EncodedString(), forKey: .sealedJustification)
        }
        if !draft.batchAnchors.isEmpty { try c.encode(draft.batchAnchors, forKey: .batchAnchors) }
        if draft.occurrences > 1 { try c.encode(draft.occurrences, forKey: .occurrences) }
    }
}

/// Sorts by UTF-8 bytes and removes byte-identical duplicates (Swift's `String ==` would merge
/// canonically equivalent spellings, which encode differently).
func canonicalSet(_ items: [String]) -> [String] {
    // Fast path: already strictly increasing (the usual case once a draft exists), no allocation.
    var sorted = true
    var i = 1
    while i < items.count {
        if utf8Compare(items[i - 1], items[i]) >= 0 {
            sorted = false
            break
        }
        i += 1
    }
    if sorted { return items }
    // Sort the strings themselves (no byte copies), then drop byte-identical neighbours.
    let ordered = items.sorted { utf8Compare($0, $1) < 0 }
    var out: [String] = []
    out.reserveCapacity(ordered.count)
    for item in ordered where out.last.map({ utf8Compare($0, item) != 0 }) ?? true {
        out.append(item)
    }
    return out
}

/// Bytewise comparison of the UTF-8 of `a` and `b`: negative, zero or positive.
func utf8Compare(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    // Native strings are contiguous UTF-8 already; `makeContiguousUTF8` only copies bridged or foreign ones.
    a.makeContiguousUTF8()
    b.makeContiguousUTF8()
    return a.utf8.withContiguousStorageIfAvailable { pa in
        b.utf8.withContiguousStorageIfAvailable { pb in
            let n = min(pa.count, pb.count)
            if n > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                let c = memcmp(x, y, n)
                if c != 0 { return Int(c) }
            }
            return pa.count - pb.count
        }
    }.flatMap { $0 } ?? slowUTF8Compare(a, b)
}

/// `utf8Compare` for strings without contiguous storage (not expected after `makeContiguousUTF8`).
private func slowUTF8Compare(_ a: String, _ b: String) -> Int {
    if a.utf8.elementsEqual(b.utf8) { return 0 }
    return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
}

/// Lowercase hex of `bytes`.
func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

/// Bytes from hex (either case); nil when malformed.
func bytes(fromHex text: String) -> [UInt8]? { Hex.decode(text) }
