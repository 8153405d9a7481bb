public import KizunaCore

/// A lot of points or thanks: value from one program, with its own expiry.
public struct Lot: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var funder: PublicKey
    public var amount: Amount
    public var grantedAt: UInt64
    /// UTC milliseconds from which the lot is expired (`UInt64.max`: never).
    public var expiresAt: UInt64

    public init(program: UInt64, funder: PublicKey, amount: Amount, grantedAt: UInt64, expiresAt: UInt64) {
        self.program = program
        self.funder = funder
        self.amount = amount
        self.grantedAt = grantedAt
        self.expiresAt = expiresAt
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, funder, amount, grantedAt, expiresAt) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        funder = try decoder.decode(PublicKey.self)
        amount = try decoder.decodeUInt64()
        grantedAt = try decoder.decodeUInt64()
        expiresAt = try decoder.decodeUInt64()
    }
}

/// The lots one account holds of one asset, sorted soonest-expiring first (then by program).
/// Lots of the same program with the same expiry are merged, which keeps the list short.
public struct LotList: Sendable, Hashable, CanonicalCodable {
    public static let lotsMax = 256
    public private(set) var lots: [Lot]

    public init(_ lots: [Lot] = []) {
        self.lots = []
        for lot in lots { try? add(lot) }
    }

    public var total: Amount { lots.reduce(0) { $0 + $1.amount } }
    public var isEmpty: Bool { lots.isEmpty }
    /// The distinct expiry instants, ascending.
    public var expiries: [UInt64] {
        var result: [UInt64] = []
        for lot in lots where lot.expiresAt != UInt64.max && result.last != lot.expiresAt { result.append(lot.expiresAt) }
        return result
    }

    public mutating func add(_ lot: Lot) throws(TransactionError) {
        guard lot.amount > 0 else { return }
        if let index = lots.firstIndex(where: { $0.program == lot.program && $0.expiresAt == lot.expiresAt }) {
            lots[index].amount += lot.amount
            lots[index].grantedAt = min(lots[index].grantedAt, lot.grantedAt)
            return
        }
        guard lots.count < LotList.lotsMax else {
            throw TransactionError(.tooManyLots, "the account already holds \(LotList.lotsMax) separate lots of this asset")
        }
        let position = lots.firstIndex { ($0.expiresAt, $0.program) > (lot.expiresAt, lot.program) } ?? lots.endIndex
        lots.insert(lot, at: position)
    }

    /// Takes `amount` from the soonest-expiring lots; returns the pieces taken (each with the
    /// lot's program, funder and expiry). Precondition: `amount <= total`.
    public mutating func take(_ amount: Amount) -> [Lot] {
        precondition(amount <= total)
        var remaining = amount
        var taken: [Lot] = []
        while remaining > 0 {
            let piece = min(lots[0].amount, remaining)
            var part = lots[0]
            part.amount = piece
            taken.append(part)
            lots[0].amount -= piece
            if lots[0].amount == 0 { lots.removeFirst() }
            remaining -= piece
        }
        return taken
    }

    /// Removes and returns every lot expired at `time`.
    public mutating func removeExpired(at time: UInt64) -> [Lot] {
        let expired = lots.filter { $0.expiresAt <= time }
        lots.removeAll { $0.expiresAt <= time }
        return expired
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(lots) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        lots = try decoder.decodeList(Lot.self, maxCount: LotList.lotsMax)
    }
}

/// A points or thanks program (design §2.3 create-program) and its running totals.
/// Invariant: granted ≤ budget and granted = used + expired + outstanding.
public struct ProgramState: Sendable, Hashable, CanonicalCodable {
    public var id: UInt64
    public var definition: CreateProgram
    /// The account that created it and may grant from it.
    public var issuer: PublicKey
    public var createdAt: UInt64
    public var granted: Amount = 0
    /// Spent at merchants (points only).
    public var used: Amount = 0
    public var expired: Amount = 0

    public init(id: UInt64, definition: CreateProgram, issuer: PublicKey, createdAt: UInt64) {
        self.id = id
        self.definition = definition
        self.issuer = issuer
        self.createdAt = createdAt
    }

    public var remaining: Amount { definition.budgetYen - granted }
    /// Held by accounts now (residents' lots and merchants' unredeemed receipts are both
    /// counted as used once spent; see docs/ledger-rules.md).
    public var outstanding: Amount { granted - used - expired }

    public func encode(to encoder: inout Encoder) { encoder.encode(id, definition, issuer, createdAt, granted, used, expired) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        id = try decoder.decodeUInt64()
        definition = try decoder.decode(CreateProgram.self)
        issuer = try decoder.decode(PublicKey.self)
        createdAt = try decoder.decodeUInt64()
        granted = try decoder.decodeUInt64()
        used = try decoder.decodeUInt64()
        expired = try decoder.decodeUInt64()
    }
}

/// What a merchant was paid out in one redemption, and who owes it.
public struct SettlementRecord: Sendable, Hashable, CanonicalCodable {
    /// One funder's share: the gross value received, the fee withheld, the net owed.
    public struct Line: Sendable, Hashable, CanonicalCodable {
        public var asset: Asset
        public var funder: PublicKey
        public var gross: Amount
        public var fee: Amount
        public var net: Amount { gross - fee }

