public import ShanyrakCore

/// The canonical byte encoding of audit entries (the Merkle leaf data). See docs/audit.md.
///
/// Version 1, in this order, integers big-endian:
/// `u8 version (0x01)`, `u64 sequence`, `i64 time (µs since the Unix epoch)`, `str actorId`, `str role`,
/// `str action`, `str view`, `list subjects`, `list indicatorIds`, `u8 decision (0 deny, 1 allow)`,
/// `list policyIds`, `bytes policySetHash`, `str requestId`, `u8 0x00` or `u8 0x01 bytes sealedJustification`,
/// then the optional trailing fields, each written only when it has something to say, as a tag byte and its
/// contents, tags strictly increasing (absent is written as nothing, so entries made before a field existed
/// keep their bytes): tag `0x01`, batch anchors (field 15): `u32 count` (at least 1) and per anchor
/// `u64 batch`, `str source`, `u64 records`, `bytes digest` (32 bytes), batches strictly increasing; tag `0x02`,
/// occurrences (field 16): `u64` of at least 2, for an entry that stands for that many refused requests.
/// `str` and `bytes` are a `u32` length then the UTF-8 or raw bytes; `list` is a `u32` count then that many
/// `str`, strictly increasing in bytewise order. Nothing follows the last field. Decoding rejects anything else,
/// so every entry has exactly one encoding.
public enum AuditEntryCodec {
    /// The encoding version written by `encode`.
    public static let version: UInt8 = 1
    /// Largest encoded entry accepted (1 MiB).
    public static let maximumEntryLength = 1 << 20

