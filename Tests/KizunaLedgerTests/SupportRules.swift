import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Builders and readers for the transaction kinds beyond register/charge/send, and the
/// invariant check of design §2.4 through `LedgerReports`.
extension LedgerHarness {
    // MARK: Building

    func createProgram(_ asset: Asset = .point, name: String = "program", funder: PublicKey? = nil, budget: UInt64 = 1_000_000, expiry: ExpiryRule = ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCap: UInt64 = 100_000, rebate: RebateRule? = nil, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .createProgram(CreateProgram(asset: asset, name: name, funder: funder ?? Fixture.cityKey.publicKey, budgetYen: budget, expiry: expiry, perResidentCapYen: perResidentCap, rebate: rebate)))
    }

    func grant(_ program: UInt64, to: PublicKey, _ amount: Amount, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .grant(Grant(program: program, to: to, amount: amount)))
    }

    func pay(from: PrivateKey, to merchant: PublicKey, _ amount: Amount) -> SignedTransaction {
        sign(from, .pay(Pay(merchant: merchant, amount: amount)))
    }

    func thank(from: PrivateKey, to: PublicKey, _ amount: Amount) -> SignedTransaction {
        sign(from, .thank(Thank(to: to, amount: amount)))
    }

    func redeem(_ merchant: PrivateKey, reference: String = "payout") -> SignedTransaction {
        sign(merchant, .redeem(Redeem(reference: reference)))
    }

    /// A refund; an exempt reason is co-signed by the city unless `cosigners` says otherwise.
    func refund(_ account: PublicKey, _ amount: Amount, reason: RefundReason, by signer: PrivateKey = Fixture.coinIssuerKey, cosigners: [PrivateKey]? = nil) -> SignedTransaction {
        sign(signer, .refund(Refund(account: account, amount: amount, reason: reason)), cosigners: cosigners ?? (reason.isExempt && signer.publicKey != Fixture.cityKey.publicKey ? [Fixture.cityKey] : []))
    }

    func freeze(_ account: PublicKey, by signer: PrivateKey = Fixture.registrarKey) -> SignedTransaction {
        sign(signer, .freeze(AccountAction(account: account)))
    }

    func unfreeze(_ account: PublicKey, by signer: PrivateKey = Fixture.registrarKey) -> SignedTransaction {
        sign(signer, .unfreeze(AccountAction(account: account)))
    }

    func recover(_ from: PublicKey, to: PublicKey, by signer: PrivateKey = Fixture.registrarKey, cosigners: [PrivateKey] = [Fixture.cityKey]) -> SignedTransaction {
        sign(signer, .recover(Recover(from: from, to: to)), cosigners: cosigners)
    }

    // MARK: Reading

    var reports: LedgerReports { LedgerReports(store: store, genesis: genesis) }
    var overlay: StateOverlay { StateOverlay(base: store) }

    func lots(_ key: PublicKey, _ asset: Asset = .point) throws -> [Lot] { try overlay.lots(key, asset).lots }
    func program(_ id: UInt64) throws -> ProgramState? { try overlay.program(id) }
    func point(_ key: PrivateKey) throws -> Amount { try account(key.publicKey)?.point ?? 0 }
    func thanks(_ key: PrivateKey) throws -> Amount { try account(key.publicKey)?.thanks ?? 0 }
    func supply(_ asset: Asset) throws -> SupplyState { try storedSupply(store, asset) }

    /// A little-endian-free read of a UInt64 counter in the state (0 when absent).
    func amount(_ key: [UInt8]) throws -> Amount { try overlay.amount(key) }

    func receivable(_ merchant: PublicKey, _ funder: PublicKey) throws -> Amount {
        try amount(StateKey.receivable(merchant, funder))
    }

    func settlement(_ merchant: PublicKey, _ sequence: UInt64) throws -> SettlementRecord? {
        guard let bytes = try store.get(StateKey.settlement(merchant, sequence), in: .state) else { return nil }
        return try SettlementRecord(canonicalBytes: bytes)
    }

    /// The id the next created program gets.
    func nextProgramId() throws -> UInt64 { try amount(StateKey.nextProgramIdKey) }

    /// Creates a program and returns its id.
    @discardableResult
    func createdProgram(_ asset: Asset = .point, name: String = "program", funder: PublicKey? = nil, budget: UInt64 = 1_000_000, expiry: ExpiryRule = ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCap: UInt64 = 100_000, rebate: RebateRule? = nil, by signer: PrivateKey = Fixture.cityKey, at time: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> UInt64 {
        let id = try nextProgramId()
        try commitAll([createProgram(asset, name: name, funder: funder, budget: budget, expiry: expiry, perResidentCap: perResidentCap, rebate: rebate, by: signer)], at: time, sourceLocation: sourceLocation)
        return id
    }

    /// Design §2.4 over the whole state (`LedgerReports.invariantViolation`), plus: no
    /// resident over a holder cap.
    func expectInvariants(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let violation = try reports.invariantViolation()
        #expect(violation == nil, "block \(height): \(violation ?? "")", sourceLocation: sourceLocation)
        // The caps in force at the last block (governance may have raised them, ADR 0018).
        let rules = try ledger.inForce(at: height, store: store).genesis
        for (key, account) in try storedAccounts(store) where account.role == .resident {
            for asset in Asset.allCases {
                #expect(account.balance(asset) <= rules.policy(for: asset).holderCapYen, "\(key.address) holds \(account.balance(asset)) \(asset.name), over the cap", sourceLocation: sourceLocation)
            }
        }
        for (key, account) in try storedAccounts(store) where account.role == .visitor {
            #expect(account.coin <= genesis.visitorPolicy?.holderCapYen ?? 0 && account.point == 0 && account.thanks == 0, "visitor \(key.address) holds \(account.coin) coins, \(account.point) points, \(account.thanks) thanks", sourceLocation: sourceLocation)
        }
    }
}

