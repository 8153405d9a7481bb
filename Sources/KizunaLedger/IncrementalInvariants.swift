public import KizunaCore
public import KizunaStorage

/// The invariants of design §2.4 checked after every block at the cost of what the block
/// changed, not of the whole state (issue 16; design §3: a per-block cost in proportion to the
/// keys a block touches, never to the size of the state).
///
/// `LedgerReports.invariantViolation` scans the whole state: at a million residents a scan per
/// block would make an audit of a year's chain take days. Every invariant it checks is either a
/// sum over the state (each asset's balances, each program's lots) or a check of one item
/// against items it names (an account against its own lot lists, a program against its
/// delegates and the lots held under it, a premium sale against its program, an invoice or a
/// standing order alone). So this keeps the two sums as running totals, moved by each
/// changed key's value before and after, and after a block checks:
/// - every asset's supply against its running total of balances;
/// - each item the block changed, and each item whose inputs it changed (an account whose lot
///   list changed; a program whose state, delegates or lots changed; a premium sale whose
///   program changed).
///
/// An item the block did not touch, with inputs it did not touch, passed when it last changed
/// (or at `start`), and nothing it is checked against moved since, so it passes again: the
/// verdict after each block is the full scan's (`IncrementalInvariantsTests` compares the two
/// after every block of random chains, and after changes made to break each invariant). The
/// running totals are exact sums, so a full scan at any height gives the same totals; the
/// auditor still runs one at the tip.
///
/// `BlockInvariants`, which every node runs on every block it executes, checks what a block
/// moved (each asset's balances moved as its supply did, …); this checks, for the auditor, the
/// identities themselves on the state after each block, from totals it keeps.
public struct IncrementalInvariants: Sendable {
    /// One state key a block wrote: its value before the block and after (nil: absent).
    public typealias Change = BlockInvariants.Change

    public let genesis: Genesis
    /// Σ of every account's balance, per asset. Wrapping arithmetic: a sum that overflowed
    /// would fail the supply check anyway, and the order of the moves must not trap.
    private var balances: [Asset: UInt64]
    /// Σ of the lots held under each program, by program id.
    private var programHeld: [UInt64: UInt64]

    /// Scans `store` (a committed state) once: the running totals there, and the full check's
    /// verdict (`LedgerReports.invariantViolation`, nil when every invariant holds).
    public static func start(store: any KeyValueStore, genesis: Genesis) throws -> (invariants: IncrementalInvariants, violation: String?) {
        let reports = LedgerReports(store: store, genesis: genesis)
        let totals = try LedgerReports.StateTotals(scanning: store)
        let invariants = IncrementalInvariants(genesis: genesis, balances: totals.balances, programHeld: totals.programHeld)
        return (invariants, try reports.invariantViolation())
    }

    private init(genesis: Genesis, balances: [Asset: UInt64], programHeld: [UInt64: UInt64]) {
        self.genesis = genesis
        self.balances = balances
        self.programHeld = programHeld
    }

    /// Moves the running totals by a block's `changes` and checks what they touched on
    /// `store`, the state after the block. Returns the first violation found, or nil.
    public mutating func apply(_ changes: [Change], store: any KeyValueStore) throws -> String? {
        // Accounts the block wrote, as they are after it; accounts whose points or thanks must
        // be held against their lots again (their balances or role moved, or a lot list did).
        var written: [(PublicKey, AccountState)] = []
        var lotsToCheck: [PublicKey] = []
        var programs: [UInt64] = []
        var invoices: [(key: [UInt8], value: [UInt8])] = []
        var standingOrders: [[UInt8]] = []
        for change in changes {
            switch change.key.first {
            case StateKey.account:
                guard let key = PublicKey(change.key.dropFirst()) else { continue }
                let before = try change.before.map { try AccountState(storedBytes: $0) }
                let after = try change.after.map { try AccountState(storedBytes: $0) }
                if let before { move(before, by: -1) }
                if let after {
                    move(after, by: 1)
                    written.append((key, after))
                }
                if before?.point != after?.point || before?.thanks != after?.thanks || before?.role != after?.role {
                    lotsToCheck.append(key)
                }
            case StateKey.lots:
                // `0x06 ‖ public key ‖ asset`: its lots move their programs' totals and its
                // account's check.
                for (value, sign) in [(change.before, -1), (change.after, 1)] {
                    guard let value else { continue }
                    for lot in try LotList(storedBytes: value).lots {
                        let held = programHeld[lot.program, default: 0]
                        programHeld[lot.program] = sign > 0 ? held &+ lot.amount : held &- lot.amount
                        programs.append(lot.program)
                    }
                }
                if let key = PublicKey(change.key.dropFirst().dropLast()) { lotsToCheck.append(key) }
            case StateKey.programPrefix, StateKey.delegatePrefix, StateKey.premiumPrefix:
                // `prefix ‖ program id (8 bytes) ‖ …`: the program's own check, its delegates',
                // its premium sale's.
                if change.key.count >= 9 { programs.append(try Decoder.decodeUInt64(exactly: Array(change.key[1..<9]))) }
            case StateKey.invoicePrefix:
                if let after = change.after { invoices.append((change.key, after)) }
            case StateKey.standingOrderPrefix:
                if let after = change.after { standingOrders.append(after) }
            default:
                break
            }
        }
        return try violation(store: store, written: written, lotsToCheck: lotsToCheck, programs: programs, invoices: invoices, standingOrders: standingOrders)
    }

