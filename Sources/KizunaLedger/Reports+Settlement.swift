public import KizunaCore
public import KizunaStorage

/// The daily settlement file per funder (issue 21, docs/settlement-file.md): every
/// redemption line a funder owes, for one settlement day, as a CSV a bank can import.
extension LedgerReports {
    /// One line of the file: one settlement line owed by the funder.
    public struct SettlementFileLine: Sendable, Equatable {
        public var merchant: PublicKey
        public var merchantCategory: String
        public var sequence: UInt64
        public var redeemedAt: UInt64
        public var reference: String
        public var asset: Asset
        public var gross: Amount
        public var fee: Amount
        public var net: Amount
    }

    public struct SettlementFile: Sendable, Equatable {
        public var funder: PublicKey
        /// Japan-time settlement day, yyyymmdd.
        public var day: UInt32
        public var cutoff: SettlementCutoff
        /// The redemptions covered: block time in [from, to) (UTC ms).
        public var from: UInt64
        public var to: UInt64
        /// True when the state is from a block at or after `to`: no later block can add a line.
        public var final: Bool
        public var chainId: String
        /// Sorted by redemption time, then merchant, then sequence.
        public var lines: [SettlementFileLine]
    }

    /// The settlement file of `funder` for Japan-time day `year-month-day`, as of the state
    /// of a block at `asOf` (its timestamp). Cost: a scan of every settlement record.
    public func settlementFile(funder: PublicKey, year: Int64, month: Int64, day: Int64, cutoff: SettlementCutoff, asOf: UInt64) throws -> SettlementFile {
        let midnight = UInt64(max(0, CivilTime.daysFromCivil(year: year, month: month, day: day) * 86_400_000 - 9 * 3_600_000))
        let to = midnight + UInt64(cutoff.minutes) * 60_000
        let from = to >= 86_400_000 ? to - 86_400_000 : 0
        var lines: [SettlementFileLine] = []
        var categories: [PublicKey: String] = [:]
        try store.scan(.state, from: [StateKey.settlementPrefix], prefix: [StateKey.settlementPrefix]) { _, value in
            let record = try SettlementRecord(storedBytes: value)
            guard record.timestamp >= from, record.timestamp < to else { return true }
            for line in record.lines where line.funder == funder {
                if categories[record.merchant] == nil {
                    categories[record.merchant] = try overlay.account(record.merchant)?.merchantCategory ?? ""
                }
                lines.append(SettlementFileLine(merchant: record.merchant, merchantCategory: categories[record.merchant] ?? "", sequence: record.sequence, redeemedAt: record.timestamp,
                                                reference: record.reference, asset: line.asset, gross: line.gross, fee: line.fee, net: line.net))
            }
            return true
        }
        lines.sort { ($0.redeemedAt, $0.merchant, $0.sequence, $0.asset.rawValue) < ($1.redeemedAt, $1.merchant, $1.sequence, $1.asset.rawValue) }
        return SettlementFile(funder: funder, day: UInt32(year * 10_000 + month * 100 + day), cutoff: cutoff, from: from, to: to, final: asOf >= to, chainId: genesis.chainId, lines: lines)
    }
}

extension LedgerReports.SettlementFile {
    /// The CSV of docs/settlement-file.md: UTF-8, CRLF, one header record (H), one data
    /// record (D) per line, one trailer record (T) with the count and totals.
    public var csv: String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) ? "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : text
        }
        var rows: [[String]] = [["H", funder.address.description, "\(day)", cutoff.description, chainId, final ? "final" : "provisional",
                                 CivilTime.formatJapan(milliseconds: from), CivilTime.formatJapan(milliseconds: to)]]
        var gross: UInt64 = 0, fees: UInt64 = 0, net: UInt64 = 0
        for (index, line) in lines.enumerated() {
            rows.append(["D", "\(index + 1)", line.merchant.address.description, line.merchantCategory, "\(line.sequence)", CivilTime.formatJapan(milliseconds: line.redeemedAt),
                         line.reference, line.asset.name, "\(line.gross)", "\(line.fee)", "\(line.net)"])
            gross += line.gross
            fees += line.fee
            net += line.net
        }
        rows.append(["T", "\(lines.count)", "\(gross)", "\(fees)", "\(net)"])
        return rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
