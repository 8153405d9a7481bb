import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

extension Fixture {
    /// ¥20,000 cap, ¥5,000 a payment, accounts expire 30 days after registration.
    static let visitorPolicy = VisitorPolicy(holderCapYen: 20_000, paymentLimitPerTransactionYen: 5_000, accountLifetimeDays: 30)

    static func visitorGenesis(_ policy: VisitorPolicy? = visitorPolicy) -> Genesis {
        var genesis = PaymentRuleTests.noBonusGenesis()
        genesis.visitorPolicy = policy
        return genesis
    }
}

/// Visitors (issue 21, docs/ledger-rules.md "Visitors").
@Suite("Visitor rules")
struct VisitorRuleTests {
    let tourist = Fixture.account(0)
    let alice = Fixture.account(1)
    let shop = Fixture.account(9)

    func town(_ genesis: Genesis = Fixture.visitorGenesis()) throws -> LedgerHarness {
        let ledger = try LedgerHarness(genesis: genesis)
        try ledger.setUpResidents([(alice, 10_000)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "souvenir")])
        return ledger
    }

    @Test("without a visitorPolicy in genesis, a visitor registration is refused")
    func notEnabled() throws {
        let ledger = try town(Fixture.visitorGenesis(nil))
        try ledger.expectRejected(ledger.register(tourist.publicKey, role: .visitor), .visitorsNotEnabled)
    }

    @Test("a visitor is registered without a resident ID or any attribute, and gets its expiry")
    func registration() throws {
        let ledger = try town()
        try ledger.expectRejected(ledger.register(tourist.publicKey, role: .visitor, residentIdHash: Hash.sha256([1])), .invalidAttribute)
        try ledger.expectRejected(ledger.register(tourist.publicKey, role: .visitor, district: "kita"), .invalidAttribute)
        try ledger.commitAll([ledger.register(tourist.publicKey, role: .visitor)])
        #expect(try ledger.account(tourist.publicKey)?.role == .visitor)
        #expect(try ledger.amount(StateKey.visitorExpiry(tourist.publicKey)) == ledger.timestamp + 30 * 86_400_000)
    }

    @Test("a visitor is charged up to the visitor cap (no charge bonus) and pays merchants up to the per-payment limit")
    func chargeAndPay() throws {
        var genesis = Fixture.visitorGenesis()
        genesis.coin.chargeBonusAppBasisPoints = 100
        let ledger = try town(genesis)
        try ledger.commitAll([ledger.register(tourist.publicKey, role: .visitor)])
        try ledger.commitAll([ledger.charge(tourist.publicKey, 15_000)])
        #expect(try ledger.coin(tourist) == 15_000 && ledger.point(tourist) == 0, "no bonus points for visitors")
        try ledger.expectRejected(ledger.charge(tourist.publicKey, 5_001), .holderCapExceeded)
        try ledger.commitAll([ledger.pay(from: tourist, to: shop.publicKey, 5_000)])
        try ledger.expectRejected(ledger.pay(from: tourist, to: shop.publicKey, 5_001), .visitorLimitExceeded)
        #expect(try ledger.coin(tourist) == 10_000 && ledger.coin(shop) == 5_000)
        try ledger.expectInvariants()
    }

    @Test("a visitor may only be charged and pay: no sends, thanks, grants, business payments or invoices")
    func chargeAndPayOnly() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.register(tourist.publicKey, role: .visitor)])
        try ledger.commitAll([ledger.charge(tourist.publicKey, 5_000)])
        let program = try ledger.createdProgram(name: "welcome")
        try ledger.expectRejected(ledger.send(from: tourist, to: alice.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.send(from: alice, to: tourist.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.thank(from: tourist, to: alice.publicKey, 1), .wrongRole)
        try ledger.expectRejected(ledger.grant(program, to: tourist.publicKey, 100), .wrongRole)
        try ledger.expectRejected(ledger.sign(tourist, .payBusiness(PayBusiness(to: shop.publicKey, amount: 100, reference: "x"))), .wrongRole)
        try ledger.expectRejected(ledger.sign(shop, .issueInvoice(IssueInvoice(payer: tourist.publicKey, amount: 100, dueAt: ledger.timestamp + 86_400_000, reference: "x"))), .wrongRole)
        try ledger.expectRejected(ledger.sign(tourist, .updateConsent(.withdrawn)), .wrongRole)
    }

    @Test("from its expiry a visitor account signs nothing and is charged nothing; its coins are still refunded")
    func expiry() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.register(tourist.publicKey, role: .visitor)])
        try ledger.commitAll([ledger.charge(tourist.publicKey, 3_000)])
        let expiry = try ledger.amount(StateKey.visitorExpiry(tourist.publicKey))
        try ledger.commitAll([ledger.pay(from: tourist, to: shop.publicKey, 500)], at: expiry - 1)
        try ledger.expectRejected(ledger.pay(from: tourist, to: shop.publicKey, 500), .accountExpired, at: expiry)
        try ledger.expectRejected(ledger.charge(tourist.publicKey, 500), .accountExpired, at: expiry)
        try ledger.commitAll([ledger.refund(tourist.publicKey, 2_500, reason: .movedAway, cosigners: [Fixture.cityKey])], at: expiry)
        #expect(try ledger.coin(tourist) == 0)
        try ledger.expectInvariants()
    }

    @Test("role counts give visitors (and expired ones) apart from residents")
    func roleCounts() throws {
        let ledger = try town()
        try ledger.commitAll([ledger.register(tourist.publicKey, role: .visitor), ledger.register(Fixture.account(2).publicKey, role: .visitor)])
        let counts = try ledger.reports.roleCounts(at: ledger.timestamp)
        #expect(counts.residents == 1 && counts.visitors == 2 && counts.merchants == 1 && counts.authorities == 4 && counts.expiredVisitors == 0)
        #expect(try ledger.reports.roleCounts(at: ledger.timestamp + 31 * 86_400_000).expiredVisitors == 2)
    }

    @Test("a genesis without visitorPolicy hashes as before; with one, the policy is appended as 0x02 ‖ policy and survives JSON")
    func genesisEncoding() throws {
        let plain = Fixture.visitorGenesis(nil)
        var encoder = KizunaCore.Encoder()
        encoder.encode(plain.chainId, plain.genesisTime, plain.validators.validators, plain.authorities, plain.coin, plain.point, plain.thanks)
        #expect(plain.canonicalBytes == encoder.bytes)
        let withPolicy = Fixture.visitorGenesis()
        #expect(withPolicy.canonicalBytes == encoder.bytes + [0x02] + Fixture.visitorPolicy.canonicalBytes)
        #expect(withPolicy.hash != plain.hash)
        let parsed = try Genesis(json: withPolicy.jsonData())
        #expect(parsed.visitorPolicy == Fixture.visitorPolicy && parsed.hash == withPolicy.hash)
        #expect(try Genesis(json: plain.jsonData()).visitorPolicy == nil)
        var bad = Fixture.visitorGenesis(VisitorPolicy(holderCapYen: 200_000, paymentLimitPerTransactionYen: 1, accountLifetimeDays: 0))
        #expect(throws: GenesisError(.invalidPolicy, "")) { try Genesis(json: bad.jsonData()) }
        bad.visitorPolicy = VisitorPolicy(holderCapYen: 1_000, paymentLimitPerTransactionYen: 2_000, accountLifetimeDays: 0)
        #expect(throws: GenesisError(.invalidPolicy, "")) { try Genesis(json: bad.jsonData()) }
    }
}

