public import Foundation
import ShanyrakCore

// A direct writer for the canonical bytes of a household card or a person view.
//
// The bytes must be exactly those `JSONEncoder` produces with
// `[.sortedKeys, .withoutEscapingSlashes]` (tests compare bytes, and a view is promised
// to be byte-identical for the same household and user). The writer therefore only
// handles the case where that is certain, and returns nil for everything else, so
// that the caller hands it to `JSONEncoder`:
//
// - every string (district, relation, sex, indicator ids and values) is "plain": no
//   control character, DEL, `"`, `\`, U+2028 or U+2029, so no escaping happens either
//   way (pseudonyms are hex, age bands are fixed ASCII; Cyrillic text is plain);
// - the order of indicator ids is not assumed: it is learnt from `JSONEncoder`
//   itself (`IndicatorKeyOrder`), which sorts with Foundation's own comparison, so
//   whatever that comparison is, the writer follows it.
//
// The writer works on strings, not on one view type: the access path's views and the
// HTTP contract's generated types (`ShanyrakServer`) both write through it. Each type
// checks once per process that its fixed keys come out of `JSONEncoder` in the order
// the writer uses (`fixedKeyOrderHolds` here, and the server's own check).

/// Writes the canonical JSON of the views from their fields as strings.
public enum CanonicalViewJSON {
    /// One member of a household card, as the strings the card shows.
    public struct Member: Sendable {
        /// The member's pseudonym, hex.
        public var pseudonym: String
        /// Relation to the head of household.
        public var relation: String
        /// `male`, `female` or `unknown`.
        public var sex: String
        /// The age band's contract value, such as `30-44`.
        public var ageBand: String
        /// Granted indicator values, in the order the JSON writes them.
        public var indicators: IndicatorValueList

        /// Creates a member.
        public init(pseudonym: String, relation: String, sex: String, ageBand: String, indicators: IndicatorValueList) {
            self.pseudonym = pseudonym
            self.relation = relation
            self.sex = sex
            self.ageBand = ageBand
            self.indicators = indicators
        }
    }

    /// The household card `{"district","household","members":[{"age_band","indicators","pseudonym",
    /// "relation","sex"}]}`, members in the order given.
    /// - Returns: the bytes `JSONEncoder` would write, or nil when the writer cannot be sure of them.
    public static func householdCard(household: String, district: String, members: [Member]) -> Data? {
        var w = Writer(capacity: 256 + members.count * 512)
        w.beginObject()
        w.string("district", district)
        w.string("household", household)
        w.key("members")
        w.beginArray()
        for member in members {
            w.beginObject()
            w.string("age_band", member.ageBand)
            w.indicators(member.indicators)
            w.string("pseudonym", member.pseudonym)
            w.string("relation", member.relation)
            w.string("sex", member.sex)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.result
    }

    /// The person view `{"age_band","household","indicators","person","relation","sex"}`.
    /// - Returns: the bytes `JSONEncoder` would write, or nil when the writer cannot be sure of them.
    public static func personView(
        person: String, household: String, relation: String, sex: String, ageBand: String,
        indicators: IndicatorValueList
    ) -> Data? {
        var w = Writer(capacity: 256 + indicators.count * 48)
        w.beginObject()
        w.string("age_band", ageBand)
        w.string("household", household)
        w.indicators(indicators)
        w.string("person", person)
        w.string("relation", relation)
        w.string("sex", sex)
        w.endObject()
        return w.result
    }

    /// Writes JSON without whitespace, fields in the order given (the callers give the encoder's
    /// order); gives up, for good, at the first text that is not plain or an indicator map whose
    /// key order is not known.
    private struct Writer {
        private var out: [UInt8] = []
        private var failed = false
        /// Whether the next element of the current object or array needs a comma before it.
        private var needsComma = false

        init(capacity: Int) { out.reserveCapacity(capacity) }

        /// The bytes, or nil when the writer gave up.
        var result: Data? { failed ? nil : Data(out) }

        mutating func beginObject() { open(UInt8(ascii: "{")) }
        mutating func endObject() { close(UInt8(ascii: "}")) }
        mutating func beginArray() { open(UInt8(ascii: "[")) }
        mutating func endArray() { close(UInt8(ascii: "]")) }

        /// `"name":` (names are the writer's own constants, plain).
        mutating func key(_ name: String) {
            separate()
            quoted(name)
            out.append(UInt8(ascii: ":"))
            needsComma = false
        }

        /// `"name":"text"`.
        mutating func string(_ name: String, _ text: String) {
            guard isPlain(text) else { return fail() }
            key(name)
            quoted(text)
            needsComma = true
        }

        /// `"indicators":{...}`: the list is in the encoder's order, so it is written as it stands.
        mutating func indicators(_ list: IndicatorValueList) {
            guard list.isCanonicallyOrdered else { return fail() }
            key("indicators")
            beginObject()
            for entry in list.entries {
                // Ids in a canonically ordered list were learnt from the encoder, which only plain ids are.
                guard isPlain(entry.value) else { return fail() }
                key(entry.id)
                quoted(entry.value)
                needsComma = true
            }
            endObject()
        }

        private mutating func open(_ bracket: UInt8) {
            separate()
            out.append(bracket)
            needsComma = false
        }

        private mutating func close(_ bracket: UInt8) {
            out.append(bracket)
            needsComma = true
        }

        private mutating func separate() {
            if needsComma { out.append(UInt8(ascii: ",")) }
        }

        private mutating func quoted(_ text: String) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
        }

        private mutating func fail() { failed = true }
    }

