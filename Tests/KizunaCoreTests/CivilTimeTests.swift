import Foundation
import KizunaCore
import Testing

@Suite("Civil time (Japan, integers only)")
struct CivilTimeTests {
    @Test func knownDays() {
        #expect(CivilTime.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilTime.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilTime.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilTime.daysFromCivil(year: 2026, month: 4, day: 1) == 20_544)
        #expect(CivilTime.daysFromCivil(year: 1, month: 1, day: 1) == -719_162)
        #expect(CivilTime.daysFromCivil(year: 9999, month: 12, day: 31) == 2_932_896)
        #expect(CivilTime.civilFromDays(20_544) == (2026, 4, 1))
        #expect(CivilTime.civilFromDays(-1) == (1969, 12, 31))
    }

    @Test func roundTripOverAWideRange() {
        // From about 1800 to 2250, every day, and a coarser sweep over ±1,000,000 days.
        var expected = CivilTime.civilFromDays(-62_000)
        for days in Int64(-62_000)...Int64(102_000) {
            let date = CivilTime.civilFromDays(days)
            if date != expected {
                Issue.record("day \(days): \(date) is not the day after the previous one")
                return
            }
            #expect(CivilTime.daysFromCivil(year: date.year, month: date.month, day: date.day) == days)
            // The next day.
            let monthLength: Int64 = switch date.month {
            case 2: (date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0)) ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
            if date.day < monthLength {
                expected = (date.year, date.month, date.day + 1)
            } else if date.month < 12 {
                expected = (date.year, date.month + 1, 1)
            } else {
                expected = (date.year + 1, 1, 1)
            }
        }
        for days in stride(from: Int64(-1_000_000), through: 1_000_000, by: 997) {
            let date = CivilTime.civilFromDays(days)
            #expect(CivilTime.daysFromCivil(year: date.year, month: date.month, day: date.day) == days)
        }
    }

    @Test func japanYearMonthAtBoundaries() throws {
        let lastMarch = try #require(CivilTime.parseRFC3339("2026-03-31T14:59:59Z")) + 999
        let firstApril = try #require(CivilTime.parseRFC3339("2026-03-31T15:00:00Z"))
        #expect(lastMarch + 1 == firstApril)
        #expect(CivilTime.japanYearMonth(milliseconds: lastMarch) == 202_603)
        #expect(CivilTime.japanYearMonth(milliseconds: firstApril) == 202_604)
        // New year in Japan is 15:00 UTC on 31 December.
        #expect(CivilTime.japanYearMonth(milliseconds: try #require(CivilTime.parseRFC3339("2026-12-31T14:59:59Z"))) == 202_612)
        #expect(CivilTime.japanYearMonth(milliseconds: try #require(CivilTime.parseRFC3339("2026-12-31T15:00:00Z"))) == 202_701)
        #expect(CivilTime.japanYearMonth(milliseconds: try #require(CivilTime.parseRFC3339("2027-01-01T00:00:00+09:00"))) == 202_701)
        #expect(CivilTime.japanYearMonth(milliseconds: 0) == 197_001)
        // Leap day.
        #expect(CivilTime.japanYearMonth(milliseconds: try #require(CivilTime.parseRFC3339("2028-02-29T23:59:59+09:00"))) == 202_802)
        #expect(CivilTime.japanYearMonth(milliseconds: try #require(CivilTime.parseRFC3339("2028-03-01T00:00:00+09:00"))) == 202_803)
    }

    @Test func parseRFC3339Accepts() {
        #expect(CivilTime.parseRFC3339("1970-01-01T00:00:00Z") == 0)
        #expect(CivilTime.parseRFC3339("1970-01-01T09:00:00+09:00") == 0)
        #expect(CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00") == 1_774_969_200_000)
        #expect(CivilTime.parseRFC3339("2026-03-31T15:00:00Z") == 1_774_969_200_000)
        #expect(CivilTime.parseRFC3339("2026-03-31T10:00:00-05:00") == 1_774_969_200_000)
        #expect(CivilTime.parseRFC3339("2026-04-01T09:00:00+09:00") == Fixtures.exampleTime)
        #expect(CivilTime.parseRFC3339("2000-02-29T00:00:00Z") != nil)
        #expect(CivilTime.parseRFC3339("2024-02-29T00:00:00Z") != nil)
        #expect(CivilTime.parseRFC3339("2026-12-31T23:59:59+23:59") != nil)
    }

    @Test func parseRFC3339Refuses() {
        for text in [
            "", "2026-04-01", "2026-04-01T00:00:00", "2026-04-01 00:00:00Z", "2026-04-01t00:00:00Z",
            "2026-04-01T00:00:00z", "2026-04-01T00:00:00.000Z", "2026-04-01T00:00:00+0900", "2026-04-01T00:00:00+09:00:00",
            "2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:60Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+09:60", "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01", "+026-04-01T00:00:00Z", "２０２６-04-01T00:00:00Z", "2026-04-01T00:00:00?09:00",
        ] {
            #expect(CivilTime.parseRFC3339(text) == nil, "\(text)")
        }
    }

    @Test func formatJapan() {
        #expect(CivilTime.formatJapan(milliseconds: 0) == "1970-01-01T09:00:00.000+09:00")
        #expect(CivilTime.formatJapan(milliseconds: 1_774_969_200_000) == "2026-04-01T00:00:00.000+09:00")
        #expect(CivilTime.formatJapan(milliseconds: 1_774_969_199_999) == "2026-03-31T23:59:59.999+09:00")
        for milliseconds: UInt64 in [0, 1_000, 86_399_000, Fixtures.exampleTime, 4_102_444_800_000] {
            let text = CivilTime.formatJapan(milliseconds: milliseconds).replacingOccurrences(of: ".000+", with: "+")
            #expect(CivilTime.parseRFC3339(text) == milliseconds, "\(text)")
        }
    }
}
