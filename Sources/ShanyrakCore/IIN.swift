internal import Foundation

/// A validated Kazakhstan individual identification number (IIN).
///
/// Twelve digits: `YYMMDD`, a century-and-sex digit (1/2: 1800s male/female,
/// 3/4: 1900s, 5/6: 2000s), a four-digit serial and a check digit computed in
/// up to two weighted passes modulo 11. A value of this type has passed every
/// check; its `description` is deliberately redacted so that an IIN cannot reach
/// a log or an error message by accident.
public struct IIN: Sendable, Hashable, CustomStringConvertible {
    /// The twelve ASCII digits.
    public let digits: String
    /// The birth date encoded in the number.
    public let birthDate: BirthDate
    /// The sex encoded in the century digit.
    public let sex: Sex

    /// Sex as the IIN encodes it.
    public enum Sex: String, Sendable, Hashable, Codable {
        case male, female
    }

    /// A calendar date without time zone.
    public struct BirthDate: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// Four-digit year.
        public let year: Int
        /// Month, 1...12.
        public let month: Int
        /// Day of month, 1...31.
        public let day: Int

        /// Creates a date from its parts without checking them.
        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// `YYYY-MM-DD`.
        public var description: String {
            // Built by hand: String(format:) is a measurable share of ingest time.
            var out = [UInt8](repeating: 0x30, count: 10)
            var y = year
            for i in stride(from: 3, through: 0, by: -1) {
                out[i] = UInt8(0x30 + y % 10)
                y /= 10
            }
            out[4] = 0x2d
            out[5] = UInt8(0x30 + month / 10)
            out[6] = UInt8(0x30 + month % 10)
            out[7] = 0x2d
            out[8] = UInt8(0x30 + day / 10)
            out[9] = UInt8(0x30 + day % 10)
            return String(decoding: out, as: UTF8.self)
        }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
        }
    }

    /// Why a string is not a valid IIN. The rule only, never the value.
    public enum ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not exactly twelve characters.
        case wrongLength
        /// A character that is not an ASCII digit.
        case notDigits
        /// The seventh digit is not 1 to 6.
        case badCenturyDigit
        /// `YYMMDD` with the century is not a calendar date.
        case badDate
        /// The check digit does not match, or the number is never issued.
        case badCheckDigit

        /// The rule that failed, in words.
        public var description: String {
            switch self {
            case .wrongLength: "IIN must be exactly 12 digits"
            case .notDigits: "IIN must contain only digits"
            case .badCenturyDigit: "IIN century/sex digit (7th) must be 1 to 6"
            case .badDate: "IIN birth date (digits 1-6) is not a calendar date"
            case .badCheckDigit: "IIN check digit (12th) does not match"
            }
        }
    }

    /// Validates `text` as an IIN.
    /// - Parameter text: the candidate, exactly 12 ASCII digits (no spaces).
    /// - Throws: `IIN.ValidationError` naming the first rule that fails.
    public init(validating text: some StringProtocol) throws(ValidationError) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 12 else { throw .wrongLength }
        var d = [Int](repeating: 0, count: 12)
        for (i, byte) in utf8.enumerated() {
            guard byte >= 0x30, byte <= 0x39 else { throw .notDigits }
            d[i] = Int(byte - 0x30)
        }
        let century: Int
        switch d[6] {
        case 1, 2: century = 1800
        case 3, 4: century = 1900
        case 5, 6: century = 2000
        default: throw .badCenturyDigit
        }
        let year = century + d[0] * 10 + d[1]
        let month = d[2] * 10 + d[3]
        let day = d[4] * 10 + d[5]
        guard month >= 1, month <= 12, day >= 1, day <= Self.daysIn(month: month, year: year) else {
            throw .badDate
        }
        guard let check = Self.checkDigit(d), check == d[11] else { throw .badCheckDigit }
        self.digits = String(decoding: utf8, as: UTF8.self)
        self.birthDate = BirthDate(year: year, month: month, day: day)
        self.sex = d[6] % 2 == 1 ? .male : .female
    }

    /// The check digit for the first eleven digits, or nil when the number is never issued.
    /// - Parameter d: at least eleven digit values.
    public static func checkDigit(_ d: [Int]) -> Int? {
        var sum = 0
        for i in 0..<11 { sum += d[i] * (i + 1) }
        var check = sum % 11
        if check == 10 {
            let weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
            sum = 0
            for i in 0..<11 { sum += d[i] * weights[i] }
            check = sum % 11
            if check == 10 { return nil }
        }
        return check
    }

    /// Days in a month of the proleptic Gregorian calendar.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Redacted: an IIN never prints itself.
    public var description: String { "IIN(redacted)" }
}
