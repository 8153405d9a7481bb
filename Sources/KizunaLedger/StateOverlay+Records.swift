public import KizunaCore

/// Typed access to the ledger's records, and the bookkeeping that must always move together
/// (a lot list and its expiry index; a coin balance and its expiry index).
extension StateOverlay {
    func decoded<T: CanonicalDecodable>(_ key: [UInt8], as type: T.Type) throws -> T? {
        guard let bytes = try get(key) else { return nil }
        return try T(storedBytes: bytes)
    }

    mutating func setAmount(_ key: [UInt8], _ amount: Amount) {
        if amount == 0 {
            set(key, nil)
        } else {
            var encoder = Encoder()
            encoder.encode(amount)
            set(key, encoder.bytes)
        }
    }

    mutating func addAmount(_ key: [UInt8], _ amount: Amount) throws {
        guard let sum = try self.amount(key).adding(amount) else { throw TransactionError(.overflow, "a counter overflows") }
        setAmount(key, sum)
    }

    public func lots(_ key: PublicKey, _ asset: Asset) throws -> LotList {
        try decoded(StateKey.lots(key, asset), as: LotList.self) ?? LotList()
    }

    /// Writes a lot list and keeps the expiry index in step with its distinct expiries.
    mutating func setLots(_ key: PublicKey, _ asset: Asset, _ lots: LotList) throws {
        setLots(key, asset, lots, replacing: try self.lots(key, asset))
    }

    /// `setLots` for a caller that has just read the list it changes: `previous` is the list
    /// this overlay holds now, so it is not read and decoded a second time.
    mutating func setLots(_ key: PublicKey, _ asset: Asset, _ lots: LotList, replacing previous: LotList) {
        let before = previous.expiries
        let after = lots.expiries
        for expiry in before where !after.contains(expiry) { set(StateKey.lotExpiry(expiry, key, asset), nil) }
        for expiry in after where !before.contains(expiry) { set(StateKey.lotExpiry(expiry, key, asset), [1]) }
        set(StateKey.lots(key, asset), lots.isEmpty ? nil : lots.canonicalBytes)
    }

    /// The funders a merchant holds receivables from, sorted by key.
    func receivableFunders(prefix: [UInt8]) throws -> [PublicKey] {
        try keys(withPrefix: prefix).compactMap { PublicKey($0.dropFirst(prefix.count)) }
    }

    public func program(_ id: UInt64) throws -> ProgramState? {
        try decoded(StateKey.program(id), as: ProgramState.self)
    }

    mutating func setProgram(_ program: ProgramState) {
        set(StateKey.program(program.id), program.canonicalBytes)
    }

    public func delegate(_ program: UInt64, _ key: PublicKey) throws -> DelegateState? {
        try decoded(StateKey.delegate(program, key), as: DelegateState.self)
    }

    mutating func setDelegate(_ program: UInt64, _ key: PublicKey, _ state: DelegateState) {
        set(StateKey.delegate(program, key), state.canonicalBytes)
    }

    public func programTerms(_ program: UInt64) throws -> ProgramTermsState? {
        try decoded(StateKey.programTerms(program), as: ProgramTermsState.self)
    }

    mutating func setProgramTerms(_ program: UInt64, _ state: ProgramTermsState) {
        set(StateKey.programTerms(program), state.canonicalBytes)
    }

    func rebatePrograms() throws -> [UInt64] {
        try decoded(StateKey.rebateProgramsKey, as: ProgramIdList.self)?.ids ?? []
    }

    /// Sets a resident's coin balance after a change at `time`, moving its coin-expiry index
    /// entry (coins expire at the end of the month N months after the last change).
    mutating func setCoin(_ key: PublicKey, _ account: inout AccountState, to balance: Amount, at time: UInt64, rule: ExpiryRule) {
        let indexed = (account.role.holdsResidentValue || account.role == .visitor) && rule.kind == .endOfMonthAfterLastChange
        if indexed && account.coin > 0 {
            set(StateKey.coinExpiry(LedgerCalendar.expiry(rule, from: account.coinChangedAt), key), nil)
        }
        account.coin = balance
        account.coinChangedAt = time
        if indexed && balance > 0 {
            set(StateKey.coinExpiry(LedgerCalendar.expiry(rule, from: time), key), [1])
        }
    }
}
