import Foundation
import ShanyrakCore
import Testing

/// `CivilDate` against Foundation's Gregorian calendar in UTC, an independent implementation.
struct CivilDateTests {
    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    @Test("day numbers and dates agree with the calendar from 1600 to 2400")
    func daysAndDates() {
        let first = CivilDate.days(year: 1600, month: 3, day: 1)
        let last = CivilDate.days(year: 2400, month: 2, day: 29)
        var day = first
        while day <= last {
            let date = Date(timeIntervalSince1970: Double(day) * 86_400)
            let c = Self.utcCalendar.dateComponents([.year, .month, .day], from: date)
            let civil = CivilDate.civil(day)
            #expect(civil == (c.year!, c.month!, c.day!), "day \(day)")
            #expect(CivilDate.days(year: civil.year, month: civil.month, day: civil.day) == day)
            day += 97
        }
    }

    @Test("known day numbers")
    func knownDays() {
        #expect(CivilDate.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilDate.days(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilDate.civil(11_016) == (2000, 2, 29))
        #expect(CivilDate.string(-25_567) == "1900-01-01")
        #expect(CivilDate.string(20_785) == "2026-11-28")
    }

    @Test("an instant's UTC day, before and after 1970 and at midnight")
    func instants() {
        #expect(CivilDate.day(secondsSince1970: 0) == 0)
        #expect(CivilDate.day(secondsSince1970: 86_399.9) == 0)
        #expect(CivilDate.day(secondsSince1970: 86_400) == 1)
        #expect(CivilDate.day(secondsSince1970: -0.5) == -1)
        #expect(CivilDate.day(secondsSince1970: -86_400) == -1)
        #expect(CivilDate.day(secondsSince1970: -86_400.5) == -2)
    }

    @Test("completed years turn on the birthday, and on 1 March for 29 February in other years")
    func ages() {
        let born = CivilDate.days(year: 2000, month: 2, day: 29)
        #expect(CivilDate.age(born: born, on: CivilDate.days(year: 2018, month: 2, day: 28)) == 17)
        #expect(CivilDate.age(born: born, on: CivilDate.days(year: 2018, month: 3, day: 1)) == 18)
        #expect(CivilDate.age(born: born, on: CivilDate.days(year: 2020, month: 2, day: 29)) == 20)
        #expect(CivilDate.age(born: born, on: born - 1) == -1)
        #expect(CivilDate.age(born: (1990, 6, 15), on: (2026, 6, 14)) == 35)
        #expect(CivilDate.age(born: (1990, 6, 15), on: (2026, 6, 15)) == 36)
    }
}
