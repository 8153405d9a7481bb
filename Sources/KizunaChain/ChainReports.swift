public import KizunaCore
public import KizunaStorage
public import KizunaLedger

/// Reports that need the chain, not only the tip's state: the state at an earlier height,
/// and payment aggregates from the committed blocks.
public enum ChainReports {
    /// The state as it was after block `height`, rebuilt by replaying blocks 1…height into
    /// memory, validating each one again (certificates, signatures, state roots).
    /// Cost: proportional to the chain up to `height`.
    public static func state(at height: UInt64, of blocks: BlockStore) throws -> BlockStore {
        let tip = try blocks.tipHeight()
        guard height <= tip else {
            throw ChainError(.wrongHeight, "height \(height) is above the tip \(tip)")
        }
        // No transaction or account-history index: the reports read the state and the blocks
        // (as the auditor's replica, `BlockStore.keepsIndexes`); they were half the replay's
        // inserts.
        let replica = try BlockStore(store: MemoryStore(), genesis: blocks.genesis, keepsIndexes: false)
        let validator = BlockValidator(blocks: replica)
        var next: UInt64 = 1
        while next <= height {
            guard let block = try blocks.block(at: next), let certificate = try blocks.certificate(at: next) else {
                throw ChainError(.missingBlock, "block \(next) is missing")
            }
            let validated = try validator.validate(block)
            try replica.commit(try replica.certify(validated, by: certificate))
            next += 1
        }
        return replica
    }

    /// One published cell: a group of one closed day's payments. The counts are nil when the
    /// cell is suppressed (docs/api.md §5, "Aggregates").
    public struct Group: Codable, Sendable, Equatable {
        public var key: String
        public var suppressed: Bool
        public var payments: Int?
        public var yen: UInt64?
        public var residents: Int?
    }

    /// One closed day: its total and its four breakdowns.
    public struct Day: Codable, Sendable, Equatable {
        /// Japan-time date, yyyymmdd.
        public var day: UInt32
        /// The day's total (suppressed when fewer than the threshold of residents paid).
        public var total: Group
        public var byMerchantCategory: [Group]
        public var byHour: [Group]
        public var byDistrict: [Group]
        public var byAgeBand: [Group]
        /// Payments by the payer's role: `resident` and `visitor`, counted apart (issue 21).
        public var byPayerRole: [Group]
    }

    public struct Aggregates: Codable, Sendable, Equatable {
        /// Japan-time dates, yyyymmdd, inclusive, as asked.
        public var fromDay: UInt32
        public var toDay: UInt32
        /// The last closed day at the height asked (the day before its block's day); nil when
        /// no day is closed yet. Days after it are never published, whatever was asked.
        public var closedThroughDay: UInt32?
        public var minimumResidents: Int
        /// Always true: a payment by a resident who had withdrawn analytics consent at the
        /// payment's block is in no cell (docs/api.md §5, "Consent").
        public var excludesWithdrawnConsent = true
        /// The closed days of the range that have payments, in order.
        public var days: [Day]
    }

    public static let minimumResidentsPerGroup = 10

    /// The most days one aggregates query covers.
    public static let aggregateDaysMax = 366

