/// The kinds that change a live program (issue 18): its period and the merchants a campaign
/// covers, a larger budget, and its end. All are signed by the program's issuer. Field order
/// is the wire order (`docs/wire-format.md`).

/// `set_program_terms`: when a program grants and rebates, and which merchants its rebate
/// covers — a store's own campaign on set dates rebates only at that store, not at its
/// competitors of the same category. Setting terms again replaces them.
public struct SetProgramTerms: Sendable, Hashable, CanonicalCodable {
    public static let merchantsMax = 64

    public var program: UInt64
    /// Block time (UTC milliseconds) from which grants and rebates apply; 0: from creation.
    public var startsAt: UInt64
    /// Block time from which they no longer apply; `UInt64.max`: no end.
    public var endsAt: UInt64
    /// The merchants a rebate covers, sorted by key without duplicates (checked when
    /// decoding); empty: every merchant of the rule's categories.
    public var merchants: [PublicKey]

    public init(program: UInt64, startsAt: UInt64 = 0, endsAt: UInt64 = UInt64.max, merchants: [PublicKey] = []) {
        self.program = program
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.merchants = merchants.sorted()
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, startsAt, endsAt, merchants) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        startsAt = try decoder.decodeUInt64()
        endsAt = try decoder.decodeUInt64()
        let start = decoder.offset
        merchants = try decoder.decodeList(PublicKey.self, maxCount: SetProgramTerms.merchantsMax)
        for index in merchants.indices.dropFirst() where !(merchants[index - 1] < merchants[index]) {
            throw decoder.invalid("a program's merchants must be sorted by key without duplicates", at: start)
        }
    }

    /// Whether grants and rebates apply at block time `time`.
    public func isInPeriod(_ time: UInt64) -> Bool { time >= startsAt && time < endsAt }
}

/// `top_up_program`: the issuer adds to a program's budget (a campaign extended, a subsidy
/// refilled by the assembly's supplementary budget).
public struct TopUpProgram: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var amountYen: UInt64

    public init(program: UInt64, amountYen: UInt64) {
        self.program = program
        self.amountYen = amountYen
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, amountYen) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        amountYen = try decoder.decodeUInt64()
    }
}

/// `close_program`: the issuer ends a program for good: no more grants or rebates, by the
/// issuer or its delegates. Value already granted stays with the residents until it expires.
public struct CloseProgram: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64

    public init(program: UInt64) { self.program = program }

    public func encode(to encoder: inout Encoder) { encoder.encode(program) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
    }
}
