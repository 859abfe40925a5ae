import Foundation
import ShanyrakCore
import Testing

let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let iinVectorsURL = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors/iin.json")
let iinVectorsPresent = FileManager.default.fileExists(atPath: iinVectorsURL.path)

struct IINVectors: Decodable {
    struct Valid: Decodable, Sendable, CustomTestStringConvertible {
        let iin: String
        let birthDate: String
        let sex: String
        let note: String
        var testDescription: String { note }
        enum CodingKeys: String, CodingKey {
            case iin, sex, note
            case birthDate = "birth_date"
        }
    }
    struct Invalid: Decodable, Sendable, CustomTestStringConvertible {
        let iin: String
        let reason: String
        var testDescription: String { reason }
    }
    let valid: [Valid]
    let invalid: [Invalid]

    static let shared: IINVectors? = (try? Data(contentsOf: iinVectorsURL)).map {
        try! JSONDecoder().decode(IINVectors.self, from: $0)
    }
}

@Suite(.enabled(if: iinVectorsPresent, "iin.json not found in ../shared/vectors next to the repository"))
struct IINVectorTests {
    @Test func fileHasCases() {
        #expect((IINVectors.shared?.valid.count ?? 0) >= 4)
        #expect((IINVectors.shared?.invalid.count ?? 0) >= 8)
    }

    @Test(arguments: IINVectors.shared?.valid ?? [])
    func valid(_ v: IINVectors.Valid) throws {
        let iin = try IIN(validating: v.iin)
        #expect(iin.digits == v.iin)
        #expect(iin.birthDate.description == v.birthDate)
        #expect(iin.sex.rawValue == v.sex)
        #expect(!String(describing: iin).contains(v.iin))
        #expect(!"\(iin)".contains(v.iin.prefix(6)))
        #expect(!String(reflecting: iin.description).contains(v.iin))
    }

    @Test(arguments: IINVectors.shared?.invalid ?? [])
    func invalid(_ v: IINVectors.Invalid) {
        #expect(throws: IIN.ValidationError.self) { try IIN(validating: v.iin) }
        do {
            _ = try IIN(validating: v.iin)
        } catch {
            if !v.iin.isEmpty { #expect(!error.description.contains(v.iin)) }
        }
    }
}

struct IINRuleTests {
    @Test(arguments: [
        ("900101300018", IIN.ValidationError.badCheckDigit),
        ("90010130001", .wrongLength),
        ("90O101300017", .notDigits),
        ("901301300017", .badDate),
        ("900230300019", .badDate),
        ("900101900015", .badCenturyDigit),
        ("", .wrongLength),
    ])
    func namesTheRule(_ text: String, _ rule: IIN.ValidationError) {
        #expect(throws: rule) { try IIN(validating: text) }
    }

    /// Builds an IIN with a correct check digit from its first eleven digits.
    static func make(_ first11: String) -> String? {
        let d = first11.utf8.map { Int($0 - 0x30) }
        return IIN.checkDigit(d).map { first11 + String($0) }
    }

    @Test func leapDaysFollowTheCentury() throws {
        // 29 February 2000 (leap), 1900 (not leap), 2004 (leap).
        let leap2000 = try #require(Self.make("00022950001") ?? Self.make("00022950002"))
        #expect(try IIN(validating: leap2000).birthDate == .init(year: 2000, month: 2, day: 29))
        let notLeap1900 = try #require(Self.make("00022930001") ?? Self.make("00022930002"))
        #expect(throws: IIN.ValidationError.badDate) { try IIN(validating: notLeap1900) }
        let notLeap1800 = try #require(Self.make("00022920001") ?? Self.make("00022920002"))
        #expect(throws: IIN.ValidationError.badDate) { try IIN(validating: notLeap1800) }
    }

    @Test func everyWrongCheckDigitIsRefused() throws {
        let good = "900101300017"
        for c in 0...9 where c != 7 {
            #expect(throws: IIN.ValidationError.badCheckDigit) { try IIN(validating: good.prefix(11) + String(c)) }
        }
    }
}
