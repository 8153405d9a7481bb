import KizunaCore
import KizunaLedger
import KizunaChain
import KizunaStorage
import KizunaWallet
import Testing

/// pay_authorised — store-scanned payments from a phone (issue 19, docs/ledger-rules.md
/// "Customer-presented payments"), one rule and one error code at a time.
@Suite("Customer-presented payment rules")
struct PayAuthorisedRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let shop = Fixture.account(9)
    let otherShop = Fixture.account(10)

    /// Alice (¥5,000 in coins, 300 points) and Bob (¥1,000); two shops. No charge bonus, so
    /// the figures are exact.
    func town() throws -> (ledger: LedgerHarness, program: UInt64) {
        let ledger = try LedgerHarness(genesis: PaymentRuleTests.noBonusGenesis())
        try ledger.setUpResidents([(alice, 5_000), (bob, 1_000)])
        try ledger.commitAll([ledger.register(shop.publicKey, role: .merchant, merchantCategory: "restaurant"),
                              ledger.register(otherShop.publicKey, role: .merchant, merchantCategory: "drugstore")])
        let program = try ledger.createdProgram(name: "welcome")
        try ledger.commitAll([ledger.grant(program, to: alice.publicKey, 300)])
        return (ledger, program)
    }

    /// An authorisation by `payer`, expiring `lifetime` ms after the ledger's last block
    /// time, with a nonce made from `seed` (tests need fixed nonces).
    func authorisation(_ ledger: LedgerHarness, payer: PrivateKey, merchant: PublicKey? = nil, cap: UInt64 = 2_000, lifetime: UInt64 = 120_000, seed: UInt8 = 1, chainId: String? = nil) -> SignedPaymentAuthorisation {
        PaymentAuthorisation(chainId: chainId ?? ledger.genesis.chainId, payer: payer.publicKey, merchant: merchant, capYen: cap,
                             expiresAt: ledger.timestamp + lifetime, nonce: [UInt8](repeating: seed, count: PaymentAuthorisation.nonceBytes)).signed(by: payer)
    }

    func collect(_ ledger: LedgerHarness, _ authorisation: SignedPaymentAuthorisation, _ amount: Amount, by merchant: PrivateKey) -> SignedTransaction {
        ledger.sign(merchant, .payAuthorised(PayAuthorised(authorisation: authorisation, amount: amount)))
    }

    @Test("pay_authorised is a pay from the payer to the signing merchant: points first, then coins; the payer's nonce is untouched")
    func accepted() throws {
        let (ledger, _) = try town()
        let aliceNonce = try ledger.nonce(alice)
        let shopNonce = try ledger.nonce(shop)
        let code = authorisation(ledger, payer: alice)
        try ledger.commitAll([collect(ledger, code, 1_000, by: shop)])
        #expect(try ledger.point(alice) == 0 && ledger.coin(alice) == 4_300)
        #expect(try ledger.account(shop.publicKey).map { ($0.point, $0.coin) } ?? (0, 0) == (300, 700))
        #expect(try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey) == 300)
        #expect(try ledger.nonce(alice) == aliceNonce, "the payer signs no transaction")
        #expect(try ledger.nonce(shop) == shopNonce + 1)
        let authorised = code.authorisation
        #expect(try ledger.amount(StateKey.usedAuthorisation(alice.publicKey, authorised.nonce)) == authorised.expiresAt)
        try ledger.expectInvariants()
    }

    @Test("the same payment as pay: a twin ledger paying with pay ends in the same balances, receivables and rebates")
    func sameAsPay() throws {
        let rebate = RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 300)
        var results: [[UInt64]] = []
        for authorised in [false, true] {
            let (ledger, _) = try town()
            _ = try ledger.createdProgram(name: "campaign", rebate: rebate)
            let transaction = authorised ? collect(ledger, authorisation(ledger, payer: alice), 1_500, by: shop) : ledger.pay(from: alice, to: shop.publicKey, 1_500)
            try ledger.commitAll([transaction])
            let payer = try #require(try ledger.account(alice.publicKey))
            let merchant = try #require(try ledger.account(shop.publicKey))
            results.append([payer.coin, payer.point, merchant.coin, merchant.point, try ledger.receivable(shop.publicKey, Fixture.cityKey.publicKey)])
            try ledger.expectInvariants()
        }
        #expect(results[0] == results[1])
        #expect(results[1] == [3_800, 120, 1_200, 300, 300], "1,500 = 300 points + 1,200 coins; 10% rebate on the coins is 120 points")
    }

    @Test("an authorisation naming a merchant is collected by that merchant")
    func namedMerchant() throws {
        let (ledger, _) = try town()
        try ledger.commitAll([collect(ledger, authorisation(ledger, payer: bob, merchant: otherShop.publicKey), 800, by: otherShop)])
        #expect(try ledger.coin(bob) == 200)
    }

    @Test("ledger.authorisation_cap_exceeded: the amount is over the cap; the cap itself is accepted")
    func capExceeded() throws {
        let (ledger, _) = try town()
        let code = authorisation(ledger, payer: alice, cap: 2_000)
        try ledger.expectRejected(collect(ledger, code, 2_001, by: shop), .authorisationCapExceeded)
        try ledger.commitAll([collect(ledger, code, 2_000, by: shop)])
    }

    @Test("ledger.authorisation_expired: refused from the block time equal to the expiry on")
    func expired() throws {
        let (ledger, _) = try town()
        let code = authorisation(ledger, payer: alice, lifetime: 60_000)
        let expiry = code.authorisation.expiresAt
        try ledger.expectRejected(collect(ledger, code, 100, by: shop), .authorisationExpired, at: expiry)
        try ledger.expectRejected(collect(ledger, code, 100, by: shop), .authorisationExpired, at: expiry + 3_600_000)
        try ledger.commitAll([collect(ledger, code, 100, by: shop)], at: expiry - 1)
    }

    @Test("ledger.authorisation_too_long: an expiry more than ten minutes after the block time")
    func tooLong() throws {
        let (ledger, _) = try town()
        let blockTime = ledger.timestamp + 1_000
        let tooLong = PaymentAuthorisation(chainId: ledger.genesis.chainId, payer: alice.publicKey, merchant: nil, capYen: 100,
                                           expiresAt: blockTime + PaymentAuthorisation.maxLifetimeMilliseconds + 1, nonce: [UInt8](repeating: 7, count: 16)).signed(by: alice)
        try ledger.expectRejected(collect(ledger, tooLong, 100, by: shop), .authorisationTooLong, at: blockTime)
        // One millisecond later the same expiry is within the bound.
        try ledger.commitAll([collect(ledger, tooLong, 100, by: shop)], at: blockTime + 1)
    }

    @Test("ledger.authorisation_used: an authorisation settles once — again by the same merchant, by another, or twice in one block")
    func replay() throws {
        let (ledger, _) = try town()
        let code = authorisation(ledger, payer: alice)
        try ledger.commitAll([collect(ledger, code, 500, by: shop)])
        try ledger.expectRejected(collect(ledger, code, 500, by: shop), .authorisationUsed)
        try ledger.expectRejected(collect(ledger, code, 1, by: otherShop), .authorisationUsed)
        // A re-signed authorisation with the same payer and nonce but another cap: still used.
        let sameNonce = authorisation(ledger, payer: alice, cap: 3_000)
        try ledger.expectRejected(collect(ledger, sameNonce, 1, by: shop), .authorisationUsed)
        // The resubmitted transaction itself is a stale merchant nonce.
        let resubmitted = ledger.sign(shop, nonce: 0, .payAuthorised(PayAuthorised(authorisation: code, amount: 500)))
        try ledger.expectRejected(resubmitted, .badNonce)

        let fresh = authorisation(ledger, payer: bob, seed: 2)
        let execution = try ledger.block([collect(ledger, fresh, 100, by: shop), collect(ledger, fresh, 100, by: otherShop)])
        #expect(execution.accepted.count == 1)
        #expect(execution.rejected.map(\.error.code) == [.authorisationUsed])
        #expect(try ledger.coin(bob) == 900)
        // Bob's nonce is another payer's: Alice's nonce does not block it.
        try ledger.commitAll([collect(ledger, authorisation(ledger, payer: bob, seed: 1), 100, by: shop)])
    }

    @Test("ledger.authorisation_wrong_merchant: an authorisation for one merchant, collected by another")
    func wrongMerchant() throws {
        let (ledger, _) = try town()
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: alice, merchant: shop.publicKey), 100, by: otherShop), .authorisationWrongMerchant)
    }

    @Test("ledger.wrong_role: only a merchant collects (it is the payee); only a resident pays")
    func wrongRole() throws {
        let (ledger, _) = try town()
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: alice), 100, by: bob), .wrongRole)
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: alice), 100, by: Fixture.cityKey), .wrongRole)
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: otherShop), 100, by: shop), .wrongRole)
    }

    @Test("ledger.authorisation_bad_signature: signed by another key, or altered after signing")
    func badSignature() throws {
        let (ledger, _) = try town()
        let code = authorisation(ledger, payer: alice, cap: 100)
        let forged = SignedPaymentAuthorisation(authorisation: code.authorisation, signature: bob.sign(code.authorisation.signingBytes))
        try ledger.expectRejected(collect(ledger, forged, 100, by: shop), .authorisationBadSignature)
        var raised = code
        raised.authorisation.capYen = 5_000
        try ledger.expectRejected(collect(ledger, raised, 5_000, by: shop), .authorisationBadSignature)
        // A transaction-domain signature over the same bytes is not an authorisation's.
        let otherDomain = SignedPaymentAuthorisation(authorisation: code.authorisation, signature: alice.sign(HashDomain.transaction.prefix + code.authorisation.canonicalBytes))
        try ledger.expectRejected(collect(ledger, otherDomain, 100, by: shop), .authorisationBadSignature)
    }

    @Test("ledger.authorisation_wrong_chain: an authorisation signed for another chain")
    func wrongChain() throws {
        let (ledger, _) = try town()
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: alice, chainId: "other-chain"), 100, by: shop), .authorisationWrongChain)
    }

    @Test("pay's own refusals apply: frozen payer, unknown payer, insufficient balance, zero amount")
    func payRules() throws {
        let (ledger, _) = try town()
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: bob, cap: 5_000), 1_001, by: shop), .insufficientBalance)
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: bob), 0, by: shop), .invalidAmount)
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: Fixture.account(20)), 100, by: shop), .unknownAccount)
        try ledger.commitAll([ledger.freeze(bob.publicKey)])
        try ledger.expectRejected(collect(ledger, authorisation(ledger, payer: bob), 100, by: shop), .frozen)
    }

    @Test("used-authorisation records are pruned once expired, so state stays bounded; the expired code is still refused")
    func pruning() throws {
        let (ledger, _) = try town()
        let code = authorisation(ledger, payer: alice, lifetime: 30_000)
        let authorised = code.authorisation
        try ledger.commitAll([collect(ledger, code, 100, by: shop)])
        let record = StateKey.usedAuthorisation(alice.publicKey, authorised.nonce)
        let index = StateKey.authorisationExpiry(authorised.expiresAt, alice.publicKey, authorised.nonce)
        #expect(try ledger.store.get(record, in: .state) != nil && ledger.store.get(index, in: .state) != nil)
        try ledger.commitAll([], at: authorised.expiresAt - 1)
        #expect(try ledger.store.get(record, in: .state) != nil, "kept while the authorisation could still be presented")
        let execution = try ledger.block([], at: authorised.expiresAt)
        #expect(Set(execution.changes.map(\.key)) == [record, index] && execution.changes.allSatisfy { $0.value == nil })
        #expect(try ledger.store.get(record, in: .state) == nil && ledger.store.get(index, in: .state) == nil)
        try ledger.expectRejected(collect(ledger, code, 100, by: shop), .authorisationExpired)
        try ledger.expectInvariants()
    }

    @Test("end to end from the wallet library: authorise, render as text, parse on the terminal, collect, settle")
    func walletFlow() throws {
        let (ledger, _) = try town()
        let code = try PaymentCode.authorise(chainId: ledger.genesis.chainId, key: alice, merchant: shop.publicKey, capYen: 3_000, now: ledger.timestamp, lifetimeSeconds: 90)
        let text = PaymentCode.text(code)
        #expect(text.hasPrefix("kizuna-pay:"))
        let scanned = try PaymentCode.parse(text)
        #expect(scanned == code)
        var terminal = TransactionBuilder(chainId: ledger.genesis.chainId, key: shop, nextNonce: try ledger.nonce(shop))
        try ledger.commitAll([terminal.collect(scanned, amount: 2_480)])
        #expect(try ledger.coin(alice) == 5_000 - 2_180 && ledger.point(alice) == 0)
        // A second code has a fresh nonce.
        let second = try PaymentCode.authorise(chainId: ledger.genesis.chainId, key: alice, merchant: nil, capYen: 100, now: ledger.timestamp)
        #expect(second.authorisation.nonce != code.authorisation.nonce)
        #expect(second.authorisation.expiresAt == ledger.timestamp + 120_000)
    }

    @Test("payment codes: refused to make a code the ledger would refuse; refused to read anything but a signed code")
    func paymentCodeErrors() throws {
        let key = alice
        #expect(throws: PaymentCodeError(.invalid, "")) { try PaymentCode.authorise(chainId: "c", key: key, merchant: nil, capYen: 0, now: 0) }
        #expect(throws: PaymentCodeError(.invalid, "")) { try PaymentCode.authorise(chainId: "c", key: key, merchant: nil, capYen: 1, now: 0, lifetimeSeconds: 601) }
        #expect(throws: PaymentCodeError(.notAPaymentCode, "")) { try PaymentCode.parse("https://example.com") }
        #expect(throws: PaymentCodeError(.malformed, "")) { try PaymentCode.parse("kizuna-pay:***") }
        #expect(throws: PaymentCodeError(.malformed, "")) { try PaymentCode.parse("kizuna-pay:AAAA") }
        let code = try PaymentCode.authorise(chainId: "c", key: key, merchant: nil, capYen: 1, now: 0)
        var altered = code
        altered.authorisation.capYen = 2
        #expect(throws: PaymentCodeError(.badSignature, "")) { try PaymentCode.parse(PaymentCode.text(altered)) }
        #expect(try PaymentCode.parse("  " + PaymentCode.text(code) + "\n") == code)
    }

    @Test("base64url: RFC 4648 test vectors, unpadded; non-canonical and invalid text refused")
    func base64url() {
        let vectors: [(String, String)] = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.decode("Zh") == nil, "unused bits set")
        #expect(Base64URL.decode("Z") == nil)
        #expect(Base64URL.decode("Zg==") == nil)
        #expect(Base64URL.decode("+/") == nil)
    }
}

