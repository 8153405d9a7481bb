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
        let replica = try BlockStore(store: MemoryStore(), genesis: blocks.genesis)
        let validator = BlockValidator(blocks: replica)
        var next: UInt64 = 1
        while next <= height {
            guard let block = try blocks.block(at: next), let certificate = try blocks.certificate(at: next) else {
                throw ChainError(.missingBlock, "block \(next) is missing")
            }
            let validated = try validator.validate(block)
            try replica.commit(try validated.committed(by: certificate, chainId: blocks.genesis.chainId, validators: blocks.genesis.validators))
            next += 1
        }
        return replica
    }

    /// One group of payments. Counts are nil when fewer than `minimumResidents` distinct
    /// residents paid in the group: small groups are suppressed so nobody can be singled out.
    public struct Group: Codable, Sendable, Equatable {
        public var key: String
        public var suppressed: Bool
        public var payments: Int?
        public var yen: UInt64?
        public var residents: Int?
    }

    public struct Aggregates: Codable, Sendable, Equatable {
        /// Japan-time dates, yyyymmdd, inclusive.
        public var fromDay: UInt32
        public var toDay: UInt32
        public var minimumResidents: Int
        public var byMerchantCategory: [Group]
        public var byHour: [Group]
        public var byDay: [Group]
        public var byDistrict: [Group]
        public var byAgeBand: [Group]
    }

    public static let minimumResidentsPerGroup = 10

    /// Payment aggregates by merchant category, hour, day, district and age band, from
    /// opt-in attributes only (an account without the attribute counts as "undisclosed").
    public static func paymentAggregates(blocks: BlockStore, fromDay: UInt32, toDay: UInt32, minimumResidents: Int = minimumResidentsPerGroup) throws -> Aggregates {
        struct Tally {
            var payments = 0
            var yen: UInt64 = 0
            var residents: Set<PublicKey> = []
        }
        var tallies: [String: [String: Tally]] = [:]
        func count(_ dimension: String, _ key: String, payer: PublicKey, amount: UInt64) {
            var tally = tallies[dimension, default: [:]][key, default: Tally()]
            tally.payments += 1
            tally.yen += amount
            tally.residents.insert(payer)
            tallies[dimension, default: [:]][key] = tally
        }
        let tip = try blocks.tipHeight()
        var height: UInt64 = 1
        while height <= tip {
            guard let block = try blocks.block(at: height) else { throw ChainError(.missingBlock, "block \(height) is missing") }
            height += 1
            let (day, hour) = LedgerCalendar.japanDayAndHour(block.header.timestamp)
            guard day >= fromDay, day <= toDay else { continue }
            for transaction in block.transactions {
                guard case .pay(let pay) = transaction.transaction.body else { continue }
                let payer = transaction.transaction.signer
                let account = try blocks.account(payer)
                let merchant = try blocks.account(pay.merchant)
                count("category", merchant?.merchantCategory ?? "undisclosed", payer: payer, amount: pay.amount)
                count("hour", hour < 10 ? "0\(hour)" : "\(hour)", payer: payer, amount: pay.amount)
                count("day", "\(day)", payer: payer, amount: pay.amount)
                count("district", account?.district ?? "undisclosed", payer: payer, amount: pay.amount)
                count("ageBand", account?.ageBand.map { "\($0)" } ?? "undisclosed", payer: payer, amount: pay.amount)
            }
        }
        func groups(_ dimension: String) -> [Group] {
            (tallies[dimension] ?? [:]).sorted { $0.key < $1.key }.map { key, tally in
                tally.residents.count < minimumResidents
                    ? Group(key: key, suppressed: true, payments: nil, yen: nil, residents: nil)
                    : Group(key: key, suppressed: false, payments: tally.payments, yen: tally.yen, residents: tally.residents.count)
            }
        }
        return Aggregates(fromDay: fromDay, toDay: toDay, minimumResidents: minimumResidents, byMerchantCategory: groups("category"), byHour: groups("hour"), byDay: groups("day"), byDistrict: groups("district"), byAgeBand: groups("ageBand"))
    }
}