        public init(asset: Asset, funder: PublicKey, gross: Amount, fee: Amount) {
            self.asset = asset
            self.funder = funder
            self.gross = gross
            self.fee = fee
        }

        public func encode(to encoder: inout Encoder) { encoder.encode(asset, funder, gross, fee) }

        public init(from decoder: inout Decoder) throws(DecodingError) {
            asset = try decoder.decode(Asset.self)
            funder = try decoder.decode(PublicKey.self)
            gross = try decoder.decodeUInt64()
            fee = try decoder.decodeUInt64()
        }
    }

    public var merchant: PublicKey
    public var sequence: UInt64
    public var timestamp: UInt64
    public var reference: String
    /// Coins first (owed by the coin issuer, who holds the yen), then points by funder.
    public var lines: [Line]

    public init(merchant: PublicKey, sequence: UInt64, timestamp: UInt64, reference: String, lines: [Line]) {
        self.merchant = merchant
        self.sequence = sequence
        self.timestamp = timestamp
        self.reference = reference
        self.lines = lines
    }

    public var gross: Amount { lines.reduce(0) { $0 + $1.gross } }
    public var fees: Amount { lines.reduce(0) { $0 + $1.fee } }

    public func encode(to encoder: inout Encoder) { encoder.encode(merchant, sequence, timestamp, reference, lines) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        merchant = try decoder.decode(PublicKey.self)
        sequence = try decoder.decodeUInt64()
        timestamp = try decoder.decodeUInt64()
        reference = try decoder.decodeString(maxBytes: TransactionLimits.receiptIdBytesMax)
        lines = try decoder.decodeList(Line.self, maxCount: 1 + LotList.lotsMax)
    }
}

/// A list of program ids.
struct ProgramIdList: CanonicalCodable {
    var ids: [UInt64]

    init(ids: [UInt64]) { self.ids = ids }

    func encode(to encoder: inout Encoder) {
        encoder.encode(UInt32(ids.count))
        for id in ids { encoder.encode(id) }
    }

    init(from decoder: inout Decoder) throws(DecodingError) {
        let count = Int(try decoder.decodeUInt32())
        guard count <= 1_000_000 else { throw DecodingError(.lengthTooLarge, "too many programs", offset: decoder.offset) }
        ids = []
        for _ in 0..<count { ids.append(try decoder.decodeUInt64()) }
    }
}

/// A delegate's appointment to one program (issue 18) and what it has granted under it.
public struct DelegateState: Sendable, Hashable, CanonicalCodable {
    /// The terms of the latest appointment (a re-appointment replaces them).
    public var terms: AppointDelegate
    /// Block time of the first appointment.
    public var appointedAt: UInt64
    /// Granted by the delegate from the program in all (never reset by a re-appointment).
    public var granted: Amount = 0
    /// Block time of the revocation; nil while the appointment holds.
    public var revokedAt: UInt64?
    /// The Japan-time day (yyyymmdd) of the delegate's last grant, and what it granted that day.
    public var day: UInt32 = 0
    public var grantedOnDay: Amount = 0

    public init(terms: AppointDelegate, appointedAt: UInt64) {
        self.terms = terms
        self.appointedAt = appointedAt
    }

    /// Whether the delegate may grant at block time `time`.
    public func isActive(at time: UInt64) -> Bool { revokedAt == nil && time < terms.expiresAt }

    /// What the delegate has granted on the Japan-time day `day` (yyyymmdd).
    public func granted(onDay day: UInt32) -> Amount { self.day == day ? grantedOnDay : 0 }

    public func encode(to encoder: inout Encoder) { encoder.encode(terms, appointedAt, granted, revokedAt, day, grantedOnDay) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        terms = try decoder.decode(AppointDelegate.self)
        appointedAt = try decoder.decodeUInt64()
        granted = try decoder.decodeUInt64()
        revokedAt = try decoder.decodeOptional(UInt64.self)
        day = try decoder.decodeUInt32()
        grantedOnDay = try decoder.decodeUInt64()
    }
}

/// The live terms of a program (issue 18): its period, the merchants its rebate covers, and
/// when it was closed. Absent for a program that never had terms set nor was closed: such a
/// program applies from its creation, with no end, at every merchant of its categories.
public struct ProgramTermsState: Sendable, Hashable, CanonicalCodable {
    public var terms: SetProgramTerms
    /// Block time of `close_program`; nil while the program is open.
    public var closedAt: UInt64?

    public init(terms: SetProgramTerms, closedAt: UInt64? = nil) {
        self.terms = terms
        self.closedAt = closedAt
    }

    /// Whether the program grants and rebates at block time `time`.
    public func applies(at time: UInt64) -> Bool { closedAt == nil && terms.isInPeriod(time) }

    /// Whether a rebate of the program covers a payment to `merchant`.
    public func covers(_ merchant: PublicKey) -> Bool { terms.merchants.isEmpty || terms.merchants.contains(merchant) }

    public func encode(to encoder: inout Encoder) { encoder.encode(terms, closedAt) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        terms = try decoder.decode(SetProgramTerms.self)
        closedAt = try decoder.decodeOptional(UInt64.self)
    }
}