extension Fixture {
    /// 00:00 Japan time on the first day of a month.
    static func monthStart(_ year: Int, _ month: Int) -> UInt64 {
        time("\(year)-\(month < 10 ? "0" : "")\(month)-01T00:00:00+09:00")
    }

    static let sixMonths = ExpiryRule(kind: .endOfMonthAfterGrant, months: 6)
    static let threeMonths = ExpiryRule(kind: .endOfMonthAfterGrant, months: 3)
    static let never = ExpiryRule(kind: .never, months: 0)

    /// A genesis whose coin holder cap is `cap` (the other coin policies as default).
    static func genesis(coinCap cap: UInt64, genesisTime: UInt64 = genesisTime) -> Genesis {
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = cap
        return genesis(genesisTime: genesisTime, coin: policy)
    }
}

/// A comparable summary of an unused-balance report (its memberwise initialiser is internal).
func describe(_ report: LedgerReports.UnusedBalance?) -> String {
    guard let report else { return "none" }
    return describe(baseDate: report.baseDate, closed: report.closed, outstanding: report.outstandingYen, deposit: report.depositRequiredYen, refundLimit: report.refundLimitFromUnusedYen)
}

func describe(baseDate: String, closed: Bool, outstanding: UInt64, deposit: UInt64, refundLimit: UInt64) -> String {
    "\(baseDate) closed=\(closed) outstanding=\(outstanding) deposit=\(deposit) refundLimit=\(refundLimit)"
}

extension LedgerHarness {
    func appointDelegate(_ program: UInt64, _ delegate: PublicKey, budget: UInt64 = 5_000, perResidentCap: UInt64 = 2_000, perDayCap: UInt64 = 2_500, expiresAt: UInt64 = UInt64.max, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .appointDelegate(AppointDelegate(program: program, delegate: delegate, budgetYen: budget, perResidentCapYen: perResidentCap, perDayCapYen: perDayCap, expiresAt: expiresAt)))
    }

    func revokeDelegate(_ program: UInt64, _ delegate: PublicKey, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .revokeDelegate(RevokeDelegate(program: program, delegate: delegate)))
    }

    func delegate(_ program: UInt64, _ key: PublicKey) throws -> DelegateState? { try overlay.delegate(program, key) }
}

extension LedgerHarness {
    func setProgramTerms(_ program: UInt64, startsAt: UInt64 = 0, endsAt: UInt64 = UInt64.max, merchants: [PublicKey] = [], by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .setProgramTerms(SetProgramTerms(program: program, startsAt: startsAt, endsAt: endsAt, merchants: merchants)))
    }

    func topUpProgram(_ program: UInt64, _ amount: UInt64, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .topUpProgram(TopUpProgram(program: program, amountYen: amount)))
    }

    func closeProgram(_ program: UInt64, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .closeProgram(CloseProgram(program: program)))
    }
}
