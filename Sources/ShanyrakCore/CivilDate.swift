/// Day arithmetic on the proleptic Gregorian calendar, in days since 1970-01-01
/// (Howard Hinnant's `days_from_civil` and `civil_from_days`), with no time zones.
///
/// The generator draws birth and observation days with it, and the access path computes age
/// bands with it: a `Calendar` per member cost more than the rest of an age band.
public enum CivilDate {
    /// Days since 1970-01-01 of a calendar date.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date of a day number.
    public static func civil(_ dayNumber: Int) -> (year: Int, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// The day number (UTC) of an instant given in seconds since 1970-01-01T00:00:00Z.
    public static func day(secondsSince1970 seconds: Double) -> Int {
        Int((seconds / 86_400).rounded(.down))
    }

    /// Completed years between a birth day and a reference day.
    public static func age(born: Int, on reference: Int) -> Int {
        age(born: civil(born), on: civil(reference))
    }

    /// Completed years between a birth date and a reference date: negative when born after it.
    public static func age(
        born: (year: Int, month: Int, day: Int), on reference: (year: Int, month: Int, day: Int)
    ) -> Int {
        var years = reference.year - born.year
        if (reference.month, reference.day) < (born.month, born.day) { years -= 1 }
        return years
    }

    /// `YYYY-MM-DD`.
    public static func string(_ dayNumber: Int) -> String {
        let c = civil(dayNumber)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }
}
