import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// Genesis options and automatic bonuses of issue 18 (docs/ledger-rules.md "Event bonuses and
/// charge channels", "A mandatory resident-ID hash"): charge channels from genesis, first-charge
/// and first-payment bonuses, one resident one account.
@Suite("Town policy rules")
struct TownPolicyRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let shop = Fixture.account(9)

    @Test("ledger.resident_id_required: with registrationPolicy.residentIdRequired, a resident needs the hash; others do not")
    func residentIdRequired() throws {
        let ledger = try LedgerHarness(genesis: Fixture.townGenesis(residentIdRequired: true))
        try ledger.expectRejected(ledger.register(alice.publicKey), .residentIdRequired)
        try ledger.commitAll([
            ledger.register(alice.publicKey, residentIdHash: Hash.sha256(Array("resident-0001".utf8))),
            ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket"),
            ledger.register(Fixture.account(20).publicKey, role: .organisation, merchantCategory: OrganisationKind.club),
        ])
        try ledger.expectRejected(ledger.register(bob.publicKey, residentIdHash: Hash.sha256(Array("resident-0001".utf8))), .residentAlreadyRegistered)
        // Off (the policy says false, or there is none): the hash stays optional.
        let optional = try LedgerHarness(genesis: Fixture.townGenesis(residentIdRequired: false))
        try optional.commitAll([optional.register(alice.publicKey)])
    }

    @Test("charge channels from genesis: a bank-transfer channel with its own bonus; ledger.unknown_channel")
    func genesisChannels() throws {
        let ledger = try LedgerHarness(genesis: Fixture.townGenesis(channels: Fixture.bankTransferChannels))
        try ledger.setUpResidents([(alice, 0), (bob, 0)])
        try ledger.commitAll([ledger.chargeExtended(alice.publicKey, 10_000, channel: 3), ledger.charge(bob.publicKey, 10_000, channel: .chargeMachine)])
        #expect(try ledger.point(alice) == 300 && ledger.point(bob) == 150)
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, channel: 4), .unknownChannel)
        try ledger.expectRejected(ledger.chargeExtended(alice.publicKey, 1_000, channel: 0), .unknownChannel)
        // The defaults: channels 1 and 2 with the coin policy's rates, nothing else.
        let plain = try LedgerHarness()
        try plain.setUpResidents([(alice, 0)])
        try plain.commitAll([plain.chargeExtended(alice.publicKey, 10_000, channel: 2)])
        #expect(try plain.point(alice) == 150)
        try plain.expectRejected(plain.chargeExtended(alice.publicKey, 1_000, channel: 3), .unknownChannel)
        // charge_extended keeps charge's rules.
        try plain.expectRejected(plain.chargeExtended(alice.publicKey, 0, channel: 1), .invalidAmount)
        try plain.expectRejected(plain.chargeExtended(alice.publicKey, 1_000, channel: 1, by: Fixture.cityKey), .notAuthorised)
        try plain.expectRejected(plain.chargeExtended(alice.publicKey, 1_000, channel: 1, receipt: ""), .invalidAttribute)
        try plain.expectInvariants()
    }

    @Test("a genesis without the issue-18 sections hashes as before; with them, 03 ‖ policy and 04 ‖ channels follow and survive JSON; bad channel lists are refused")
    func genesisEncoding() throws {
        let plain = Fixture.townGenesis()
        #expect(plain.canonicalBytes == Fixture.defaultGenesis.canonicalBytes)
        var encoder = KizunaCore.Encoder()
        encoder.encode(plain.chainId, plain.genesisTime, plain.validators.validators, plain.authorities, plain.coin, plain.point, plain.thanks)
        #expect(plain.canonicalBytes == encoder.bytes)
        let town = Fixture.townGenesis(residentIdRequired: true, channels: Fixture.bankTransferChannels)
        #expect(town.canonicalBytes == encoder.bytes + [0x03, 0x01, 0x04] + Fixture.bankTransferChannels.canonicalBytes)
        let parsed = try Genesis(json: town.jsonData())
        #expect(parsed.hash == town.hash && parsed.registrationPolicy == RegistrationPolicy(residentIdRequired: true) && parsed.chargeChannels == Fixture.bankTransferChannels)
        #expect(try Genesis(json: plain.jsonData()).chargeChannels == nil)
        for bad in [
            [ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100)],
            Fixture.bankTransferChannels + [ChargeChannelDefinition(id: 3, name: "again", bonusBasisPoints: 0)],
            Fixture.bankTransferChannels + [ChargeChannelDefinition(id: 4, name: "bank_transfer", bonusBasisPoints: 0)],
            Fixture.bankTransferChannels + [ChargeChannelDefinition(id: 4, name: "Bank", bonusBasisPoints: 0)],
            Fixture.bankTransferChannels + [ChargeChannelDefinition(id: 4, name: "cash", bonusBasisPoints: 10_001)],
            [],
        ] {
            #expect(throws: GenesisError(.invalidPolicy, "")) { try Genesis(json: Fixture.townGenesis(channels: bad).jsonData()) }
        }
    }

    @Test("event bonuses: once per resident on the first charge or payment while the program applies, trimmed to the budget; set_event_bonus refusals")
    func eventBonuses() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket")])
        let welcome = try ledger.createdProgram(name: "welcome", budget: 800, perResidentCap: 500)
        let firstUse = try ledger.createdProgram(name: "first use", budget: 10_000, perResidentCap: 1_000, by: Fixture.coinIssuerKey)
        try ledger.commitAll([ledger.setEventBonus(welcome, .firstCharge, 500), ledger.setEventBonus(firstUse, .firstPayment, 1_000, by: Fixture.coinIssuerKey)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000)])
        #expect(try ledger.points(alice, from: welcome) == 500)
        try ledger.commitAll([ledger.charge(alice.publicKey, 10_000), ledger.charge(bob.publicKey, 10_000), ledger.charge(carol.publicKey, 10_000)])
        // Alice got hers already; Bob gets what is left of the budget (300); Carol nothing.
        #expect(try ledger.points(alice, from: welcome) == 500 && ledger.points(bob, from: welcome) == 300 && ledger.points(carol, from: welcome) == 0)
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 100)])
        try ledger.commitAll([ledger.pay(from: alice, to: shop.publicKey, 100)])
        #expect(try ledger.points(alice, from: firstUse) == 1_000)
        // Outside the program's period: no bonus; turned off (0): none either.
        try ledger.commitAll([ledger.setProgramTerms(firstUse, startsAt: Fixture.time("2027-01-01T00:00:00+09:00"), by: Fixture.coinIssuerKey)])
        try ledger.commitAll([ledger.pay(from: bob, to: shop.publicKey, 100)])
        #expect(try ledger.points(bob, from: firstUse) == 0)
        try ledger.commitAll([ledger.setEventBonus(firstUse, .firstPayment, 0, by: Fixture.coinIssuerKey)])
        try ledger.commitAll([ledger.pay(from: carol, to: shop.publicKey, 100)], at: Fixture.time("2027-01-02T00:00:00+09:00"))
        #expect(try ledger.points(carol, from: firstUse) == 0)
        // One list per event; a program's bonus moves when it is set for the other event.
        #expect(try ledger.overlay.eventBonuses(.firstPayment).isEmpty && ledger.overlay.eventBonuses(.firstCharge).map(\.program) == [welcome])
        try ledger.commitAll([ledger.setEventBonus(welcome, .firstPayment, 100)])
        #expect(try ledger.overlay.eventBonuses(.firstCharge).isEmpty && ledger.overlay.eventBonuses(.firstPayment).map(\.amountYen) == [100])
        let thanks = try ledger.createdProgram(.thanks, name: "thanks")
        try ledger.expectRejected(ledger.setEventBonus(thanks, .firstCharge, 10), .invalidEventBonus)
        try ledger.expectRejected(ledger.setEventBonus(welcome, .firstCharge, 501), .invalidEventBonus)
        try ledger.expectRejected(ledger.setEventBonus(welcome, .firstCharge, 10, by: Fixture.coinIssuerKey), .notAuthorised)
        try ledger.expectRejected(ledger.setEventBonus(99, .firstCharge, 10), .unknownProgram)
        try ledger.commitAll([ledger.closeProgram(welcome)])
        try ledger.expectRejected(ledger.setEventBonus(welcome, .firstCharge, 10), .programClosed)
        try ledger.expectInvariants()
    }
}
