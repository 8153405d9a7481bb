import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// appoint_delegate, revoke_delegate and grants by a delegate (issue 18,
/// docs/ledger-rules.md "Delegates"), one rule and one error code at a time.
@Suite("Delegate rules")
struct DelegateRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let dave = Fixture.account(3)
    let shop = Fixture.account(9)
    /// The participation platform's key: never registered by the registrar.
    let platform = Fixture.account(30)
    let otherPlatform = Fixture.account(31)

    /// Alice, Bob and Carol; a shop; the city's consultation program (budget ¥10,000, ¥3,000
    /// per resident) appointed to the platform (¥5,000, ¥2,000 per resident, ¥2,500 a day).
    func town(appoint: Bool = true) throws -> (ledger: LedgerHarness, program: UInt64) {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0), (dave, 0)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "restaurant")])
        let program = try ledger.createdProgram(name: "consultation", budget: 10_000, perResidentCap: 3_000)
        if appoint { try ledger.commitAll([ledger.appointDelegate(program, platform.publicKey)]) }
        return (ledger, program)
    }

    @Test("appoint_delegate registers the key as a delegate; its grants mint from the program and are counted against the delegate")
    func delegateGrants() throws {
        let (ledger, program) = try town()
        let account = try #require(try ledger.account(platform.publicKey))
        #expect(account.role == .delegate && account.coin == 0 && account.point == 0 && account.nonce == 0)
        let state = try #require(try ledger.delegate(program, platform.publicKey))
        #expect(state.terms.budgetYen == 5_000 && state.granted == 0 && state.revokedAt == nil)

        let grant = ledger.grant(program, to: alice.publicKey, 1_500, by: platform)
        try ledger.commitAll([grant])
        #expect(try ledger.point(alice) == 1_500)
        #expect(try ledger.lots(alice.publicKey).map(\.funder) == [Fixture.cityKey.publicKey], "the program's funder pays, not the delegate")
        #expect(try ledger.program(program)?.granted == 1_500)
        #expect(try ledger.delegate(program, platform.publicKey)?.granted == 1_500)
        #expect(try ledger.amount(StateKey.delegateResident(program, platform.publicKey, alice.publicKey)) == 1_500)
        // The grant names the delegate: its signer (history, audit) and the program report.
        #expect(grant.transaction.signer == platform.publicKey)
        let report = try #require(try ledger.reports.program(program))
        #expect(report.granted == 1_500)
        #expect(report.delegates.map(\.address) == [platform.publicKey.address.description])
        #expect(report.delegates.first.map { ($0.budget, $0.granted, $0.remaining, $0.perResidentCap, $0.perDayCap) } ?? (0, 0, 0, 0, 0) == (5_000, 1_500, 3_500, 2_000, 2_500))
        #expect(report.delegates.first?.expiresAt == nil && report.delegates.first?.revokedAt == nil)
        // The issuer still grants, outside the delegate's counters.
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_000)])
        #expect(try ledger.delegate(program, platform.publicKey)?.granted == 1_500)
        #expect(try ledger.program(program)?.granted == 2_500)
        try ledger.expectInvariants()
    }

    @Test("ledger.delegate_daily_cap_exceeded: per Japan-time day; the next day has room again")
    func perDayCap() throws {
        let (ledger, program) = try town()
        let morning = Fixture.time("2026-05-11T09:00:00+09:00")
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_500, by: platform), ledger.grant(program, to: bob.publicKey, 1_000, by: platform)], at: morning)
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 1, by: platform), .delegateDailyCapExceeded, at: Fixture.time("2026-05-11T23:59:59+09:00"))
        // 00:00 Japan time is 15:00 UTC the day before: the cap follows the Japanese calendar.
        try ledger.commitAll([ledger.grant(program, to: carol.publicKey, 1_000, by: platform)], at: Fixture.time("2026-05-12T00:00:00+09:00"))
        #expect(try ledger.delegate(program, platform.publicKey).map { ($0.day, $0.grantedOnDay) } ?? (0, 0) == (20_260_512, 1_000))
    }

    @Test("ledger.per_resident_cap_exceeded: the delegate's own cap per resident, below the program's")
    func perResidentCap() throws {
        let (ledger, program) = try town()
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_500, by: platform)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 501, by: platform), .perResidentCapExceeded)
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 500, by: platform)])
        // The program's cap (¥3,000) still has room for the issuer.
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_000)])
        // …and binds the delegate too: a second delegate finds the program's cap full.
        try ledger.commitAll([ledger.appointDelegate(program, otherPlatform.publicKey)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 1, by: otherPlatform), .perResidentCapExceeded)
    }

    @Test("ledger.delegate_budget_exhausted, and the program's budget binds the delegate too")
    func budgets() throws {
        let (ledger, program) = try town()
        let day = Fixture.time("2026-06-01T10:00:00+09:00")
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 2_000, by: platform)], at: day)
        try ledger.commitAll([ledger.grant(program, to: bob.publicKey, 2_000, by: platform)], at: day + 86_400_000)
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 1_001, by: platform), .delegateBudgetExhausted, at: day + 2 * 86_400_000)
        try ledger.commitAll([ledger.grant(program, to: carol.publicKey, 1_000, by: platform)], at: day + 2 * 86_400_000)
        #expect(try ledger.delegate(program, platform.publicKey)?.granted == 5_000)
        try ledger.expectRejected(ledger.grant(program, to: carol.publicKey, 1, by: platform), .delegateBudgetExhausted, at: day + 3 * 86_400_000)

        // A second delegate whose budget is larger than what the program has left.
        try ledger.commitAll([ledger.appointDelegate(program, otherPlatform.publicKey, budget: 8_000, perResidentCap: 3_000, perDayCap: 8_000)])
        #expect(try ledger.program(program)?.remaining == 5_000)
        try ledger.commitAll([
            ledger.grant(program, to: carol.publicKey, 2_000, by: otherPlatform),
            ledger.grant(program, to: alice.publicKey, 1_000, by: otherPlatform),
            ledger.grant(program, to: bob.publicKey, 1_000, by: otherPlatform),
        ])
        try ledger.expectRejected(ledger.grant(program, to: shop.publicKey, 1, by: otherPlatform), .wrongRole)
        #expect(try ledger.program(program)?.remaining == 1_000)
        try ledger.expectRejected(ledger.grant(program, to: dave.publicKey, 1_001, by: otherPlatform), .programBudgetExhausted)
        try ledger.commitAll([ledger.grant(program, to: dave.publicKey, 1_000, by: otherPlatform)])
        let delegates = try #require(try ledger.reports.program(program)?.delegates)
        #expect(delegates.map(\.address) == [platform.publicKey, otherPlatform.publicKey].sorted().map(\.address.description), "in key order")
        #expect(delegates.map(\.granted) == [5_000, 5_000] && delegates.map(\.remaining).sorted() == [0, 3_000])
        try ledger.expectInvariants()
    }

    @Test("ledger.delegate_inactive: after revocation and after the appointment's expiry; re-appointing restores it")
    func revocationAndExpiry() throws {
        let (ledger, program) = try town()
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 1_000, by: platform)])
        try ledger.commitAll([ledger.revokeDelegate(program, platform.publicKey)])
        let revokedAt = ledger.timestamp
        #expect(try ledger.delegate(program, platform.publicKey)?.revokedAt == revokedAt)
        try ledger.expectRejected(ledger.grant(program, to: bob.publicKey, 100, by: platform), .delegateInactive)
        try ledger.expectRejected(ledger.revokeDelegate(program, platform.publicKey), .delegateInactive)
        try ledger.expectRejected(ledger.revokeDelegate(program, otherPlatform.publicKey), .delegateInactive)
        #expect(try ledger.point(alice) == 1_000, "what the delegate granted stays granted")
        #expect(try ledger.reports.program(program)?.delegates.first?.revokedAt == revokedAt)

        // Re-appointed with an expiry: grants until it, counters kept.
        let expiry = ledger.timestamp + 10_000
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, budget: 999), .invalidDelegation)
        try ledger.commitAll([ledger.appointDelegate(program, platform.publicKey, expiresAt: expiry)])
        #expect(try ledger.delegate(program, platform.publicKey).map { ($0.granted, $0.revokedAt) } ?? (0, 1) == (1_000, nil))
        try ledger.commitAll([ledger.grant(program, to: bob.publicKey, 100, by: platform)], at: expiry - 1)
        try ledger.expectRejected(ledger.grant(program, to: bob.publicKey, 100, by: platform), .delegateInactive, at: expiry)
        try ledger.expectInvariants()
    }

    @Test("appoint_delegate and revoke_delegate: only the program's issuer, never the charge bonus, an existing program")
    func appointmentAuthority() throws {
        let (ledger, program) = try town(appoint: false)
        for signer in [Fixture.coinIssuerKey, Fixture.registrarKey, alice, platform] {
            try ledger.expectRejected(ledger.appointDelegate(program, otherPlatform.publicKey, by: signer), signer.publicKey == platform.publicKey ? .unknownAccount : .notAuthorised)
        }
        try ledger.expectRejected(ledger.appointDelegate(99, platform.publicKey), .unknownProgram)
        try ledger.expectRejected(ledger.appointDelegate(Ledger.chargeBonusProgram, platform.publicKey, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.commitAll([ledger.appointDelegate(program, platform.publicKey)])
        try ledger.expectRejected(ledger.revokeDelegate(program, platform.publicKey, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(ledger.revokeDelegate(99, platform.publicKey), .unknownProgram)
        // A delegate cannot appoint others, nor grant from a program it is not appointed to.
        try ledger.expectRejected(ledger.appointDelegate(program, otherPlatform.publicKey, by: platform), .notAuthorised)
        let other = try ledger.createdProgram(name: "other", budget: 10_000, perResidentCap: 3_000)
        try ledger.expectRejected(ledger.grant(other, to: alice.publicKey, 100, by: platform), .notAuthorised)
        try ledger.expectRejected(ledger.grant(Ledger.chargeBonusProgram, to: alice.publicKey, 100, by: platform), .notAuthorised)
    }

    @Test("ledger.invalid_delegation: every validation of the terms")
    func invalidTerms() throws {
        let (ledger, program) = try town(appoint: false)
        try ledger.expectRejected(ledger.appointDelegate(program, Fixture.cityKey.publicKey), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, budget: 0), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, budget: 10_001), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, perResidentCap: 0), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, perResidentCap: 3_001), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, perDayCap: 0), .invalidDelegation)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey, expiresAt: ledger.timestamp + 1000), .invalidDelegation)
        // The boundaries are accepted.
        try ledger.commitAll([ledger.appointDelegate(program, platform.publicKey, budget: 10_000, perResidentCap: 3_000, perDayCap: 1, expiresAt: ledger.timestamp + 1001)])
    }

    @Test("ledger.wrong_role and ledger.frozen: a delegate's key is its own; it can only grant")
    func delegateRoles() throws {
        let (ledger, program) = try town()
        try ledger.expectRejected(ledger.appointDelegate(program, alice.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.appointDelegate(program, shop.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.appointDelegate(program, Fixture.registrarKey.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.appointDelegate(program, Fixture.validatorKey.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.register(otherPlatform.publicKey, role: .delegate), .wrongRole)
        try ledger.expectRejected(ledger.register(platform.publicKey), .accountExists)
        // A delegate holds no value and signs nothing but grants.
        try ledger.expectRejected(ledger.charge(platform.publicKey, 1_000), .wrongRole)
        try ledger.expectRejected(ledger.grant(program, to: platform.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.send(from: platform, to: alice.publicKey, 1), .wrongRole)
        try ledger.expectRejected(ledger.pay(from: platform, to: shop.publicKey, 1), .wrongRole)
        try ledger.expectRejected(ledger.createProgram(by: platform), .notAuthorised)
        // Frozen (a leaked platform key): no grants, no re-appointment, and no recovery.
        try ledger.commitAll([ledger.freeze(platform.publicKey)])
        try ledger.expectRejected(ledger.grant(program, to: alice.publicKey, 100, by: platform), .frozen)
        try ledger.expectRejected(ledger.appointDelegate(program, platform.publicKey), .frozen)
        try ledger.expectRejected(ledger.recover(platform.publicKey, to: otherPlatform.publicKey), .wrongRole)
    }

    @Test("a delegate's grants replay to the same root, and a record over its budget breaks the block invariants")
    func replayAndInvariants() throws {
        let (ledger, program) = try town()
        let replica = try copyStore(ledger.store)
        let execution = try ledger.block([ledger.grant(program, to: alice.publicKey, 1_000, by: platform), ledger.grant(program, to: bob.publicKey, 700, by: platform)])
        #expect(execution.rejected.isEmpty)
        let replay = try ledger.ledger.execute(execution.accepted, context: BlockContext(height: ledger.height, timestamp: ledger.timestamp), store: replica, mode: .validate)
        #expect(replay.stateRoot == execution.stateRoot)

        let key = StateKey.delegate(program, platform.publicKey)
        let before = try #require(try replica.get(key, in: .state))
        let after = try #require(try ledger.store.get(key, in: .state))
        #expect(BlockInvariants.isChecked(key))
        #expect(BlockInvariants.violations([BlockInvariants.Change(key: key, before: before, after: after)]) == [])
        var overspent = try DelegateState(storedBytes: after)
        overspent.granted = overspent.terms.budgetYen + 1
        #expect(BlockInvariants.violations([BlockInvariants.Change(key: key, before: before, after: overspent.canonicalBytes)]).count == 1)
        var shrunk = try DelegateState(storedBytes: after)
        shrunk.granted = 0
        #expect(BlockInvariants.violations([BlockInvariants.Change(key: key, before: after, after: shrunk.canonicalBytes)]).count == 1)
        #expect(BlockInvariants.violations([BlockInvariants.Change(key: key, before: after, after: nil)]).count == 1)
    }
}
