import Logging
import Foundation
import Hummingbird
import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaNode
import KizunaStorage

/// The open pages (Network, Money, Programs, Statutory) and Settlements. Figures come from
/// the state's maintained counters (supply, programs, settlement records, the recorded
/// base-date balances) and the console's summaries (`ConsoleIndex`); docs/console.md lists
/// what each page reads.
extension Console {
    // MARK: - Network

    func networkPage(_ context: PageRequest) async throws -> PageResult {
        let text = context.text
        let tip = try node.tip()
        let signers = Set(try node.certificate(at: tip.height)?.signatures.map(\.validator) ?? [])
        var interval = "—"
        let span = min(tip.height > 0 ? tip.height - 1 : 0, 20)
        if span > 0, let older = try node.header(at: tip.height - span) {
            let milliseconds = (tip.timestamp - older.timestamp) / span
            interval = "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s"
        }
        let validators: [[String: Any]] = try node.validatorSet(at: tip.height + 1).validators.map { validator in
            ["name": validator.name, "organisation": validator.organisation, "power": Self.number(validator.votingPower),
             "online": tip.height > 0 && signers.contains(validator.publicKey),
             "missed": Self.number(UInt64(max(0, node.metrics.value("kizuna_missed_precommits_total", label: validator.name) ?? 0)))]
        }
        let minutes = index.perMinute(tipTime: tip.timestamp)
        let chart = SVGChart.line(
            title: text["blocksPerMinute"]!,
            series: [
                SVGChart.Series(name: text["blocks"]!, points: minutes.map { .init(x: Int64($0.minute), y: Int64($0.value.blocks), label: Self.clock(minute: $0.minute)) }),
                SVGChart.Series(name: text["transactions"]!, points: minutes.map { .init(x: Int64($0.minute), y: Int64($0.value.transactions), label: Self.clock(minute: $0.minute)) }),
            ],
            xLabel: { Self.clock(minute: UInt64($0)) }, yLabel: { Self.number(UInt64(max($0, 0))) }, emptyText: "—"
        )
        return PageResult(title: text["network"]!, template: "network", data: [
            "tipHeight": Self.number(tip.height), "lastCommit": tip.height > 0 ? Self.time(tip.timestamp) : "—", "blockInterval": interval,
            "peers": Self.number(UInt64(max(0, node.metrics.value("kizuna_peers") ?? 0))), "mempool": Self.number(UInt64(await node.pendingCount)),
            "validators": validators, "chart": chart, "tipHash": tip.hash.hex,
        ])
    }

    // MARK: - Money

    func moneyPage(_ context: PageRequest) throws -> PageResult {
        let text = context.text
        let supply = try LedgerReports(store: try node.chain(at: nil).store, genesis: node.genesis).supply()
        let samples = Self.thin(index.samples, to: 120)
        let supplyChart = SVGChart.line(
            title: text["supplyOverTime"]!,
            series: Asset.allCases.enumerated().map { position, asset in
                SVGChart.Series(name: text[asset.name]!, points: samples.map { .init(x: Int64($0.time / 1000), y: Int64(clamping: $0.outstanding[position]), label: Self.time($0.time)) })
            },
            xLabel: { Self.shortTime(UInt64($0) * 1000) }, yLabel: { Self.number(UInt64(max($0, 0))) }, emptyText: "—"
        )
        // nil: computed for the first time since the node started, by another request or the
        // console service; the page says so instead of waiting for it.
        let aggregates = try index.recentAggregates()
        let closedDays = aggregates?.days ?? []
        let days = closedDays.reversed().map { day -> [String: Any] in
            ["day": Self.day(day.day), "suppressed": day.total.suppressed,
             "payments": Self.number(UInt64(day.total.payments ?? 0)), "yen": Self.yen(day.total.yen ?? 0), "residents": Self.number(UInt64(day.total.residents ?? 0))]
        }
        let visibleDays = closedDays.filter { !$0.total.suppressed }
        let dayChart = SVGChart.bars(
            title: text["paymentsPerDay"]!, names: [text["payments"]!],
            groups: visibleDays.map { (label: String(Self.day($0.day).dropFirst(5)), values: [Int64(clamping: $0.total.payments ?? 0)]) },
            yLabel: { Self.number(UInt64(max($0, 0))) }, emptyText: text["suppressed"]! + " / —"
        )
        // Sums of published cells only: a sum of publishable figures is publishable.
        var categories: [String: (payments: Int, yen: UInt64)] = [:]
        for day in closedDays {
            for group in day.byMerchantCategory where !group.suppressed {
                categories[group.key, default: (0, 0)].payments += group.payments ?? 0
                categories[group.key, default: (0, 0)].yen += group.yen ?? 0
            }
        }
        let categoryKeys = categories.keys.sorted()
        let categoryChart = SVGChart.bars(
            title: text["categoryBreakdown"]!, names: [text["yen"]!],
            groups: categoryKeys.map { (label: $0, values: [Int64(clamping: categories[$0]!.yen)]) },
            yLabel: { Self.yen(UInt64(max($0, 0))) }, emptyText: "—"
        )
        return PageResult(title: text["money"]!, template: "money", data: [
            "cards": supply.map { ["label": "\(text[$0.asset]!) (\(text["outstanding"]!))", "value": Self.number($0.outstanding)] },
            "supply": supply.map { row -> [String: Any] in
                ["label": text[row.asset]!, "minted": Self.number(row.minted), "redeemed": Self.number(row.redeemed), "refunded": Self.number(row.refunded),
                 "expired": Self.number(row.expired), "outstanding": Self.number(row.outstanding)]
            },
            "supplyChart": supplyChart, "dayChart": dayChart, "days": days, "categoryChart": categoryChart,
            "categories": categoryKeys.map { ["key": $0, "payments": Self.number(UInt64(categories[$0]!.payments)), "yen": Self.yen(categories[$0]!.yen)] },
            "threshold": "\(aggregates?.minimumResidents ?? ChainReports.minimumResidentsPerGroup)", "computing": aggregates == nil,
        ])
    }

