/// Calendar arithmetic in integers only (no Foundation `Date`, no floating point), because
/// dates feed state transitions: the ledger evaluates months and base dates in Japan time
/// against the block timestamp.
public enum CivilTime {
    /// Japan Standard Time is UTC+9 with no daylight saving.
    public static let japanOffsetSeconds: Int64 = 9 * 3600

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let adjustedYear = month <= 2 ? year - 1 : year
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The (year, month, day) of a count of days since 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The Japan-time calendar month (e.g. 202604 for April 2026) of a UTC millisecond timestamp.
    public static func japanYearMonth(milliseconds: UInt64) -> UInt32 {
        let seconds = Int64(milliseconds / 1000) + japanOffsetSeconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let date = civilFromDays(days)
        return UInt32(date.year * 100 + date.month)
    }

    /// Parses an RFC 3339 timestamp with seconds and an explicit offset
    /// (`2026-04-01T00:00:00+09:00` or `…Z`), returning UTC milliseconds since 1970.
    public static func parseRFC3339(_ text: String) -> UInt64? {
        let characters = Array(text.utf8)
        guard characters.count == 20 || characters.count == 25 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let character = characters[index]
                guard character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(character - UInt8(ascii: "0"))
            }
            return value
        }
        guard characters[4] == UInt8(ascii: "-"), characters[7] == UInt8(ascii: "-"),
              characters[10] == UInt8(ascii: "T"), characters[13] == UInt8(ascii: ":"), characters[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        // Reject dates such as 31 April rather than rolling them over.
        let days = daysFromCivil(year: year, month: month, day: day)
        guard civilFromDays(days) == (year, month, day) else { return nil }
        var offset: Int64 = 0
        if characters.count == 20 {
            guard characters[19] == UInt8(ascii: "Z") else { return nil }
        } else {
            let sign = characters[19]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), characters[22] == UInt8(ascii: ":"),
                  let offsetHours = number(20..<22), let offsetMinutes = number(23..<25), offsetHours < 24, offsetMinutes < 60 else { return nil }
            offset = (offsetHours * 3600 + offsetMinutes * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
        }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        // Before 1970 has no millisecond count; from year 10000 in Japan time, `formatJapan`
        // would print a five-digit year that this parser refuses (a genesis written back
        // would not load).
        guard seconds >= 0, seconds + japanOffsetSeconds < daysFromCivil(year: 10_000, month: 1, day: 1) * 86_400 else { return nil }
        return UInt64(seconds) * 1000
    }

    /// Formats UTC milliseconds as RFC 3339 in Japan time, e.g. `2026-04-01T09:00:00.000+09:00`.
    public static func formatJapan(milliseconds: UInt64) -> String {
        let local = Int64(milliseconds / 1000) + japanOffsetSeconds
        let days = local / 86_400
        let secondsOfDay = local % 86_400
        let date = civilFromDays(days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(Int64(milliseconds % 1000), 3))+09:00"
    }
}