    /// Whether the running totals are the ones a scan finds (tests); a total moved back to
    /// zero counts as absent.
    func totalsEqual(_ scanned: LedgerReports.StateTotals) -> Bool {
        balances.filter { $0.value != 0 } == scanned.balances.filter { $0.value != 0 }
            && programHeld.filter { $0.value != 0 } == scanned.programHeld.filter { $0.value != 0 }
    }

    private mutating func move(_ account: AccountState, by sign: Int) {
        for asset in Asset.allCases {
            let amount = account.balance(asset)
            let total = balances[asset, default: 0]
            balances[asset] = sign > 0 ? total &+ amount : total &- amount
        }
    }

    /// The checks of `LedgerReports.invariantViolation`, in its order, on the items named.
    private func violation(store: any KeyValueStore, written: [(PublicKey, AccountState)], lotsToCheck: [PublicKey], programs: [UInt64],
                           invoices: [(key: [UInt8], value: [UInt8])], standingOrders: [[UInt8]]) throws -> String? {
        let overlay = StateOverlay(base: store)
        for invoice in invoices {
            if let problem = LedgerReports.invoiceViolation(key: invoice.key, try InvoiceState(storedBytes: invoice.value)) { return problem }
        }
        for asset in Asset.allCases {
            if let problem = LedgerReports.supplyViolation(asset, supply: try overlay.supply(asset), balances: balances[asset, default: 0]) { return problem }
        }
        // Each item once, in key order (the order of the full scan).
        var writtenByKey: [PublicKey: AccountState] = [:]
        for (key, account) in written { writtenByKey[key] = account }
        for key in Self.distinct(lotsToCheck, key: \.bytes) {
            guard let account = try writtenByKey[key] ?? overlay.account(key) else { continue }
            if let problem = try LedgerReports.lotsViolation(key, account, lots: { try overlay.lots(key, $0).total }) { return problem }
        }
        let programIds = Self.distinct(programs) { StateKey.program($0) }
        let reports = LedgerReports(store: store, genesis: genesis)
        for id in programIds {
            guard let program = try reports.program(id) else { continue }
            if let problem = LedgerReports.programViolation(program, held: programHeld[id, default: 0]) { return problem }
        }
        let accounts = Self.distinct(written) { $0.0.bytes }
        for (key, account) in accounts {
            if let problem = LedgerReports.delegateViolation(key, account) { return problem }
        }
        for (key, account) in accounts {
            if let problem = LedgerReports.organisationViolation(key, account) { return problem }
        }
        for id in programIds {
            guard let premium = try overlay.premium(id) else { continue }
            if let problem = LedgerReports.premiumViolation(id, premium, granted: try overlay.program(id)?.granted ?? 0) { return problem }
        }
        for value in standingOrders {
            if let problem = LedgerReports.standingOrderViolation(try StandingOrderState(storedBytes: value)) { return problem }
        }
        return nil
    }

    /// `items` without repeats, sorted by `key`'s bytes.
    private static func distinct<Item>(_ items: [Item], key: (Item) -> [UInt8]) -> [Item] {
        var seen: Set<ByteKey> = []
        var result: [(key: [UInt8], item: Item)] = []
        for item in items {
            let bytes = key(item)
            if seen.insert(ByteKey(bytes)).inserted { result.append((bytes, item)) }
        }
        return result.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.item)
    }
}
