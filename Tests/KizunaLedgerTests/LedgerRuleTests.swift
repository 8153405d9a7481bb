import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// The rules of register, charge and send (docs/ledger-rules.md), one error code at a time,
/// through `Ledger.execute` on a `MemoryStore`.
@Suite("Ledger rules")
struct LedgerRuleTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let dave = Fixture.account(3)
    let erin = Fixture.account(4)
    let merchant = Fixture.account(9)
    let stranger = Fixture.account(20)

    // MARK: - Genesis and the happy path

    @Test("genesis registers the four authorities and the charge-bonus program")
    func genesisRegistersAuthorities() throws {
        let ledger = try LedgerHarness()
        let accounts = try storedAccounts(ledger.store)
        #expect(accounts.count == 4)
        for authority in Fixture.authorities.all {
            let account = try #require(try ledger.account(authority.key), "\(authority.role) is not registered")
            #expect(account.role == .authority)
            #expect(account.nonce == 0)
            #expect(account.coin == 0 && account.point == 0 && account.thanks == 0)
            #expect(!account.frozen)
            #expect(account.registeredAt == Fixture.genesisTime)
        }
        // The four accounts, the charge-bonus program (0), the next program id and the
        // current base period.
        #expect(ledger.store.allEntries(in: .state).count == 7, "genesis writes the four accounts, program 0 and two counters")
        #expect(try ledger.account(Fixture.validatorKey.publicKey) == nil, "validator keys are not accounts")
        #expect(try ledger.supply() == SupplyState())
        #expect(ledger.stateRoot != .zero)
        // The same genesis gives the same root.
        #expect(try LedgerHarness().stateRoot == ledger.stateRoot)
        try expectCoinInvariant(ledger.store)
    }

    @Test("register → charge → send: balances, nonces, supply and state keys")
    func happyPath() throws {
        let ledger = try LedgerHarness()
        let residentIdHash = TransactionBuilder.residentIdHash(residentId: "KZ-000123", salt: Array("salt".utf8))
        let registeredAt = Fixture.time("2026-04-01T10:00:00+09:00")
        try ledger.commitAll([
            ledger.register(alice.publicKey, residentIdHash: residentIdHash, district: "kita", ageBand: 2),
            ledger.register(bob.publicKey),
            ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "supermarket", district: "minami"),
        ], at: registeredAt)

        let aliceAccount = try #require(try ledger.account(alice.publicKey))
        #expect(aliceAccount.role == .resident)
        #expect(aliceAccount.residentIdHash == residentIdHash)
        #expect(aliceAccount.district == "kita")
        #expect(aliceAccount.ageBand == 2)
        #expect(aliceAccount.registeredAt == registeredAt)
        #expect(aliceAccount.coinChangedAt == registeredAt)
        #expect(aliceAccount.nonce == 0 && aliceAccount.coin == 0)
        let merchantAccount = try #require(try ledger.account(merchant.publicKey))
        #expect(merchantAccount.role == .merchant && merchantAccount.merchantCategory == "supermarket")
        #expect(try ledger.store.get(StateKey.residentId(residentIdHash), in: .state) == alice.publicKey.bytes)
        #expect(try ledger.nonce(Fixture.registrarKey) == 3)

        let chargedAt = Fixture.time("2026-04-02T12:00:00+09:00")
        let charge = ledger.charge(alice.publicKey, 10_000, channel: .chargeMachine, receipt: "machine-7/0001")
        try ledger.commitAll([charge], at: chargedAt)
        #expect(try ledger.coin(alice) == 10_000)
        #expect(try ledger.account(alice.publicKey)?.coinChangedAt == chargedAt)
        #expect(try ledger.nonce(Fixture.coinIssuerKey) == 1)
        #expect(try ledger.nonce(alice) == 0, "the recipient of a charge does not sign")
        #expect(try ledger.supply().minted == 10_000)
        #expect(try ledger.store.get(StateKey.receipt("machine-7/0001"), in: .state) == charge.id.bytes)
        try expectCoinInvariant(ledger.store)

        let sentAt = Fixture.time("2026-04-03T08:30:00+09:00")
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 3_000)], at: sentAt)
        #expect(try ledger.coin(alice) == 7_000)
        #expect(try ledger.coin(bob) == 3_000)
        #expect(try ledger.nonce(alice) == 1)
        #expect(try ledger.nonce(bob) == 0)
        #expect(try ledger.account(alice.publicKey)?.coinChangedAt == sentAt)
        #expect(try ledger.account(bob.publicKey)?.coinChangedAt == sentAt)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == 3_000)
        #expect(try ledger.monthlySent(bob, yearMonth: 202604) == nil)
        let supply = try ledger.supply()
        #expect(supply.minted == 10_000 && supply.redeemed == 0 && supply.refunded == 0 && supply.expired == 0)
        #expect(supply.outstanding == 10_000)
        try expectCoinInvariant(ledger.store)

        // Several transactions of one signer in one block take consecutive nonces.
        try ledger.commitAll([
            ledger.send(from: alice, to: bob.publicKey, 500),
            ledger.send(from: alice, to: bob.publicKey, 500),
            ledger.send(from: bob, to: alice.publicKey, 250),
        ])
        #expect(try ledger.nonce(alice) == 3)
        #expect(try ledger.nonce(bob) == 1)
        #expect(try ledger.coin(alice) == 6_250)
        #expect(try ledger.coin(bob) == 3_750)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == 4_000)
        #expect(try ledger.monthlySent(bob, yearMonth: 202604) == 250)
        try expectCoinInvariant(ledger.store)
    }

    @Test("receipts number the accepted transactions of a block in order")
    func receiptsNumberAcceptedTransactions() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 1_000), (bob, 0)])
        let good1 = ledger.send(from: alice, to: bob.publicKey, 100)
        let bad = ledger.send(from: bob, to: alice.publicKey, 5_000)
        let good2 = ledger.send(from: alice, to: bob.publicKey, 100)
        let execution = try ledger.block([good1, bad, good2])
        #expect(execution.accepted.map(\.id) == [good1.id, good2.id])
        #expect(execution.receipts.map(\.transactionId) == [good1.id, good2.id])
        #expect(execution.receipts.map(\.index) == [0, 1])
        #expect(execution.receipts.allSatisfy { $0.height == ledger.height })
        #expect(execution.rejected.map(\.error.code) == [.insufficientBalance])
    }

    // MARK: - tx.bad_nonce

    @Test("tx.bad_nonce: a nonce below or above the account's next nonce")
    func badNonce() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000), (bob, 0)])
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 1)])
        #expect(try ledger.nonce(alice) == 1)
        let send = TransactionBody.send(Send(to: bob.publicKey, amount: 1))
        try ledger.expectRejected(ledger.sign(alice, nonce: 0, send), .badNonce)
        try ledger.expectRejected(ledger.sign(alice, nonce: 2, send), .badNonce)
        try ledger.expectRejected(ledger.sign(alice, nonce: UInt64.max, send), .badNonce)
        // Authorities too.
        let registrarNonce = try ledger.nonce(Fixture.registrarKey)
        let register = TransactionBody.register(Register(account: carol.publicKey, role: .resident))
        try ledger.expectRejected(ledger.sign(Fixture.registrarKey, nonce: registrarNonce - 1, register), .badNonce)
        try ledger.expectRejected(ledger.sign(Fixture.registrarKey, nonce: registrarNonce + 1, register), .badNonce)
        // The right nonce still works.
        try ledger.commitAll([ledger.sign(alice, nonce: 1, send)])
    }

    @Test("tx.bad_nonce: a replayed transaction is refused")
    func replayIsRefused() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000), (bob, 0)])
        let send = ledger.send(from: alice, to: bob.publicKey, 1_000)
        try ledger.commitAll([send])
        try ledger.expectRejected(send, .badNonce)
        // The same transaction twice in one block: the second is refused.
        let again = ledger.send(from: alice, to: bob.publicKey, 1_000)
        let execution = try ledger.block([again, again])
        #expect(execution.accepted.map(\.id) == [again.id])
        #expect(execution.rejected.map(\.error.code) == [.badNonce])
        #expect(try ledger.coin(bob) == 2_000)
    }

    // MARK: - ledger.unknown_account

    @Test("ledger.unknown_account: unregistered signer")
    func unknownSigner() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.expectRejected(ledger.send(from: stranger, to: alice.publicKey, 1), .unknownAccount)
        // A validator key is not an account either.
        try ledger.expectRejected(ledger.send(from: Fixture.validatorKey, to: alice.publicKey, 1), .unknownAccount)
    }

    @Test("ledger.unknown_account: unregistered recipient of a send or a charge")
    func unknownRecipient() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.expectRejected(ledger.send(from: alice, to: stranger.publicKey, 1), .unknownAccount)
        try ledger.expectRejected(ledger.charge(stranger.publicKey, 1_000), .unknownAccount)
    }

    // MARK: - ledger.not_authorised

    @Test("ledger.not_authorised: register by anyone but the registrar")
    func registerByNonRegistrar() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0)])
        for signer in [Fixture.coinIssuerKey, Fixture.cityKey, Fixture.auditorKey, alice] {
            try ledger.expectRejected(ledger.register(bob.publicKey, by: signer), .notAuthorised)
        }
    }

    @Test("ledger.not_authorised: charge by anyone but the coin issuer")
    func chargeByNonIssuer() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0)])
        for signer in [Fixture.registrarKey, Fixture.cityKey, Fixture.auditorKey, alice] {
            try ledger.expectRejected(ledger.charge(alice.publicKey, 1_000, by: signer), .notAuthorised)
        }
    }

    // MARK: - ledger.account_exists, ledger.resident_already_registered

    @Test("ledger.account_exists: registering a registered key")
    func accountExists() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0)])
        try ledger.expectRejected(ledger.register(alice.publicKey), .accountExists)
        try ledger.expectRejected(ledger.register(alice.publicKey, role: .merchant, merchantCategory: "restaurant"), .accountExists)
        // The genesis authorities are registered accounts.
        try ledger.expectRejected(ledger.register(Fixture.cityKey.publicKey), .accountExists)
        // Twice in one block: the second is refused.
        let execution = try ledger.block([ledger.register(bob.publicKey), ledger.register(bob.publicKey)])
        #expect(execution.accepted.count == 1)
        #expect(execution.rejected.map(\.error.code) == [.accountExists])
    }

    @Test("ledger.resident_already_registered: one resident, one account")
    func residentAlreadyRegistered() throws {
        let ledger = try LedgerHarness()
        let residentIdHash = TransactionBuilder.residentIdHash(residentId: "KZ-000123", salt: [7, 7, 7])
        try ledger.commitAll([ledger.register(alice.publicKey, residentIdHash: residentIdHash)])
        try ledger.expectRejected(ledger.register(bob.publicKey, residentIdHash: residentIdHash), .residentAlreadyRegistered)
        try ledger.expectRejected(ledger.register(bob.publicKey, residentIdHash: residentIdHash, district: "kita", ageBand: 3), .residentAlreadyRegistered)
        // Another resident ID, or none (the hash is opt-in), is fine.
        try ledger.commitAll([
            ledger.register(bob.publicKey, residentIdHash: TransactionBuilder.residentIdHash(residentId: "KZ-000124", salt: [7, 7, 7])),
            ledger.register(carol.publicKey),
            ledger.register(dave.publicKey),
        ])
        // Two registrations of one resident in one block: the second is refused.
        let sameResident = TransactionBuilder.residentIdHash(residentId: "KZ-000999", salt: [7, 7, 7])
        let execution = try ledger.block([ledger.register(erin.publicKey, residentIdHash: sameResident), ledger.register(stranger.publicKey, residentIdHash: sameResident)])
        #expect(execution.accepted.count == 1)
        #expect(execution.rejected.map(\.error.code) == [.residentAlreadyRegistered])
    }

    // MARK: - ledger.invalid_attribute

    @Test("ledger.invalid_attribute: merchant without category")
    func merchantWithoutCategory() throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.register(merchant.publicKey, role: .merchant), .invalidAttribute)
        try ledger.expectRejected(ledger.register(merchant.publicKey, role: .merchant, merchantCategory: ""), .invalidAttribute)
    }

    @Test("ledger.invalid_attribute: merchant with resident attributes")
    func merchantWithResidentAttributes() throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "drugstore", residentIdHash: Hash.sha256([1])), .invalidAttribute)
        try ledger.expectRejected(ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "drugstore", ageBand: 3), .invalidAttribute)
        // A district is allowed for a merchant.
        try ledger.commitAll([ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "drugstore", district: "higashi")])
    }

    @Test("ledger.invalid_attribute: resident with category")
    func residentWithCategory() throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.register(alice.publicKey, merchantCategory: "supermarket"), .invalidAttribute)
        try ledger.expectRejected(ledger.register(alice.publicKey, merchantCategory: ""), .invalidAttribute)
    }

    @Test("ledger.invalid_attribute: age band out of 0–6", arguments: [UInt8(7), 8, 200, 255])
    func ageBandOutOfRange(band: UInt8) throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.register(alice.publicKey, ageBand: band), .invalidAttribute)
    }

    @Test("ledger.invalid_attribute: age bands 0–6 are accepted; an empty district is not")
    func ageBandBoundaries() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll((0...6).map { ledger.register(Fixture.account(Int($0)).publicKey, ageBand: UInt8($0)) })
        try ledger.expectRejected(ledger.register(stranger.publicKey, district: ""), .invalidAttribute)
    }

    @Test("ledger.invalid_attribute: a charge without receipt id")
    func chargeWithoutReceipt() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0)])
        try ledger.expectRejected(ledger.charge(alice.publicKey, 1_000, receipt: ""), .invalidAttribute)
    }

    // MARK: - ledger.wrong_role

    @Test("ledger.wrong_role: registering an authority or a validator key")
    func registerWrongRole() throws {
        let ledger = try LedgerHarness()
        try ledger.expectRejected(ledger.register(alice.publicKey, role: .authority), .wrongRole)
        try ledger.expectRejected(ledger.register(Fixture.validatorKey.publicKey), .wrongRole)
        try ledger.expectRejected(ledger.register(Fixture.validatorKey.publicKey, role: .merchant, merchantCategory: "restaurant"), .wrongRole)
    }

    @Test("ledger.wrong_role: charging a merchant or an authority")
    func chargeToMerchant() throws {
        let ledger = try LedgerHarness()
        try ledger.commitAll([ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "restaurant")])
        try ledger.expectRejected(ledger.charge(merchant.publicKey, 1_000), .wrongRole)
        try ledger.expectRejected(ledger.charge(Fixture.cityKey.publicKey, 1_000), .wrongRole)
        try ledger.expectRejected(ledger.charge(Fixture.coinIssuerKey.publicKey, 1_000), .wrongRole)
    }

    @Test("ledger.wrong_role: sending to a merchant or an authority")
    func sendToMerchant() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.commitAll([ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "restaurant")])
        try ledger.expectRejected(ledger.send(from: alice, to: merchant.publicKey, 1_000), .wrongRole)
        try ledger.expectRejected(ledger.send(from: alice, to: Fixture.coinIssuerKey.publicKey, 1_000), .wrongRole)
    }

    @Test("ledger.wrong_role: a merchant or an authority sending")
    func merchantSending() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.commitAll([ledger.register(merchant.publicKey, role: .merchant, merchantCategory: "restaurant")])
        try ledger.expectRejected(ledger.send(from: merchant, to: alice.publicKey, 1), .wrongRole)
        try ledger.expectRejected(ledger.send(from: Fixture.coinIssuerKey, to: alice.publicKey, 1), .wrongRole)
    }

    // MARK: - ledger.invalid_amount

    @Test("ledger.invalid_amount: charge or send of ¥0")
    func zeroAmount() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000), (bob, 0)])
        try ledger.expectRejected(ledger.charge(alice.publicKey, 0), .invalidAmount)
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 0), .invalidAmount)
    }

    // MARK: - ledger.duplicate_receipt

    @Test("ledger.duplicate_receipt: a receipt id is charged once")
    func duplicateReceipt() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 0), (bob, 0)])
        try ledger.commitAll([ledger.charge(alice.publicKey, 1_000, receipt: "app/42")])
        // Same receipt again, to the same or another resident, same or other amount/channel.
        try ledger.expectRejected(ledger.charge(alice.publicKey, 1_000, receipt: "app/42"), .duplicateReceipt)
        try ledger.expectRejected(ledger.charge(bob.publicKey, 2_000, channel: .chargeMachine, receipt: "app/42"), .duplicateReceipt)
        // Twice within one block: the second is refused.
        let execution = try ledger.block([ledger.charge(alice.publicKey, 500, receipt: "app/43"), ledger.charge(bob.publicKey, 500, receipt: "app/43")])
        #expect(execution.rejected.map(\.error.code) == [.duplicateReceipt])
        #expect(try ledger.coin(alice) == 1_500)
        #expect(try ledger.coin(bob) == 0)
        #expect(try ledger.supply().minted == 1_500)
        // Receipt ids are compared exactly.
        try ledger.commitAll([ledger.charge(bob.publicKey, 1, receipt: "app/42 "), ledger.charge(bob.publicKey, 1, receipt: "APP/42")])
    }

    // MARK: - ledger.holder_cap_exceeded

    @Test("ledger.holder_cap_exceeded: a charge may reach the cap exactly, not pass it")
    func holderCapOnCharge() throws {
        let ledger = try LedgerHarness()
        let cap = Genesis.defaultCoinPolicy.holderCapYen
        try ledger.setUpResidents([(alice, 30_000), (bob, 0)])
        try ledger.expectRejected(ledger.charge(alice.publicKey, cap - 30_000 + 1), .holderCapExceeded)
        try ledger.commitAll([ledger.charge(alice.publicKey, cap - 30_000)])
        #expect(try ledger.coin(alice) == cap)
        try ledger.expectRejected(ledger.charge(alice.publicKey, 1), .holderCapExceeded)
        // From zero: exactly the cap is fine, one more is not.
        try ledger.expectRejected(ledger.charge(bob.publicKey, cap + 1), .holderCapExceeded)
        try ledger.commitAll([ledger.charge(bob.publicKey, cap)])
        try expectCoinInvariant(ledger.store)
    }

    @Test("ledger.holder_cap_exceeded: a send may fill the recipient to the cap exactly, not past it")
    func holderCapOnSend() throws {
        let ledger = try LedgerHarness()
        let cap = Genesis.defaultCoinPolicy.holderCapYen
        try ledger.setUpResidents([(alice, 10_000), (bob, cap - 4_000)])
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 4_001), .holderCapExceeded)
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 4_000)])
        #expect(try ledger.coin(bob) == cap)
        #expect(try ledger.coin(alice) == 6_000)
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .holderCapExceeded)
        // The refused sends did not count toward the monthly total.
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == 4_000)
        try expectCoinInvariant(ledger.store)
    }

    @Test("ledger.overflow: a charge whose balance would not fit in 64 bits")
    func chargeOverflow() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 1)])
        try ledger.expectRejected(ledger.charge(alice.publicKey, UInt64.max), .overflow)
        // From a zero balance the same amount is simply over the cap.
        try ledger.setUpResidents([(bob, 0)])
        try ledger.expectRejected(ledger.charge(bob.publicKey, UInt64.max), .holderCapExceeded)
    }

    // MARK: - ledger.send_limit_exceeded

    @Test("ledger.send_limit_exceeded: exactly the per-send limit is fine, one yen more is not")
    func sendLimit() throws {
        let ledger = try LedgerHarness()
        let limit = Genesis.defaultCoinPolicy.sendLimitPerTransactionYen
        try ledger.setUpResidents([(alice, limit), (bob, 0)])
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, limit)])
        #expect(try ledger.coin(bob) == limit)
        // With the default policy the cap equals the per-send limit, so limit + 1 is also
        // more than any balance: the send limit is checked first and named.
        try ledger.expectRejected(ledger.send(from: bob, to: alice.publicKey, limit + 1), .sendLimitExceeded)
        try ledger.expectRejected(ledger.send(from: bob, to: alice.publicKey, UInt64.max), .sendLimitExceeded)
    }

    @Test("ledger.send_limit_exceeded: with a cap above the limit, the sender can afford it and is still refused")
    func sendLimitWithHigherCap() throws {
        var policy = Genesis.defaultCoinPolicy
        policy.holderCapYen = 200_000
        let ledger = try LedgerHarness(genesis: Fixture.genesis(coin: policy))
        try ledger.setUpResidents([(alice, 150_000), (bob, 0)])
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 100_001), .sendLimitExceeded)
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 100_000)])
        #expect(try ledger.coin(alice) == 50_000)
        #expect(try ledger.coin(bob) == 100_000)
    }

    // MARK: - ledger.monthly_send_limit_exceeded

    @Test("ledger.monthly_send_limit_exceeded: months are Japan-time months of the block timestamp")
    func monthlySendLimitAtJapanMonthBoundary() throws {
        let ledger = try LedgerHarness()
        let limit = Genesis.defaultCoinPolicy.sendLimitPerMonthYen
        #expect(limit == 300_000)
        try ledger.setUpResidents([(alice, 0), (bob, 0), (carol, 0), (dave, 0), (erin, 0)])
        let recipients = [bob, carol, dave]
        // Three charges of ¥100,000 sent on, early in April: ¥300,000 sent this month.
        for recipient in recipients.dropLast() {
            try ledger.commitAll([ledger.charge(alice.publicKey, 100_000)], at: Fixture.time("2026-04-10T12:00:00+09:00") + ledger.height)
            try ledger.commitAll([ledger.send(from: alice, to: recipient.publicKey, 100_000)], at: Fixture.time("2026-04-10T12:00:00+09:00") + ledger.height)
        }
        try ledger.commitAll([ledger.charge(alice.publicKey, 100_000)], at: Fixture.time("2026-04-30T23:00:00+09:00"))
        // The last second of April in Japan (14:59:59 UTC): still April, the total reaches
        // the limit exactly and is accepted…
        let lastSecondOfApril = Fixture.time("2026-04-30T23:59:59+09:00")
        #expect(lastSecondOfApril == Fixture.time("2026-04-30T14:59:59Z"))
        try ledger.commitAll([ledger.send(from: alice, to: dave.publicKey, 99_999)], at: lastSecondOfApril)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == limit - 1)
        try ledger.expectRejected(ledger.send(from: alice, to: erin.publicKey, 2), .monthlySendLimitExceeded, at: lastSecondOfApril + 999)
        try ledger.commitAll([ledger.send(from: alice, to: erin.publicKey, 1)], at: lastSecondOfApril + 999)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == limit)
        // …and one yen more in the same Japan-time month is refused.
        try ledger.expectRejected(ledger.send(from: alice, to: erin.publicKey, 1), .monthlySendLimitExceeded, at: lastSecondOfApril + 999)
        // Midnight in Japan is 15:00 UTC on 30 April: still April in UTC, but May here, so
        // the monthly total starts afresh.
        let firstSecondOfMay = Fixture.time("2026-05-01T00:00:00+09:00")
        #expect(firstSecondOfMay == Fixture.time("2026-04-30T15:00:00Z"))
        try ledger.commitAll([ledger.charge(alice.publicKey, 100_000)], at: firstSecondOfMay)
        #expect(try ledger.coin(alice) == 100_000)
        try ledger.commitAll([ledger.send(from: alice, to: erin.publicKey, 99_999)], at: firstSecondOfMay)
        #expect(try ledger.monthlySent(alice, yearMonth: 202605) == 99_999)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == limit, "April's total is not touched by a May send")
        try expectCoinInvariant(ledger.store)
    }

    @Test("ledger.monthly_send_limit_exceeded: the first second of April in Japan is 31 March UTC")
    func monthStartsAtJapanMidnight() throws {
        var policy = Genesis.defaultCoinPolicy
        policy.sendLimitPerMonthYen = 100_000
        // Genesis before the boundary so blocks can sit on either side of it.
        let ledger = try LedgerHarness(genesis: Fixture.genesis(genesisTime: Fixture.time("2026-03-01T00:00:00+09:00"), coin: policy))
        try ledger.setUpResidents([(alice, 100_000), (bob, 0), (carol, 0)])
        let lastSecondOfMarch = Fixture.time("2026-03-31T23:59:59+09:00")
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 60_000)], at: lastSecondOfMarch)
        #expect(try ledger.monthlySent(alice, yearMonth: 202603) == 60_000)
        try ledger.expectRejected(ledger.send(from: alice, to: carol.publicKey, 40_001), .monthlySendLimitExceeded, at: lastSecondOfMarch)
        let firstSecondOfApril = Fixture.time("2026-04-01T00:00:00+09:00")
        #expect(CivilTime.japanYearMonth(milliseconds: firstSecondOfApril) == 202604)
        try ledger.commitAll([ledger.send(from: alice, to: carol.publicKey, 40_000)], at: firstSecondOfApril)
        #expect(try ledger.monthlySent(alice, yearMonth: 202604) == 40_000)
        #expect(try ledger.monthlySent(alice, yearMonth: 202603) == 60_000)
    }

    // MARK: - ledger.insufficient_balance, ledger.self_transfer

    @Test("ledger.insufficient_balance: a send of more than the balance")
    func insufficientBalance() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000), (bob, 0)])
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 5_001), .insufficientBalance)
        try ledger.expectRejected(ledger.send(from: bob, to: alice.publicKey, 1), .insufficientBalance)
        try ledger.commitAll([ledger.send(from: alice, to: bob.publicKey, 5_000)])
        #expect(try ledger.coin(alice) == 0)
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .insufficientBalance)
        // Within a block, a send can spend what an earlier transaction of the block brought.
        try ledger.commitAll([
            ledger.send(from: bob, to: alice.publicKey, 2_000),
            ledger.send(from: alice, to: bob.publicKey, 2_000),
        ])
        #expect(try ledger.coin(alice) == 0 && ledger.coin(bob) == 5_000)
    }

    @Test("ledger.self_transfer: sending to oneself")
    func selfTransfer() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000)])
        try ledger.expectRejected(ledger.send(from: alice, to: alice.publicKey, 1_000), .selfTransfer)
        try ledger.expectRejected(ledger.send(from: alice, to: alice.publicKey, 0), .selfTransfer)
    }

    // MARK: - ledger.frozen

    /// No transaction freezes an account yet (freeze/unfreeze come with the ledger-rules
    /// issue), but the frozen flag is part of `AccountState` and the rules already honour it.
    /// The flag is written straight into the store here, as a future freeze would.
    @Test("ledger.frozen: a frozen signer, charge recipient or send recipient (flag set in the store)")
    func frozenAccounts() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 5_000), (bob, 5_000), (carol, 0)])
        var frozen = try #require(try ledger.account(bob.publicKey))
        frozen.frozen = true
        var batch = WriteBatch()
        batch.put(frozen.canonicalBytes, for: StateKey.account(bob.publicKey), in: .state)
        try ledger.store.write(batch, sync: false)
        try ledger.expectRejected(ledger.send(from: bob, to: carol.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.send(from: alice, to: bob.publicKey, 1), .frozen)
        try ledger.expectRejected(ledger.charge(bob.publicKey, 1), .frozen)
        // A wrong nonce is reported before the freeze.
        try ledger.expectRejected(ledger.sign(bob, nonce: 7, .send(Send(to: carol.publicKey, amount: 1))), .badNonce)
    }
}