/// Consent that changes (issue 21, docs/ledger-rules.md "Consent that changes").
@Suite("Consent rules")
struct ConsentRuleTests {
    let alice = Fixture.account(0)
    let shop = Fixture.account(9)

    func consent(_ ledger: LedgerHarness, _ key: PrivateKey, district: String?, ageBand: UInt8?, analytics: Bool = true) -> SignedTransaction {
        ledger.sign(key, .updateConsent(UpdateConsent(district: district, ageBand: ageBand, analytics: analytics)))
    }

    @Test("update_consent replaces the attributes and keeps what it replaced under the block's height; withdrawal records its height")
    func updateAndWithdraw() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(alice.publicKey, district: "kita", ageBand: 2)])
        try ledger.commitAll([consent(ledger, alice, district: "minami", ageBand: 3)])
        let moved = ledger.height
        #expect(try ledger.account(alice.publicKey).map { ($0.district, $0.ageBand) } ?? (nil, nil) == ("minami", 3))
        try ledger.commitAll([ledger.sign(alice, .updateConsent(.withdrawn))])
        let withdrawn = ledger.height
        #expect(try ledger.account(alice.publicKey).map { ($0.district, $0.ageBand) } ?? ("x", 9) == (nil, nil))
        #expect(try ledger.amount(StateKey.consentWithdrawn(alice.publicKey)) == withdrawn)
        let reports = ledger.reports
        let account = try ledger.account(alice.publicKey)
        #expect(try reports.attributes(of: alice.publicKey, account: account, at: moved - 1) == .init(district: "kita", ageBand: 2, analytics: true))
        #expect(try reports.attributes(of: alice.publicKey, account: account, at: moved) == .init(district: "minami", ageBand: 3, analytics: true))
        #expect(try reports.attributes(of: alice.publicKey, account: account, at: withdrawn) == .init(district: nil, ageBand: nil, analytics: false))
        #expect(try reports.roleCounts(at: ledger.timestamp).consentWithdrawn == 1)
        // Consenting again ends the withdrawal from that height.
        try ledger.commitAll([consent(ledger, alice, district: nil, ageBand: 4)])
        #expect(try ledger.amount(StateKey.consentWithdrawn(alice.publicKey)) == 0)
        #expect(try reports.attributes(of: alice.publicKey, account: ledger.account(alice.publicKey), at: withdrawn) == .init(district: nil, ageBand: nil, analytics: false))
    }

    @Test("update_consent refusals: attributes with a withdrawal, a bad age band or empty district, no change, a merchant")
    func refusals() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(alice.publicKey, district: "kita", ageBand: 2),
                              ledger.register(shop.publicKey, role: .merchant, merchantCategory: "farm")])
        try ledger.expectRejected(consent(ledger, alice, district: "kita", ageBand: nil, analytics: false), .invalidAttribute)
        try ledger.expectRejected(consent(ledger, alice, district: nil, ageBand: 7), .invalidAttribute)
        try ledger.expectRejected(consent(ledger, alice, district: "", ageBand: nil), .invalidAttribute)
        try ledger.expectRejected(consent(ledger, alice, district: "kita", ageBand: 2), .consentUnchanged)
        try ledger.expectRejected(ledger.sign(shop, .updateConsent(.withdrawn)), .wrongRole)
        try ledger.commitAll([ledger.sign(alice, .updateConsent(.withdrawn))])
        try ledger.expectRejected(ledger.sign(alice, .updateConsent(.withdrawn)), .consentUnchanged)
    }

    @Test("aggregates: payments before a withdrawal stay (under the attributes then in force), payments from its block on are in no cell; visitors are counted apart")
    func aggregates() throws {
        let chain = try ChainHarness(genesis: Fixture.visitorGenesis())
        let chainId = chain.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        var residents = (0..<3).map { TransactionBuilder(chainId: chainId, key: Fixture.account($0), nextNonce: 0) }
        var visitor = TransactionBuilder(chainId: chainId, key: Fixture.account(5), nextNonce: 0)
        let shop = Fixture.account(9)
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        try chain.produce(residents.map { registrar.register($0.key.publicKey, role: .resident, district: "kita") }
                          + [registrar.register(visitor.key.publicKey, role: .visitor), registrar.register(shop.publicKey, role: .merchant, merchantCategory: "farm")], timestamp: time)
        time += 60_000
        try chain.produce((residents.map(\.key) + [visitor.key]).enumerated().map { issuer.charge(to: $1.publicKey, amount: 5_000, receiptId: "c-\($0)") }, timestamp: time)
        time += 60_000
        // Day 1: everyone pays; resident 0 moves to minami after paying, resident 1 withdraws.
        try chain.produce(residents.indices.map { residents[$0].pay(merchant: shop.publicKey, amount: 100) } + [visitor.pay(merchant: shop.publicKey, amount: 300)], timestamp: time)
        time += 60_000
        try chain.produce([residents[0].updateConsent(district: "minami", ageBand: nil, analytics: true), residents[1].updateConsent(district: nil, ageBand: nil, analytics: false)], timestamp: time)
        // Day 2: everyone pays again.
        time = Fixture.time("2026-04-02T09:00:00+09:00")
        try chain.produce(residents.indices.map { residents[$0].pay(merchant: shop.publicKey, amount: 100) }, timestamp: time)
        try chain.produce([], timestamp: Fixture.time("2026-04-03T09:00:00+09:00"))
        let answer = try ChainReports.paymentAggregates(blocks: chain.blocks, fromDay: 20260401, toDay: 20260402, minimumResidents: 1)
        #expect(answer.excludesWithdrawnConsent)
        let days = answer.days
        try #require(days.count == 2)
        #expect(days[0].total.payments == 4 && days[0].total.yen == 600)
        #expect(days[0].byDistrict.map { "\($0.key)=\($0.payments ?? 0)" } == ["kita=3", "undisclosed=1"], "day 1 under the attributes then in force")
        #expect(days[0].byPayerRole.map { "\($0.key)=\($0.payments ?? 0)" } == ["resident=3", "visitor=1"])
        #expect(days[1].total.payments == 2, "the withdrawn resident's payment is in no cell")
        #expect(days[1].byDistrict.map { "\($0.key)=\($0.payments ?? 0)" } == ["kita=1", "minami=1"])
        // The day-1 cells are the same when asked again later (published cells never change).
        let again = try ChainReports.paymentAggregates(blocks: chain.blocks, fromDay: 20260401, toDay: 20260401, minimumResidents: 1)
        #expect(again.days.first == days[0])
    }
}
