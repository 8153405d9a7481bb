import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Card accounts (issue 19, docs/ledger-rules.md "Cards", docs/cards.md): one rule and one
/// error code at a time.
@Suite("Card rules")
struct CardRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let card = Fixture.account(2)
    let newCard = Fixture.account(3)
    let shop = Fixture.account(9)
    let otherShop = Fixture.account(10)

    static let policy = CardPolicy(holderCapYen: 30_000, perPaymentCapYen: 10_000, perDayCapYen: 20_000)

    static func cardGenesis(policy: CardPolicy? = CardRuleTests.policy) -> Genesis {
        var genesis = PaymentRuleTests.noBonusGenesis()
        genesis.cardPolicy = policy
        return genesis
    }

    static func residentId(_ text: String) -> Hash { TransactionBuilder.residentIdHash(residentId: text, salt: [1, 2, 3]) }

    /// Alice (a phone, ¥5,000) and Bob's card (¥25,000), two shops, 10:00 on 10 April.
    func town() throws -> LedgerHarness {
        let ledger = try LedgerHarness(genesis: Self.cardGenesis())
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.commitAll([
            ledger.register(card.publicKey, role: .card, residentIdHash: Self.residentId("bob")),
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(otherShop.publicKey, role: .merchant, merchantCategory: "drugstore"),
        ])
        try ledger.commitAll([ledger.charge(card.publicKey, 25_000, channel: .chargeMachine)], at: Fixture.time("2026-04-10T10:00:00+09:00"))
        return ledger
    }

    @Test("a card is registered for a resident, charged at a machine as a phone is, pays a merchant; its day's spending is recorded")
    func cardPays() throws {
        let ledger = try town()
        #expect(try ledger.account(card.publicKey)?.role == .card)
        #expect(try ledger.coin(card) == 25_000)
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 8_000)])
        #expect(try ledger.coin(card) == 17_000)
        #expect(try ledger.account(shop.publicKey)?.coin == 8_000)
        let record = try #require(try ledger.store.get(StateKey.cardDay(card.publicKey), in: .state))
        #expect(try CardDayState(canonicalBytes: record) == CardDayState(day: 20_260_410, spent: 8_000))
        try ledger.expectInvariants()
    }

    @Test("ledger.card_not_enabled: without a cardPolicy in genesis no card is registered")
    func notEnabled() throws {
        let ledger = try LedgerHarness(genesis: Self.cardGenesis(policy: nil))
        try ledger.expectRejected(ledger.register(card.publicKey, role: .card, residentIdHash: Self.residentId("bob")), .cardNotEnabled)
    }

    @Test("ledger.card_needs_resident_id: a card names its resident; one resident, one account across phone and card")
    func oneResidentOneAccount() throws {
        let ledger = try LedgerHarness(genesis: Self.cardGenesis())
        try ledger.expectRejected(ledger.register(card.publicKey, role: .card), .cardNeedsResidentId)
        try ledger.commitAll([ledger.register(alice.publicKey, residentIdHash: Self.residentId("alice"))])
        try ledger.expectRejected(ledger.register(card.publicKey, role: .card, residentIdHash: Self.residentId("alice")), .residentAlreadyRegistered)
        try ledger.commitAll([ledger.register(card.publicKey, role: .card, residentIdHash: Self.residentId("bob"))])
        try ledger.expectRejected(ledger.register(bob.publicKey, residentIdHash: Self.residentId("bob")), .residentAlreadyRegistered)
        try ledger.expectRejected(ledger.register(newCard.publicKey, role: .card, merchantCategory: "supermarket", residentIdHash: Self.residentId("carol")), .invalidAttribute)
    }

    @Test("ledger.card_holder_cap_exceeded: charges and sends stop at the card holder cap, below the coin cap")
    func holderCap() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.charge(card.publicKey, 5_001), .cardHolderCapExceeded)
        try ledger.commitAll([ledger.charge(card.publicKey, 1_000)])
        try ledger.expectRejected(ledger.send(from: alice, to: card.publicKey, 4_001), .cardHolderCapExceeded)
        try ledger.commitAll([ledger.send(from: alice, to: card.publicKey, 4_000)])
        #expect(try ledger.coin(card) == 30_000)
        try ledger.expectInvariants()
    }

    @Test("ledger.card_cannot_send: a card sends no coins and gives no thanks; it receives grants, sends and thanks")
    func cannotSend() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.send(from: card, to: alice.publicKey, 100), .cardCannotSend)
        try ledger.expectRejected(ledger.thank(from: card, to: alice.publicKey, 1), .cardCannotSend)
        let points = try ledger.createdProgram(name: "welcome")
        let thanks = try ledger.createdProgram(.thanks, name: "thanks")
        try ledger.commitAll([ledger.grant(points, to: card.publicKey, 500), ledger.grant(thanks, to: alice.publicKey, 10)])
        try ledger.commitAll([ledger.thank(from: alice, to: card.publicKey, 5)])
        #expect(try ledger.point(card) == 500 && ledger.thanks(card) == 5)
        // Points are spent first, as for a phone.
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 700)])
        #expect(try ledger.point(card) == 0 && ledger.coin(card) == 24_800)
        try ledger.expectInvariants()
    }

    @Test("ledger.card_payment_cap_exceeded: one payment over the per-payment cap, by pay or pay_authorised")
    func paymentCap() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.pay(from: card, to: shop.publicKey, 10_001), .cardPaymentCapExceeded)
        let authorisation = PaymentAuthorisation(chainId: ledger.genesis.chainId, payer: card.publicKey, merchant: nil, capYen: 20_000,
                                                 expiresAt: ledger.timestamp + 60_000, nonce: [UInt8](repeating: 7, count: PaymentAuthorisation.nonceBytes)).signed(by: card)
        try ledger.expectRejected(ledger.sign(shop, .payAuthorised(PayAuthorised(authorisation: authorisation, amount: 10_001))), .cardPaymentCapExceeded)
        try ledger.commitAll([ledger.sign(shop, .payAuthorised(PayAuthorised(authorisation: authorisation, amount: 10_000)))])
        #expect(try ledger.coin(card) == 15_000)
    }

    @Test("ledger.card_daily_cap_exceeded: the per-day cap holds across merchants and kinds, in one block too; the next Japan-time day starts afresh")
    func dailyCap() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 9_000), ledger.pay(from: card, to: otherShop.publicKey, 9_000)],
                             at: Fixture.time("2026-04-10T12:00:00+09:00"))
        try ledger.expectRejected(ledger.pay(from: card, to: shop.publicKey, 2_001), .cardDailyCapExceeded, at: Fixture.time("2026-04-10T23:59:59+09:00"))
        // Within one block, the second payment sees the first.
        let execution = try ledger.dryRun([ledger.pay(from: card, to: shop.publicKey, 2_000), ledger.pay(from: card, to: otherShop.publicKey, 1)],
                                          at: Fixture.time("2026-04-10T23:00:00+09:00"))
        #expect(execution.accepted.count == 1 && execution.rejected.first?.error.code == .cardDailyCapExceeded)
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 2_000)], at: Fixture.time("2026-04-10T23:30:00+09:00"))
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 5_000)], at: Fixture.time("2026-04-11T00:00:00+09:00"))
        #expect(try ledger.coin(card) == 0)
        try ledger.expectInvariants()
    }

    @Test("a frozen card cannot pay; recovery moves its balance, lots and day to a new card, and the resident's ID to it")
    func freezeAndRecover() throws {
        let ledger = try town()
        let program = try ledger.createdProgram(name: "welcome")
        try ledger.commitAll([ledger.grant(program, to: card.publicKey, 300)])
        try ledger.commitAll([ledger.pay(from: card, to: shop.publicKey, 10_000), ledger.pay(from: card, to: otherShop.publicKey, 5_300)])
        try ledger.commitAll([ledger.freeze(card.publicKey)])
        try ledger.expectRejected(ledger.pay(from: card, to: shop.publicKey, 100), .frozen)
        try ledger.commitAll([ledger.recover(card.publicKey, to: newCard.publicKey)])
        let moved = try #require(try ledger.account(newCard.publicKey))
        #expect(moved.role == .card && moved.coin == 10_000 && moved.residentIdHash == Self.residentId("bob"))
        #expect(try ledger.coin(card) == 0)
        #expect(try ledger.store.get(StateKey.residentId(Self.residentId("bob")), in: .state) == newCard.publicKey.bytes)
        // The day's ¥15,300 followed the card: ¥4,700 is left today.
        try ledger.expectRejected(ledger.pay(from: newCard, to: shop.publicKey, 4_701), .cardDailyCapExceeded)
        try ledger.commitAll([ledger.pay(from: newCard, to: shop.publicKey, 4_700)])
        try ledger.expectInvariants()
    }

    @Test("a card's coins are refunded and expire as a resident's")
    func refundAndExpiry() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.refund(card.publicKey, 1_000, reason: .movedAway, cosigners: [Fixture.cityKey])])
        #expect(try ledger.coin(card) == 24_000)
        let changedAt = try #require(try ledger.account(card.publicKey)).coinChangedAt
        let expiry = LedgerCalendar.expiry(ledger.genesis.coin.expiry, from: changedAt)
        #expect(try ledger.store.get(StateKey.coinExpiry(expiry, card.publicKey), in: .state) != nil, "a card's coins are in the expiry index")
        try ledger.commitAll([], at: expiry)
        #expect(try ledger.coin(card) == 0)
        try ledger.expectInvariants()
    }

    @Test("block invariants: a card over the holder cap, a day over the cap, or a day record going back is reported")
    func invariants() throws {
        var account = AccountState(role: .card, registeredAt: 0)
        account.coin = 30_001
        let key = StateKey.account(card.publicKey)
        let dayKey = StateKey.cardDay(card.publicKey)
        let over = BlockInvariants.cardViolations([.init(key: key, before: nil, after: account.canonicalBytes)], policy: Self.policy)
        #expect(over.count == 1 && over[0].contains("over the card holder cap"))
        account.coin = 30_000
        #expect(BlockInvariants.cardViolations([.init(key: key, before: nil, after: account.canonicalBytes)], policy: Self.policy).isEmpty)
        #expect(BlockInvariants.cardViolations([.init(key: key, before: nil, after: account.canonicalBytes)], policy: nil).count == 1)
        let day = CardDayState(day: 20_260_410, spent: 20_001)
        #expect(BlockInvariants.cardViolations([.init(key: dayKey, before: nil, after: day.canonicalBytes)], policy: Self.policy).count == 1)
        let back = BlockInvariants.cardViolations([.init(key: dayKey, before: CardDayState(day: 20_260_411, spent: 5).canonicalBytes, after: CardDayState(day: 20_260_410, spent: 5).canonicalBytes)], policy: Self.policy)
        #expect(back.count == 1 && back[0].contains("went back"))
        #expect(BlockInvariants.cardViolations([.init(key: dayKey, before: CardDayState(day: 20_260_410, spent: 9_000).canonicalBytes, after: CardDayState(day: 20_260_411, spent: 5).canonicalBytes)], policy: Self.policy).isEmpty)
    }
}
