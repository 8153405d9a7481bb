/// The delegation kinds (issue 18): a program's issuer lets another key — a participation
/// platform, a store's till system — grant from one program, within limits of its own.
/// Field order is the wire order (`docs/wire-format.md`).

/// `appoint_delegate`: the program's issuer appoints (or re-appoints with new terms) a key
/// that may grant from the program. The delegate's grants also count against the program's
/// own budget and per-resident cap; the terms below are the delegate's share of them.
public struct AppointDelegate: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var delegate: PublicKey
    /// The most the delegate may grant in all (≤ the program's budget).
    public var budgetYen: UInt64
    /// The most the delegate may grant one resident in all (≤ the program's per-resident cap).
    public var perResidentCapYen: UInt64
    /// The most the delegate may grant in one Japan-time calendar day.
    public var perDayCapYen: UInt64
    /// Block time (UTC milliseconds) from which the appointment no longer holds;
    /// `UInt64.max`: until revoked.
    public var expiresAt: UInt64

    public init(program: UInt64, delegate: PublicKey, budgetYen: UInt64, perResidentCapYen: UInt64, perDayCapYen: UInt64, expiresAt: UInt64 = UInt64.max) {
        self.program = program
        self.delegate = delegate
        self.budgetYen = budgetYen
        self.perResidentCapYen = perResidentCapYen
        self.perDayCapYen = perDayCapYen
        self.expiresAt = expiresAt
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, delegate, budgetYen, perResidentCapYen, perDayCapYen, expiresAt) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        delegate = try decoder.decode(PublicKey.self)
        budgetYen = try decoder.decodeUInt64()
        perResidentCapYen = try decoder.decodeUInt64()
        perDayCapYen = try decoder.decodeUInt64()
        expiresAt = try decoder.decodeUInt64()
    }
}

/// `revoke_delegate`: the program's issuer ends a delegate's appointment at once. What the
/// delegate granted stays granted; the record stays for the reports.
public struct RevokeDelegate: Sendable, Hashable, CanonicalCodable {
    public var program: UInt64
    public var delegate: PublicKey

    public init(program: UInt64, delegate: PublicKey) {
        self.program = program
        self.delegate = delegate
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(program, delegate) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        program = try decoder.decodeUInt64()
        delegate = try decoder.decode(PublicKey.self)
    }
}