    /// The canonical bytes of `entry`.
    /// - Parameter entry: the entry.
    /// - Returns: the bytes that the Merkle leaf hashes.
    public static func encode(_ entry: AuditEntry) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        out.append(version)
        appendInteger(entry.sequence, to: &out)
        appendInteger(UInt64(bitPattern: entry.timeMicroseconds), to: &out)
        appendString(entry.actorId, to: &out)
        appendString(entry.role, to: &out)
        appendString(entry.action, to: &out)
        appendString(entry.view, to: &out)
        appendList(entry.subjects, to: &out)
        appendList(entry.indicatorIds, to: &out)
        out.append(entry.decision == .allow ? 1 : 0)
        appendList(entry.policyIds, to: &out)
        appendBytes(entry.policySetHash, to: &out)
        appendString(entry.requestId, to: &out)
        if let sealed = entry.sealedJustification {
            out.append(1)
            appendBytes(sealed, to: &out)
        } else {
            out.append(0)
        }
        appendAnchors(entry.batchAnchors, to: &out)
        if entry.occurrences > 1 {
            out.append(Tag.occurrences)
            appendInteger(entry.occurrences, to: &out)
        }
        return out
    }

    /// The tags of the optional trailing fields, in the order they are written.
    private enum Tag {
        /// Field 15, batch anchors.
        static let batchAnchors: UInt8 = 1
        /// Field 16, occurrences.
        static let occurrences: UInt8 = 2
    }

    /// Field 15: nothing when there are no anchors; else tag, count and the anchors by increasing batch.
    private static func appendAnchors(_ anchors: [BatchAnchor], to out: inout [UInt8]) {
        guard !anchors.isEmpty else { return }
        // AuditEntry keeps them sorted; sort (and drop a repeated batch) again for a hand-edited entry.
        var canonical: [BatchAnchor] = []
        for anchor in anchors.sorted(by: { $0.batch < $1.batch }) where canonical.last?.batch != anchor.batch {
            canonical.append(anchor)
        }
        out.append(Tag.batchAnchors)
        appendLength(canonical.count, to: &out)
        for anchor in canonical {
            appendInteger(UInt64(bitPattern: anchor.batch), to: &out)
            appendString(anchor.source, to: &out)
            appendInteger(UInt64(bitPattern: anchor.records), to: &out)
            appendBytes(anchor.digest, to: &out)
        }
    }

    /// Decodes canonical bytes.
    /// - Parameter bytes: an encoded entry.
    /// - Returns: the entry.
    /// - Throws: `AuditError` (encoding) naming the field and rule when the bytes are not a canonical encoding.
    public static func decode(_ bytes: [UInt8]) throws(AuditError) -> AuditEntry {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(AuditError) in try decode(raw) } }
        return try result.get()
    }

    /// Decodes canonical bytes.
    /// - Parameter raw: an encoded entry.
    /// - Returns: the entry.
    /// - Throws: `AuditError` (encoding) naming the field and rule when the bytes are not a canonical encoding.
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(AuditError) -> AuditEntry {
        do {
            var r = Reader(raw)
            let header = try r.header()
            let actorId = try r.string("actorId")
            let role = try r.string("role")
            let action = try r.string("action")
            let view = try r.string("view")
            let subjects = try r.list("subjects")
            let indicators = try r.list("indicatorIds")
            let decision: AuditDecision = try r.byte("decision", allowed: 1) == 1 ? .allow : .deny
            let policies = try r.list("policyIds")
            let hash = try r.bytes("policySetHash")
            let requestId = try r.string("requestId")
            var sealed: [UInt8]?
            if try r.byte("sealedJustification presence", allowed: 1) == 1 {
                sealed = try r.bytes("sealedJustification")
            }
            let anchors = try r.anchors()
            let occurrences = try r.occurrences()
            try r.end()
            var entry = AuditEntry(
                sequence: header.sequence, timeMicroseconds: header.time,
                draft: AuditEntryDraft(
                    actorId: actorId, role: role, action: action, view: view, decision: decision,
                    requestId: requestId))
            // Lists were checked strictly increasing, so they are already canonical.
            entry.subjects = subjects
            entry.indicatorIds = indicators
            entry.policyIds = policies
            entry.policySetHash = hash
            entry.sealedJustification = sealed
            entry.batchAnchors = anchors
            entry.occurrences = occurrences
            return entry
        }
    }

    /// Checks that `bytes` is a canonical encoding without building the entry (fast path of `audit verify`).
    /// - Parameter bytes: an encoded entry.
    /// - Returns: its sequence number and time.
    /// - Throws: `AuditError` (encoding) naming the field and rule.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(AuditError) -> (
        sequence: UInt64, timeMicroseconds: Int64
    ) {
        let checked = try batchAnchors(bytes)
        return (checked.sequence, checked.timeMicroseconds)
    }

    /// The batch anchors of an encoded entry (field 15), checking its canonical form without building the
    /// rest of the entry: `validate` and `registry verify` read every entry of the log through this.
    /// - Parameter bytes: an encoded entry.
    /// - Returns: its sequence number, time and anchors (empty for an entry without any).
    /// - Throws: `AuditError` (encoding) naming the field and rule.
    public static func batchAnchors(_ bytes: UnsafeRawBufferPointer) throws(AuditError) -> (
        sequence: UInt64, timeMicroseconds: Int64, anchors: [BatchAnchor]
    ) {
        var r = Reader(bytes)
        let header = try r.header()
        try r.skipString("actorId")
        try r.skipString("role")
        try r.skipString("action")
        try r.skipString("view")
        try r.skipList("subjects")
        try r.skipList("indicatorIds")
        _ = try r.byte("decision", allowed: 1)
        try r.skipList("policyIds")
        _ = try r.skipBytes("policySetHash")
        try r.skipString("requestId")
        if try r.byte("sealedJustification presence", allowed: 1) == 1 { _ = try r.skipBytes("sealedJustification") }
        let anchors = try r.anchors()
        _ = try r.occurrences()
        try r.end()
        return (header.sequence, header.time, anchors)
    }

    private static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    private static func appendLength(_ value: Int, to out: inout [UInt8]) {
        let v = UInt32(clamping: value)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    private static func appendBytes(_ bytes: [UInt8], to out: inout [UInt8]) {
        appendLength(bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            appendLength(utf8.count, to: &out)
            out.append(contentsOf: utf8)
        }
    }

    private static func appendList(_ items: [String], to out: inout [UInt8]) {
        // AuditEntry keeps sets canonical; sort again so a hand-edited entry still encodes canonically.
        let canonical = canonicalSet(items)
        appendLength(canonical.count, to: &out)
        for item in canonical { appendString(item, to: &out) }
    }

    /// A bounds-checked reader over entry bytes.
    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset = 0

        init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

        mutating func header() throws(AuditError) -> (sequence: UInt64, time: Int64) {
            guard raw.count <= AuditEntryCodec.maximumEntryLength else {
                throw .encoding("entry longer than \(AuditEntryCodec.maximumEntryLength) bytes")
            }
            let v = try byte("version", allowed: 255)
            guard v == AuditEntryCodec.version else { throw .encoding("unknown version \(v)") }
            let sequence = try integer("sequence")
            let time = Int64(bitPattern: try integer("time"))
            return (sequence, time)
        }

        mutating func byte(_ field: @autoclosure () -> String, allowed maximum: UInt8) throws(AuditError) -> UInt8 {
            guard offset < raw.count else { throw .encoding("\(field()): truncated at byte \(offset)") }
            let b = raw[offset]
            guard b <= maximum else { throw .encoding("\(field()): value \(b) at byte \(offset) is not allowed") }
            offset += 1
            return b
        }

        mutating func integer(_ field: @autoclosure () -> String) throws(AuditError) -> UInt64 {
            guard raw.count - offset >= 8 else { throw .encoding("\(field()): truncated at byte \(offset)") }
            var v: UInt64 = 0
            for i in 0..<8 { v = v << 8 | UInt64(raw[offset + i]) }
            offset += 8
            return v
        }

        mutating func length(_ field: @autoclosure () -> String) throws(AuditError) -> Int {
            guard raw.count - offset >= 4 else { throw .encoding("\(field()): truncated at byte \(offset)") }
            var v = 0
            for i in 0..<4 { v = v << 8 | Int(raw[offset + i]) }
            offset += 4
            guard v <= raw.count - offset else { throw .encoding("\(field()): length \(v) runs past the end") }
            return v
        }

        /// Skips a length-prefixed field and returns its byte range.
        mutating func skipBytes(_ field: @autoclosure () -> String) throws(AuditError) -> Range<Int> {
            let n = try length(field())
            let range = offset..<(offset + n)
            offset += n
            return range
        }

        mutating func skipString(_ field: @autoclosure () -> String) throws(AuditError) {
            let range = try skipBytes(field())
            guard isValidUTF8(UnsafeRawBufferPointer(rebasing: raw[range])) else {
                throw .encoding("\(field()): not valid UTF-8")
            }
        }

        mutating func skipList(_ field: @autoclosure () -> String) throws(AuditError) {
            let count = try length(field())  // a count is also bounded by the remaining bytes
            var previous: Range<Int>?
            for i in 0..<count {
                let range = try skipBytes("\(field())[\(i)]")
                guard isValidUTF8(UnsafeRawBufferPointer(rebasing: raw[range])) else {
                    throw .encoding("\(field())[\(i)]: not valid UTF-8")
                }
                if let previous {
                    guard raw[previous].lexicographicallyPrecedes(raw[range]) else {
                        throw .encoding("\(field())[\(i)]: not strictly increasing (sets are sorted, unique)")
                    }
                }
                previous = range
            }
        }

        mutating func bytes(_ field: @autoclosure () -> String) throws(AuditError) -> [UInt8] {
            Array(raw[try skipBytes(field())])
        }

        mutating func string(_ field: @autoclosure () -> String) throws(AuditError) -> String {
            let range = try skipBytes(field())
            guard let s = String(validating: raw[range], as: UTF8.self) else {
                throw .encoding("\(field()): not valid UTF-8")
            }
            return s
        }

        mutating func list(_ field: @autoclosure () -> String) throws(AuditError) -> [String] {
            let start = offset
            try skipList(field())
            offset = start
            let count = try length(field())
            var out: [String] = []
            out.reserveCapacity(count)
            for i in 0..<count { out.append(try string("\(field())[\(i)]")) }
            return out
        }

        /// Whether the next byte is `tag` (then it is taken): an optional trailing field is present. A byte that is
        /// no tag, or a tag out of order, is left for `end()` or the next field to refuse.
        mutating func takeTag(_ tag: UInt8, _ field: String) throws(AuditError) -> Bool {
            guard offset < raw.count else { return false }
            let b = raw[offset]
            guard b != 0 else { throw .encoding("\(field) presence: 0 is written as no byte at all") }
            guard b == tag else { return false }
            offset += 1
            return true
        }

        /// Field 15: absent means no anchors; otherwise tag 1, a count of at least one, and anchors by strictly
        /// increasing batch, each with a 32-byte digest.
        mutating func anchors() throws(AuditError) -> [BatchAnchor] {
            guard try takeTag(Tag.batchAnchors, "batchAnchors") else { return [] }
            let count = try length("batchAnchors")
            guard count > 0 else { throw .encoding("batchAnchors: present with no anchor") }
            var out: [BatchAnchor] = []
            for i in 0..<count {
                let batch = try integer("batchAnchors[\(i)].batch")
                let source = try string("batchAnchors[\(i)].source")
                let records = try integer("batchAnchors[\(i)].records")
                let digest = try bytes("batchAnchors[\(i)].digest")
                guard batch <= UInt64(Int64.max), records <= UInt64(Int64.max) else {
                    throw .encoding("batchAnchors[\(i)]: batch or record count out of range")
                }
                guard digest.count == 32 else { throw .encoding("batchAnchors[\(i)].digest: not 32 bytes") }
                if let previous = out.last, previous.batch >= Int64(batch) {
                    throw .encoding("batchAnchors[\(i)]: batches not strictly increasing")
                }
                out.append(
                    BatchAnchor(batch: Int64(batch), source: source, records: Int64(records), digest: digest))
            }
            return out
        }

        /// Field 16: absent means 1; otherwise tag 2 and a count of at least 2.
        mutating func occurrences() throws(AuditError) -> UInt64 {
            guard try takeTag(Tag.occurrences, "occurrences") else { return 1 }
            let count = try integer("occurrences")
            guard count >= 2 else { throw .encoding("occurrences: \(count) is written as no field at all") }
            return count
        }

        func end() throws(AuditError) {
            guard offset == raw.count else { throw .encoding("\(raw.count - offset) bytes after the last field") }
        }
    }
}

/// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = bytes.count
    while i < n {
        let b0 = bytes[i]
        if b0 < 0x80 {
            i += 1
            continue
        }
        let need: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED:
            need = 2
            upper = 0x9F
        case 0xF0:
            need = 3
            lower = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            upper = 0x8F
        default: return false
        }
        guard i + need < n else { return false }
        let b1 = bytes[i + 1]
        guard b1 >= lower, b1 <= upper else { return false }
        var k = 2
        while k <= need {
            guard bytes[i + k] & 0xC0 == 0x80 else { return false }
            k += 1
        }
        i += need + 1
    }
    return true
}