    // MARK: - Programs

    /// The window over which the current rate of granting is measured.
    static let rateWindowMilliseconds: UInt64 = 7 * 86_400_000
    /// Projections further out than this are "not foreseeable".
    static let projectionHorizonMilliseconds: UInt64 = 3 * 365 * 86_400_000

    func programsPage(_ context: PageRequest) throws -> PageResult {
        let text = context.text
        let programs = try LedgerReports(store: try node.chain(at: nil).store, genesis: node.genesis).programs()
        let samples = index.samples
        let rows = programs.map { program -> [String: Any] in
            let points = samples.compactMap { sample in sample.programs.first { $0.id == program.id }.map { (time: sample.time, point: $0) } }
            // A program without a budget (the charge bonus of genesis) has no burn-down: its
            // chart shows what it granted.
            let unlimited = program.budget == UInt64.max
            var series = [SVGChart.Series(name: text[unlimited ? "granted" : "remaining"]!, points: Self.thin(points, to: 120).map {
                .init(x: Int64($0.time / 1000), y: Int64(clamping: unlimited ? $0.point.granted : $0.point.remaining), label: Self.time($0.time))
            })]
            var runOutText = text["noRate"]!
            if let closedAt = program.closedAt {
                runOutText = "\(text["programClosed"]!) \(Self.day(LedgerCalendar.japanDayAndHour(closedAt).day))"
            } else if unlimited {
                runOutText = text["unlimited"]!
            } else if program.remaining == 0 {
                runOutText = text["exhausted"]!
            } else if let runOut = Self.runOut(remaining: program.remaining, points: points.map { ($0.time, $0.point.granted) }), let last = points.last {
                if runOut - last.time > Self.projectionHorizonMilliseconds {
                    runOutText = text["beyondHorizon"]!
                } else {
                    runOutText = Self.day(LedgerCalendar.japanDayAndHour(runOut).day)
                    series.append(SVGChart.Series(name: text["projection"]!, points: [
                        .init(x: Int64(last.time / 1000), y: Int64(clamping: program.remaining), label: Self.time(last.time)),
                        .init(x: Int64(runOut / 1000), y: 0, label: Self.time(runOut)),
                    ], dashed: true))
                }
            }
            // The period's end comes first when the budget would outlast it.
            if program.closedAt == nil, let endsAt = program.endsAt, runOutText != text["exhausted"]! {
                runOutText += " (\(text["periodEnds"]!) \(Self.day(LedgerCalendar.japanDayAndHour(endsAt - 1).day)))"
            }
            let delegates = program.delegates.map { delegate -> [String: Any] in
                let state = delegate.revokedAt != nil ? text["revoked"]! : (delegate.expiresAt.map { "\(text["until"]!) \(Self.day(LedgerCalendar.japanDayAndHour($0 - 1).day))" } ?? "")
                return ["address": String(delegate.address.prefix(14)) + "…", "budget": Self.number(delegate.budget), "granted": Self.number(delegate.granted),
                        "remaining": Self.number(delegate.remaining), "state": state]
            }
            let chart = SVGChart.line(title: "#\(program.id) \(program.name) — \(text[unlimited ? "granted" : "burnDown"]!)", series: series,
                                      xLabel: { Self.shortTime(UInt64($0) * 1000) }, yLabel: { Self.number(UInt64(max($0, 0))) }, emptyText: "—")
            let share = unlimited || program.budget == 0 || program.granted > program.budget ? nil : program.budget.dividingFullWidth(program.granted.multipliedFullWidth(by: 1000)).quotient
            return ["id": "\(program.id)", "name": program.name, "asset": text[program.asset] ?? program.asset,
                    "budget": unlimited ? text["unlimited"]! : Self.number(program.budget), "granted": Self.number(program.granted), "used": Self.number(program.used),
                    "expired": Self.number(program.expired), "remaining": unlimited ? "—" : Self.number(program.remaining),
                    "share": share.map { "\($0 / 10).\($0 % 10)%" } ?? "—", "runOut": runOutText, "chart": chart,
                    "heading": text[unlimited ? "granted" : "burnDown"]!, "delegates": delegates, "hasDelegates": !delegates.isEmpty]
        }
        return PageResult(title: text["programs"]!, template: "programs", data: ["programs": rows, "hasPrograms": !rows.isEmpty])
    }

