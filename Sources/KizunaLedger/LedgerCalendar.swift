public import KizunaCore

/// The dates the rules use, in Japan time, from block timestamps (integers only).
public enum LedgerCalendar {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// UTC milliseconds of 00:00 Japan time on the first day of month (year, month), where
    /// month may run past 12 (it carries into the years).
    public static func startOfMonth(year: Int64, monthIndexFromZero month: Int64) -> UInt64 {
        let normalizedYear = year + month / 12
        let normalizedMonth = month % 12 + 1
        let days = CivilTime.daysFromCivil(year: normalizedYear, month: normalizedMonth, day: 1)
        return UInt64(days * millisecondsPerDay - CivilTime.japanOffsetSeconds * 1000)
    }

    static func japanDate(_ milliseconds: UInt64) -> (year: Int64, month: Int64, day: Int64) {
        let local = Int64(milliseconds / 1000) + CivilTime.japanOffsetSeconds
        return CivilTime.civilFromDays(local / 86_400)
    }

    /// The instant at which value expires under "the end of the month `months` months after
    /// `time`": 00:00 Japan time on the first day of the month after that month.
    public static func endOfMonth(monthsAfter months: UInt32, from time: UInt64) -> UInt64 {
        let date = japanDate(time)
        return startOfMonth(year: date.year, monthIndexFromZero: date.month - 1 + Int64(months) + 1)
    }

    /// 00:00 Japan time of the day after a Japan-time date (a use-by date's expiry instant).
    static func startOfDay(after date: (year: Int64, month: Int64, day: Int64)) -> UInt64 {
        let days = CivilTime.daysFromCivil(year: date.year, month: date.month, day: date.day) + 1
        return UInt64(days * 86_400 - CivilTime.japanOffsetSeconds) * 1000
    }

    /// The expiry instant of value changed or granted at `time` under `rule` (a use-by date
    /// that is not a calendar date gives 0: `create_program` refuses such a rule).
    public static func expiry(_ rule: ExpiryRule, from time: UInt64) -> UInt64 {
        switch rule.kind {
        case .never: UInt64.max
        case .endOfMonthAfterLastChange, .endOfMonthAfterGrant: endOfMonth(monthsAfter: rule.months, from: time)
        case .useByDate: rule.useByDay.map { startOfDay(after: $0) } ?? 0
        }
    }

    /// The statutory base period containing `time`: half-years April–September and
    /// October–March, numbered year × 2 (+1 for the October half). Base dates are the last
    /// days of the periods: 30 September and 31 March.
    public static func basePeriod(_ time: UInt64) -> UInt32 {
        let date = japanDate(time)
        switch date.month {
        case 4...9: return UInt32(date.year * 2)
        case 10...12: return UInt32(date.year * 2 + 1)
        default: return UInt32((date.year - 1) * 2 + 1)
        }
    }

    /// The base date that closes a period, as (year, month, day).
    public static func baseDate(closing period: UInt32) -> (year: Int64, month: Int64, day: Int64) {
        let year = Int64(period / 2)
        return period % 2 == 0 ? (year, 9, 30) : (year + 1, 3, 31)
    }

    /// The period closed by a base date given as yyyy-mm-dd; nil unless it is 31 March or 30 September.
    public static func period(closedBy year: Int64, month: Int64, day: Int64) -> UInt32? {
        switch (month, day) {
        case (9, 30): UInt32(year * 2)
        case (3, 31): UInt32((year - 1) * 2 + 1)
        default: nil
        }
    }

    /// Japan-time date of a timestamp as yyyymmdd and its hour.
    public static func japanDayAndHour(_ time: UInt64) -> (day: UInt32, hour: UInt8) {
        let local = Int64(time / 1000) + CivilTime.japanOffsetSeconds
        let date = CivilTime.civilFromDays(local / 86_400)
        return (UInt32(date.year * 10_000 + date.month * 100 + date.day), UInt8(local % 86_400 / 3600))
    }

    /// The Japan-time day before `day` (both yyyymmdd); nil before 1970-01-02 or for a
    /// number that is not a date.
    public static func dayBefore(_ day: UInt32) -> UInt32? {
        let year = Int64(day / 10_000), month = Int64(day / 100 % 100), date = Int64(day % 100)
        let days = CivilTime.daysFromCivil(year: year, month: month, day: date)
        guard days >= 1, CivilTime.civilFromDays(days) == (year, month, date) else { return nil }
        let before = CivilTime.civilFromDays(days - 1)
        return UInt32(before.year * 10_000 + before.month * 100 + before.day)
    }
}