/// Customer-presented payments count in the payment aggregates (issue 17's report) as payments
/// by the authorisation's payer at the collecting merchant.
@Suite("Customer-presented payments in the aggregates")
struct PayAuthorisedAggregateTests {
    @Test("twelve residents pay by showing a code: the closed day counts twelve payments by twelve residents, with the payers' districts")
    func aggregates() throws {
        let chain = try ChainHarness()
        let chainId = chain.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        let residents = (0..<12).map { Fixture.account($0) }
        let shop = Fixture.account(40)
        var terminal = TransactionBuilder(chainId: chainId, key: shop, nextNonce: 0)
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        try chain.produce(residents.map { registrar.register($0.publicKey, role: .resident, district: "north", ageBand: 6) }
                          + [registrar.register(shop.publicKey, role: .merchant, merchantCategory: "supermarket")], timestamp: time)
        time += 60_000
        try chain.produce(residents.enumerated().map { issuer.charge(to: $1.publicKey, amount: 5_000, receiptId: "code-\($0)") }, timestamp: time)
        time = Fixture.time("2026-04-01T10:00:00+09:00")
        let collections = try residents.map { resident in
            let code = try PaymentCode.authorise(chainId: chainId, key: resident, merchant: shop.publicKey, capYen: 1_000, now: time)
            return terminal.collect(try PaymentCode.parse(PaymentCode.text(code)), amount: 700)
        }
        try chain.produce(collections, timestamp: time + 5_000)
        try chain.produce([], timestamp: Fixture.time("2026-04-02T08:00:00+09:00"))
        let answer = try ChainReports.paymentAggregates(blocks: chain.blocks, fromDay: 20260401, toDay: 20260401)
        let day = try #require(answer.days.first)
        #expect(day.total.payments == 12 && day.total.residents == 12 && day.total.yen == 8_400)
        #expect(day.byMerchantCategory.map(\.key) == ["supermarket"])
        #expect(day.byDistrict.map(\.key) == ["north"] && day.byAgeBand.map(\.key) == ["6"])
    }
}