    /// Text `JSONEncoder` writes verbatim (slashes unescaped): no control character, DEL, `"` or `\`,
    /// and, to stay on the safe side, no U+2028 or U+2029 (which some JSON writers escape).
    /// Other non-ASCII text (Cyrillic names) is written as its UTF-8 bytes by both. The server's
    /// problem bodies use it too.
    public static func isPlain(_ text: String) -> Bool {
        if let plain = text.utf8.withContiguousStorageIfAvailable(isPlain) { return plain }
        return isPlain(Array(text.utf8))
    }

    /// `isPlain` over UTF-8 bytes (valid UTF-8, as a `String`'s are): U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
    static func isPlain(_ bytes: some RandomAccessCollection<UInt8>) -> Bool {
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let byte = bytes[i]
            if byte < 0x20 || byte == 0x7F || byte == 0x22 || byte == 0x5C { return false }
            if byte == 0xE2 {
                let next = bytes.index(after: i)
                if next != bytes.endIndex, bytes[next] == 0x80 {
                    let last = bytes.index(after: next)
                    if last != bytes.endIndex, bytes[last] == 0xA8 || bytes[last] == 0xA9 { return false }
                }
            }
            i = bytes.index(after: i)
        }
        return true
    }
}

extension HouseholdView {
    /// The canonical bytes written directly; nil when the fast path cannot be sure of them.
    func fastCanonicalJSON() -> Data? {
        guard Self.fixedKeyOrderHolds else { return nil }
        return CanonicalViewJSON.householdCard(
            household: household.hex, district: district,
            members: members.map {
                CanonicalViewJSON.Member(
                    pseudonym: $0.pseudonym.hex, relation: $0.relation, sex: $0.sex, ageBand: $0.ageBand.rawValue,
                    indicators: $0.indicators)
            })
    }

    /// Whether the fixed keys come out of `JSONEncoder` in the order the writer uses
    /// (checked once, on a card with one member and one indicator).
    static let fixedKeyOrderHolds: Bool = {
        guard let p = Pseudonym(hex: String(repeating: "ab", count: 16)) else { return false }
        let member = Member(
            pseudonym: p, relation: "head", sex: "female", ageBand: .from30To44,
            indicators: IndicatorValueList(["x.y": "1"]))
        let card = HouseholdView(unchecked: p, district: "D1", members: [member])
        guard let encoded = try? canonicalEncoder().encode(card) else { return false }
        let expected =
            #"{"district":"D1","household":"\#(p.hex)","members":[{"age_band":"30-44","indicators":{"x.y":"1"},"#
            + #""pseudonym":"\#(p.hex)","relation":"head","sex":"female"}]}"#
        return encoded == Data(expected.utf8)
    }()
}

extension PersonView {
    /// The canonical bytes written directly; nil when the fast path cannot be sure of them.
    func fastCanonicalJSON() -> Data? {
        guard Self.fixedKeyOrderHolds else { return nil }
        return CanonicalViewJSON.personView(
            person: person.hex, household: household.hex, relation: relation, sex: sex, ageBand: ageBand.rawValue,
            indicators: indicators)
    }