    /// When `remaining` runs out at the rate of granting over the last week of `points`
    /// (time, granted), by integer arithmetic; nil when nothing was granted in that window.
    static func runOut(remaining: UInt64, points: [(time: UInt64, granted: UInt64)]) -> UInt64? {
        guard let last = points.last else { return nil }
        let since = last.time > rateWindowMilliseconds ? last.time - rateWindowMilliseconds : 0
        guard let first = points.first(where: { $0.time >= since }), last.time > first.time, last.granted > first.granted else { return nil }
        // remaining × elapsed / granted-in-window, in 128 bits.
        let product = remaining.multipliedFullWidth(by: last.time - first.time)
        let divisor = last.granted - first.granted
        guard product.high < divisor else { return UInt64.max }
        let (quotient, _) = divisor.dividingFullWidth(product)
        let (sum, overflow) = last.time.addingReportingOverflow(quotient)
        return overflow ? UInt64.max : sum
    }

    // MARK: - Statutory

    func statutoryPage(_ context: PageRequest) throws -> PageResult {
        let text = context.text
        // A consistent pair of tip and report: read the tip again after the report.
        var attempt = 0
        while true {
            attempt += 1
            let tip = try node.tip()
            let today = LedgerCalendar.japanDayAndHour(max(tip.timestamp, node.genesis.genesisTime)).day
            let firstYear = Int64(LedgerCalendar.japanDayAndHour(node.genesis.genesisTime).day / 10_000)
            var dates: [String] = []
            var year = firstYear
            while year <= Int64(today / 10_000) + 1 {
                for (month, day) in [(3, 31), (9, 30)] where UInt32(year * 10_000 + Int64(month * 100 + day)) >= LedgerCalendar.japanDayAndHour(node.genesis.genesisTime).day {
                    dates.append("\(year)-\(month < 10 ? "0" : "")\(month)-\(day)")
                }
                year += 1
            }
            // The default: the latest base date that is over, else the next one.
            let past = dates.filter { Int($0.replacingOccurrences(of: "-", with: ""))! < Int(today) }
            let chosen = context.query("date") ?? past.last ?? dates.first ?? ""
            let parts = chosen.split(separator: "-")
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                  let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]) else {
                throw ConsoleError(.badDate, context.language == .ja ? "基準日 '\(chosen)' は YYYY-MM-DD の形ではありません。" : "the base date '\(chosen)' is not in the form YYYY-MM-DD")
            }
            guard let report = try LedgerReports(store: try node.chain(at: nil).store, genesis: node.genesis).unusedBalance(year: y, month: m, day: d) else {
                throw ConsoleError(.badDate, context.language == .ja ? "\(chosen) は基準日ではありません。基準日は3月31日と9月30日です。" : "\(chosen) is not a base date; base dates are 31 March and 30 September")
            }
            guard try node.tip().height == tip.height || attempt >= 5 else { continue }
            return PageResult(title: text["statutory"]!, template: "statutory", data: [
                "dates": dates.map { ["value": $0, "selected": $0 == chosen] },
                "report": [
                    "baseDate": report.baseDate, "closedValue": report.closed ? "true" : "false",
                    "statusLabel": report.closed ? text["closed"]! : text["provisional"]!,
                    "outstandingYen": "\(report.outstandingYen)", "outstanding": Self.yen(report.outstandingYen),
                    "depositRequiredYen": "\(report.depositRequiredYen)", "deposit": Self.yen(report.depositRequiredYen),
                    "refundLimitYen": "\(report.refundLimitFromUnusedYen)", "refundLimit": Self.yen(report.refundLimitFromUnusedYen),
                    "reportHeight": "\(tip.height)", "blockHash": tip.hash.hex, "blockTime": tip.height > 0 ? Self.time(tip.timestamp) : "—",
                    "chainId": node.genesis.chainId,
                ] as [String: Any],
            ])
        }
    }

    // MARK: - Settlements

    static let merchantsListed = 50

    func settlementsPage(_ context: PageRequest) throws -> PageResult {
        let text = context.text
        let chain = try node.chain(at: nil)
        var data: [String: Any] = ["merchant": context.query("merchant") ?? ""]
        // Merchants with settlement records: a skip-scan, one seek per merchant.
        var merchants: [[String: Any]] = []
        var cursor: [UInt8] = [StateKey.settlementPrefix]
        while merchants.count < Self.merchantsListed {
            var found: PublicKey?
            try chain.store.scan(.state, from: cursor, prefix: [StateKey.settlementPrefix]) { key, _ in
                found = key.count >= 33 ? PublicKey(Array(key[1..<33])) : nil
                return false
            }
            guard let merchant = found else { break }
            merchants.append(["address": merchant.address.description, "category": (try chain.account(merchant)?.merchantCategory) ?? ""])
            cursor = [StateKey.settlementPrefix] + merchant.bytes + [UInt8](repeating: 0xFF, count: 16)
        }
        data["merchants"] = merchants
        data["hasMerchants"] = !merchants.isEmpty
        if let text = context.query("merchant"), !text.isEmpty {
            let key: PublicKey
            do {
                key = try Address(parsing: text.trimmingCharacters(in: .whitespaces)).publicKey
            } catch {
                throw ConsoleError(.badQuery, context.language == .ja ? "'\(text)' は加盟店のアドレス(kz1…)ではありません。" : "'\(text)' is not a merchant address (kz1…)")
            }
            guard let statement = try LedgerReports(store: chain.store, genesis: node.genesis).settlements(merchant: key) else {
                throw ConsoleError(.notFound, context.language == .ja ? "\(text) は登録された加盟店ではありません。" : "\(text) is not a registered merchant")
            }
            func line(_ line: LedgerReports.Statement.Line) -> [String: Any] {
                ["asset": line.asset, "funder": line.funder, "gross": Self.number(line.gross), "fee": Self.number(line.fee), "net": Self.number(line.net)]
            }
            data["statement"] = [
                "merchant": statement.merchant, "unredeemedCoin": Self.number(statement.unredeemedCoin), "unredeemedPoint": Self.number(statement.unredeemedPoint),
                "totals": statement.totalsByFunder.map(line),
                "settlements": statement.settlements.reversed().map { settlement -> [String: Any] in
                    ["lines": settlement.lines.map { item -> [String: Any] in
                        line(item).merging(["sequence": "\(settlement.sequence)", "time": String(settlement.time.prefix(19)).replacingOccurrences(of: "T", with: " "), "reference": settlement.reference]) { current, _ in current }
                    }]
                },
            ] as [String: Any]
        }
        return PageResult(title: text["settlements"]!, template: "settlements", data: data)
    }

    // MARK: - Formatting

    /// 1234567 → "1,234,567".
    static func number(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var result = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    static func yen(_ value: UInt64) -> String { "¥" + number(value) }

    /// UTC milliseconds → "2026-04-01 09:00:00" (Japan time).
    static func time(_ milliseconds: UInt64) -> String {
        String(CivilTime.formatJapan(milliseconds: milliseconds).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    /// UTC milliseconds → "04-01 09:00" (Japan time), for chart axes.
    static func shortTime(_ milliseconds: UInt64) -> String {
        String(time(milliseconds).dropFirst(5).prefix(11))
    }

    /// A minute since 1970 → "09:05" (Japan time).
    static func clock(minute: UInt64) -> String {
        let local = (minute * 60 + UInt64(CivilTime.japanOffsetSeconds)) % 86_400
        let hour = local / 3600, minutes = local % 3600 / 60
        return "\(hour < 10 ? "0" : "")\(hour):\(minutes < 10 ? "0" : "")\(minutes)"
    }

    /// yyyymmdd → "yyyy-mm-dd".
    static func day(_ day: UInt32) -> String {
        let month = day / 100 % 100, date = day % 100
        return "\(day / 10_000)-\(month < 10 ? "0" : "")\(month)-\(date < 10 ? "0" : "")\(date)"
    }

    /// At most `count` elements, evenly spread, always keeping the last.
    static func thin<T>(_ values: [T], to count: Int) -> [T] {
        guard values.count > count, count > 1 else { return values }
        return (0..<count).map { values[$0 * (values.count - 1) / (count - 1)] }
    }
}
