public import KizunaCore
public import KizunaStorage

/// Reports of invoices, visitors and consent (issue 21).
extension LedgerReports {
    /// An invoice as the API shows it to its two parties.
    public struct Invoice: Codable, Sendable, Equatable {
        public var id: String
        public var issuer: String
        public var payer: String
        public var amount: UInt64
        public var paid: UInt64
        public var outstanding: UInt64
        public var payments: UInt32
        public var dueAt: UInt64
        public var reference: String
        public var issuedAt: UInt64
        public var lastPaidAt: UInt64?
        public var cancelledAt: UInt64?
        /// `open`, `partially_paid`, `overdue`, `paid`, `paid_late` or `cancelled`, at `asOf`.
        public var status: String
        /// The block time the status is given at (UTC ms).
        public var asOf: UInt64
    }

    public func invoiceState(_ id: Hash) throws -> InvoiceState? {
        try overlay.decoded(StateKey.invoice(id), as: InvoiceState.self)
    }

    /// The invoice `id` with its status at `time`, or nil.
    public func invoice(_ id: Hash, at time: UInt64) throws -> Invoice? {
        try invoiceState(id).map { Self.view($0, at: time) }
    }

    static func view(_ state: InvoiceState, at time: UInt64) -> Invoice {
        Invoice(id: state.id.hex, issuer: state.issuer.address.description, payer: state.payer.address.description, amount: state.amount,
                paid: state.paid, outstanding: state.outstanding, payments: state.payments, dueAt: state.dueAt, reference: state.reference,
                issuedAt: state.issuedAt, lastPaidAt: state.lastPaidAt, cancelledAt: state.cancelledAt, status: state.status(at: time), asOf: time)
    }

    /// The invoices `party` issued or must pay, in invoice-id order, at most `limit`.
    public func invoices(of party: PublicKey, at time: UInt64, limit: Int) throws -> [Invoice] {
        var ids: [Hash] = []
        let prefix = [StateKey.partyInvoicePrefix] + party.bytes
        try store.scan(.state, from: prefix, prefix: prefix) { key, _ in
            if let id = Hash(key.dropFirst(prefix.count)) { ids.append(id) }
            return ids.count < limit
        }
        return try ids.compactMap { try invoice($0, at: time) }
    }

    /// A resident's opt-in attributes as they were in force for block `height`: the first
    /// consent change recorded after `height` holds what was in force before it; without
    /// one, the account's current attributes and consent. Reads only that account's change
    /// records (a handful), so aggregates stay one read per payer.
    /// `analytics` false: the resident had withdrawn analytics consent; their payments of
    /// that block are in no aggregate.
    public typealias Attributes = UpdateConsent

    public func attributes(of key: PublicKey, account: AccountState?, at height: UInt64) throws -> Attributes {
        var later: ConsentChange?
        let prefix = [StateKey.consentChangePrefix] + key.bytes
        try store.scan(.state, from: StateKey.consentChange(key, height: height &+ 1), prefix: prefix) { _, value in
            later = try ConsentChange(storedBytes: value)
            return false
        }
        if height == UInt64.max { later = nil }
        if let later { return later }
        let withdrawn = try store.get(StateKey.consentWithdrawn(key), in: .state) != nil
        return Attributes(district: account?.district, ageBand: account?.ageBand, analytics: !withdrawn)
    }

    /// Accounts per role (every role, including visitors, counted apart), and how many
    /// residents have withdrawn analytics consent. Cost: a scan of the accounts.
    public struct RoleCounts: Codable, Sendable, Equatable {
        public var residents: Int
        public var visitors: Int
        /// Residents' card accounts (issue 19).
        public var cards: Int
        public var merchants: Int
        public var delegates: Int
        public var authorities: Int
        /// Visitors whose account expired at `asOf`.
        public var expiredVisitors: Int
        /// Residents who withdrew analytics consent (their payments from then on are in no
        /// aggregate).
        public var consentWithdrawn: Int
        public var asOf: UInt64
        /// Public bodies' collection accounts and clubs (issue 18).
        public var organisations: Int = 0
    }

    public func roleCounts(at time: UInt64) throws -> RoleCounts {
        var counts = RoleCounts(residents: 0, visitors: 0, cards: 0, merchants: 0, delegates: 0, authorities: 0, expiredVisitors: 0, consentWithdrawn: 0, asOf: time)
        try store.scan(.state, from: [0x01], prefix: [0x01]) { _, value in
            switch try AccountState(storedBytes: value).role {
            case .resident: counts.residents += 1
            case .visitor: counts.visitors += 1
            case .card: counts.cards += 1
            case .merchant: counts.merchants += 1
            case .delegate: counts.delegates += 1
            case .authority: counts.authorities += 1
            case .organisation: counts.organisations += 1
            }
            return true
        }
        try store.scan(.state, from: [StateKey.visitorExpiryPrefix], prefix: [StateKey.visitorExpiryPrefix]) { _, value in
            if try Decoder.decodeUInt64(exactly: value) <= time { counts.expiredVisitors += 1 }
            return true
        }
        try store.scan(.state, from: [StateKey.consentWithdrawnPrefix], prefix: [StateKey.consentWithdrawnPrefix]) { _, _ in
            counts.consentWithdrawn += 1
            return true
        }
        return counts
    }
}