    /// Payment aggregates of closed days (design §2.5): for each Japan-time day of
    /// `fromDay…toDay` that is over at `height` (the tip when nil) — its last block is
    /// followed by a block of a later day — the day's total and its payments by merchant
    /// category, hour, district and age band, from opt-in attributes only (an account
    /// without the attribute counts as "undisclosed").
    ///
    /// The disclosure rule, the same for every consumer (API, console, CLI):
    /// - a day is published only once closed, so a published cell never changes: blocks are
    ///   only ever appended with later timestamps and the attributes read (merchant category,
    ///   district, age band, analytics consent) are those in force at the payment's block (a
    ///   consent change keeps what it replaced), so two queries at different heights
    ///   or over overlapping ranges give identical cells for a day both publish;
    /// - every cell is one day's, never a sum over a range, so no two ranges differ by part
    ///   of a day;
    /// - a cell of fewer than `minimumResidents` distinct residents (a resident is its
    ///   resident-id hash when registered with one, else its key) is suppressed; and when a
    ///   breakdown suppresses cells whose residents together number fewer than the threshold,
    ///   more cells (smallest first) are suppressed until they do, so the day's total minus the
    ///   visible cells never reveals a small group either.
    ///
    /// Cost: a binary search for the range's first block, then a scan of the range's blocks
    /// (one account read per payment) — replayed per query, limited by the API's query gate.
    public static func paymentAggregates(blocks: BlockStore, height: UInt64? = nil, fromDay: UInt32, toDay: UInt32, minimumResidents: Int = minimumResidentsPerGroup) throws -> Aggregates {
        let tip = try blocks.tipHeight()
        let last = min(height ?? tip, tip)
        var result = Aggregates(fromDay: fromDay, toDay: toDay, closedThroughDay: nil, minimumResidents: minimumResidents, days: [])
        guard last >= 1, fromDay <= toDay else { return result }
        func dayOf(_ height: UInt64) throws -> UInt32 {
            guard let block = try blocks.block(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
            return LedgerCalendar.japanDayAndHour(block.header.timestamp).day
        }
        // The day of the last block is still open: more of its blocks may follow.
        let openDay = try dayOf(last)
        result.closedThroughDay = LedgerCalendar.dayBefore(openDay)
        let throughDay = min(toDay, result.closedThroughDay ?? 0)
        guard fromDay <= throughDay else { return result }
        // The first block of `fromDay` or later (block timestamps strictly increase).
        // A store started from a state snapshot holds blocks from its height only.
        let first = max(1, blocks.snapshotHeight)
        var low = first, high = last
        while low < high {
            let middle = low + (high - low) / 2
            if try dayOf(middle) < fromDay { low = middle + 1 } else { high = middle }
        }
        // The range starts at or before the first held block: its days may have blocks below it.
        if first > 1 && low == first {
            throw ChainError(.beforeSnapshot, "the days asked for begin before block \(first), the state snapshot this node started from; it holds no block below it: ask an archive node")
        }

        struct Tally {
            var payments = 0
            var yen: UInt64 = 0
            var residents: Set<[UInt8]> = []
        }
        struct DayTally {
            var total = Tally()
            var dimensions: [[String: Tally]] = Array(repeating: [:], count: 5)
        }
        var days: [UInt32: DayTally] = [:]
        let reports = LedgerReports(store: blocks.store, genesis: blocks.genesis)
        var residentIds: [PublicKey: [UInt8]] = [:]
        var merchantCategories: [PublicKey: String] = [:]
        var height = low
        scan: while height <= last {
            guard let block = try blocks.block(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
            height += 1
            let (day, hour) = LedgerCalendar.japanDayAndHour(block.header.timestamp)
            if day > throughDay { break scan }
            guard day >= fromDay else { continue }
            for transaction in block.transactions {
                // A payment: `pay` (signed by the payer) or `pay_authorised` (signed by the
                // merchant, the payer named in the authorisation).
                let pay: Pay
                let payer: PublicKey
                switch transaction.transaction.body {
                case .pay(let body):
                    (pay, payer) = (body, transaction.transaction.signer)
                case .payAuthorised(let body):
                    (pay, payer) = (Pay(merchant: transaction.transaction.signer, amount: body.amount), body.authorisation.authorisation.payer)
                default:
                    continue
                }
                let account = try blocks.account(payer)
                // The payer's attributes as they were at this block; none after a withdrawal.
                let attributes = try reports.attributes(of: payer, account: account, at: block.header.height)
                guard attributes.analytics else { continue }
                let resident: [UInt8]
                if let known = residentIds[payer] {
                    resident = known
                } else {
                    resident = account?.residentIdHash.map { [1] + $0.bytes } ?? [0] + payer.bytes
                    residentIds[payer] = resident
                }
                let category: String
                if let known = merchantCategories[pay.merchant] {
                    category = known
                } else {
                    category = try blocks.account(pay.merchant)?.merchantCategory ?? "undisclosed"
                    merchantCategories[pay.merchant] = category
                }
                let keys = [category, hour < 10 ? "0\(hour)" : "\(hour)", attributes.district ?? "undisclosed", attributes.ageBand.map { "\($0)" } ?? "undisclosed",
                            account?.role == .visitor ? "visitor" : "resident"]
                var tally = days[day, default: DayTally()]
                tally.total.payments += 1
                tally.total.yen += pay.amount
                tally.total.residents.insert(resident)
                for (dimension, key) in keys.enumerated() {
                    tally.dimensions[dimension][key, default: Tally()].payments += 1
                    tally.dimensions[dimension][key, default: Tally()].yen += pay.amount
                    tally.dimensions[dimension][key, default: Tally()].residents.insert(resident)
                }
                days[day] = tally
            }
        }
        func cell(_ key: String, _ tally: Tally, suppressed: Bool) -> Group {
            suppressed
                ? Group(key: key, suppressed: true, payments: nil, yen: nil, residents: nil)
                : Group(key: key, suppressed: false, payments: tally.payments, yen: tally.yen, residents: tally.residents.count)
        }
        func breakdown(_ tallies: [String: Tally]) -> [Group] {
            let keys = tallies.keys.sorted()
            var suppressed = Set(keys.filter { tallies[$0]!.residents.count < minimumResidents })
            // Complementary suppression: the suppressed cells together must hide at least the
            // threshold of residents, else total − visible cells would single them out.
            func hidden() -> Int { suppressed.reduce(into: Set<[UInt8]>()) { $0.formUnion(tallies[$1]!.residents) }.count }
            if !suppressed.isEmpty {
                let visible = keys.filter { !suppressed.contains($0) }.sorted { (tallies[$0]!.residents.count, $0) < (tallies[$1]!.residents.count, $1) }
                var next = visible.makeIterator()
                while hidden() < minimumResidents, let key = next.next() { suppressed.insert(key) }
            }
            return keys.map { cell($0, tallies[$0]!, suppressed: suppressed.contains($0)) }
        }
        result.days = days.keys.sorted().map { day in
            let tally = days[day]!
            return Day(
                day: day,
                total: cell("total", tally.total, suppressed: tally.total.residents.count < minimumResidents),
                byMerchantCategory: breakdown(tally.dimensions[0]), byHour: breakdown(tally.dimensions[1]),
                byDistrict: breakdown(tally.dimensions[2]), byAgeBand: breakdown(tally.dimensions[3]), byPayerRole: breakdown(tally.dimensions[4])
            )
        }
        return result
    }
}