    /// Whether the fixed keys come out of `JSONEncoder` in the order the writer uses (checked once).
    static let fixedKeyOrderHolds: Bool = {
        guard let p = Pseudonym(hex: String(repeating: "ab", count: 16)),
            let h = Pseudonym(hex: String(repeating: "cd", count: 16))
        else { return false }
        let view = PersonView(
            person: p, household: h, relation: "head", sex: "female", ageBand: .from30To44, indicators: ["x.y": "1"])
        guard let encoded = try? canonicalEncoder().encode(view) else { return false }
        let expected =
            #"{"age_band":"30-44","household":"\#(h.hex)","indicators":{"x.y":"1"},"person":"\#(p.hex)","#
            + #""relation":"head","sex":"female"}"#
        return encoded == Data(expected.utf8)
    }()
}

/// The order in which `JSONEncoder` (sorted keys) writes indicator ids, learnt from the encoder.
///
/// Every id seen gets a rank; a set of ids is written in rank order. When a new id
/// appears, the ranks of all ids seen so far are recomputed by encoding a dictionary
/// of them with `JSONEncoder` and reading the keys back in the order written. The
/// encoder's key comparison is a total order, so the order of any subset is the
/// order of its ranks. Bounded: beyond `limit` ids the fast path is not used.
final class IndicatorKeyOrder: @unchecked Sendable {
    static let shared = IndicatorKeyOrder()
    private let lock = NSLock()
    /// The ranks learnt so far. Replaced as a whole when an id is learnt, never changed in place, so a
    /// reader holds the lock only to fetch it: household cards written at once do not wait on each other.
    private var current = Ranks([:])
    private let limit = 4096

    /// Rank by indicator id (only plain ids are ever learnt).
    private final class Ranks: Sendable {
        let rank: [String: Int]
        init(_ rank: [String: Int]) { self.rank = rank }
    }

    /// The entries of `values` with their keys in the encoder's order; nil when unknown or when a key is
    /// not plain (`CanonicalViewJSON.isPlain`). The values are not checked.
    func ordered(_ values: [String: String]) -> [(key: String, value: String)]? {
        var ranks = snapshot()
        var ranked: [(rank: Int, key: String, value: String)] = []
        ranked.reserveCapacity(values.count)
        for (key, value) in values {
            if let r = ranks.rank[key] {
                ranked.append((r, key, value))
                continue
            }
            // A new id: learn the order of all ids seen, then start over with the new ranks.
            guard values.keys.allSatisfy(CanonicalViewJSON.isPlain), let learnt = learn(Array(values.keys)) else {
                return nil
            }
            ranks = learnt
            ranked.removeAll(keepingCapacity: true)
            for (key, value) in values {
                guard let r = ranks.rank[key] else { return nil }
                ranked.append((r, key, value))
            }
            break
        }
        // Ranks are distinct, so this order is the encoder's, whatever the sort's stability.
        ranked.sort { $0.rank < $1.rank }
        return ranked.map { ($0.key, $0.value) }
    }

    private func snapshot() -> Ranks {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Learns `keys` together with every id known; the new ranks, or nil beyond `limit` or on failure.
    private func learn(_ keys: [String]) -> Ranks? {
        lock.lock()
        defer { lock.unlock() }
        guard learnLocked(keys) else { return nil }
        return current
    }

    private func learnLocked(_ keys: [String]) -> Bool {
        var all = Set(current.rank.keys)
        all.formUnion(keys)
        guard all.count <= limit else { return false }
        var probe: [String: Int] = [:]
        for key in all { probe[key] = 0 }
        guard let encoded = try? canonicalEncoder().encode(probe) else { return false }
        let data = [UInt8](encoded)
        // {"k1":0,"k2":0,...}: the keys are plain, so each is the text between a pair of quotes.
        var order: [String] = []
        order.reserveCapacity(all.count)
        var start: Int?
        for (i, byte) in data.enumerated() where byte == UInt8(ascii: "\"") {
            if let s = start {
                order.append(String(decoding: data[(s + 1)..<i], as: UTF8.self))
                start = nil
            } else {
                start = i
            }
        }
        guard order.count == all.count, Set(order) == all else { return false }
        var fresh: [String: Int] = [:]
        for (i, key) in order.enumerated() { fresh[key] = i }
        current = Ranks(fresh)
        return true
    }
}
