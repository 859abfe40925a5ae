import Foundation
import ShanyrakCore
import Testing

/// Pseudonyms hold their 16 bytes inline: every way in and out must agree with the bytes themselves.
struct PseudonymTests {
    static func randomBytes(_ rng: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test("bytes, raw memory and hex give the same pseudonym, and give their bytes back")
    func roundTrips() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let bytes = Self.randomBytes(&rng)
            let p = try #require(Pseudonym(bytes: bytes))
            #expect(p.bytes == bytes)
            #expect(p.withUnsafeBytes { Array($0) } == bytes)
            #expect(bytes.withUnsafeBytes { Pseudonym(bytes: $0) } == p)
            #expect(Pseudonym(bytes: Data(bytes)) == p)
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            #expect(p.hex == hex)
            #expect(p.description == hex)
            #expect(Pseudonym(hex: hex) == p)
            #expect(try JSONDecoder().decode(Pseudonym.self, from: JSONEncoder().encode(p)) == p)
        }
    }

    @Test("order is byte-wise, and equal pseudonyms hash alike")
    func orderAndHash() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let a = Self.randomBytes(&rng)
            var b = Self.randomBytes(&rng)
            // Often share a prefix (or everything), so that the second word, or equality, decides.
            if Bool.random(using: &rng) {
                let shared = Int.random(in: 1...16, using: &rng)
                b.replaceSubrange(0..<shared, with: a[0..<shared])
            }
            let (p, q) = (try #require(Pseudonym(bytes: a)), try #require(Pseudonym(bytes: b)))
            #expect((p < q) == a.lexicographicallyPrecedes(b))
            #expect((p == q) == (a == b))
            #expect((p.hex < q.hex) == (p < q))
        }
        let p = try #require(Pseudonym(hex: String(repeating: "5a", count: 16)))
        let same = try #require(Pseudonym(bytes: [UInt8](repeating: 0x5a, count: 16)))
        #expect(Set([p, same]).count == 1 && p.hashValue == same.hashValue)
    }

    @Test("anything but 16 bytes or 32 lower-case hex digits is refused")
    func refusals() {
        #expect(Pseudonym(bytes: [UInt8](repeating: 1, count: 15)) == nil)
        #expect(Pseudonym(bytes: [UInt8](repeating: 1, count: 17)) == nil)
        #expect([UInt8](repeating: 1, count: 8).withUnsafeBytes { Pseudonym(bytes: $0) } == nil)
        for text in [
            "", String(repeating: "a", count: 31), String(repeating: "a", count: 33), String(repeating: "A", count: 32),
            String(repeating: "g", count: 32), String(repeating: "a", count: 30) + "é",
        ] {
            #expect(Pseudonym(hex: text) == nil, "\(text)")
        }
    }
}
