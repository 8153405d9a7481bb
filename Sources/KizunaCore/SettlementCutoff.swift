/// The settlement file's cut-off (docs/settlement-file.md): a redemption at or after it
/// (Japan time) is settled the next day.
public struct SettlementCutoff: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after Japan-time midnight, 0…1439.
    public var minutes: Int

    /// 15:00, the usual same-day transfer cut-off of Japanese banks.
    public static let standard = SettlementCutoff(minutes: 15 * 60)

    public init(minutes: Int) { self.minutes = minutes }

    /// Parses `HH:MM` (00:00…23:59).
    public init?(text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let hours = Int(parts[0]), let minutes = Int(parts[1]), hours < 24, minutes < 60 else { return nil }
        self.minutes = hours * 60 + minutes
    }

    public var description: String {
        let (hours, minutes) = (self.minutes / 60, self.minutes % 60)
        return "\(hours < 10 ? "0" : "")\(hours):\(minutes < 10 ? "0" : "")\(minutes)"
    }
}
