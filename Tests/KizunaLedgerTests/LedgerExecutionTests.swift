import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Nothing is half-applied, and execution is deterministic.
@Suite("Ledger execution")
struct LedgerExecutionTests {
    let alice = Fixture.account(0)
    let bob = Fixture.account(1)
    let carol = Fixture.account(2)
    let dave = Fixture.account(3)
    let stranger = Fixture.account(20)

    func changesEqual(_ left: [(key: [UInt8], value: [UInt8]?)], _ right: [(key: [UInt8], value: [UInt8]?)]) -> Bool {
        left.count == right.count && zip(left, right).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// A ledger with alice 50,000, bob 10,000, carol 0 and a merchant; the registrar's,
    /// the issuer's and alice's nonces are all past 0.
    func fundedLedger() throws -> LedgerHarness {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 50_000), (bob, 10_000), (carol, 0)])
        try ledger.commitAll([
            ledger.register(Fixture.account(9).publicKey, role: .merchant, merchantCategory: "electronics"),
            ledger.send(from: alice, to: bob.publicKey, 1_000),
        ])
        return ledger
    }

    @Test("a rejected transaction changes nothing: .propose equals executing only the others")
    func rejectedChangesNothingInPropose() throws {
        let ledger = try fundedLedger()
        let replica = try copyStore(ledger.store)
        let aliceNonce = try ledger.nonce(alice)
        let issuerNonce = try ledger.nonce(Fixture.coinIssuerKey)
        let registrarNonce = try ledger.nonce(Fixture.registrarKey)
        func signed(_ key: PrivateKey, _ nonce: UInt64, _ body: TransactionBody) -> SignedTransaction {
            ledger.sign(key, nonce: nonce, body)
        }
        let valid = [
            signed(alice, aliceNonce, .send(Send(to: carol.publicKey, amount: 2_000))),
            signed(Fixture.coinIssuerKey, issuerNonce, .charge(Charge(to: carol.publicKey, amount: 3_000, channel: .app, receiptId: "atomic-1"))),
            // Alice's nonce aliceNonce + 1 is free again after her refused send below.
            signed(alice, aliceNonce + 1, .send(Send(to: bob.publicKey, amount: 500))),
            signed(Fixture.registrarKey, registrarNonce, .register(Register(account: dave.publicKey, role: .resident, residentIdHash: Hash.sha256([9])))),
        ]
        // Each refused transaction fails after the signer's nonce was raised in the overlay
        // (apply raises it before the body's checks), so a rollback that kept any write would show.
        let refused = [
            signed(alice, aliceNonce + 1, .send(Send(to: bob.publicKey, amount: 1_000_000))),                      // send limit
            signed(Fixture.coinIssuerKey, issuerNonce + 1, .charge(Charge(to: carol.publicKey, amount: 1, channel: .app, receiptId: "atomic-1"))), // duplicate receipt
            signed(Fixture.registrarKey, registrarNonce + 1, .register(Register(account: stranger.publicKey, role: .resident, residentIdHash: Hash.sha256([9])))), // same resident
            signed(bob, try ledger.nonce(bob), .send(Send(to: carol.publicKey, amount: 100_000))),               // insufficient balance
            signed(stranger, 0, .send(Send(to: bob.publicKey, amount: 1))),                                         // unknown signer
        ]
        let mixed = [valid[0], refused[0], valid[1], refused[1], valid[2], valid[3], refused[2], refused[3], refused[4]]
        let withRejections = try ledger.dryRun(mixed)
        #expect(withRejections.accepted.map(\.id) == valid.map(\.id))
        #expect(withRejections.rejected.map(\.transaction.id) == refused.map(\.id))
        #expect(withRejections.rejected.map(\.error.code) == [.sendLimitExceeded, .duplicateReceipt, .residentAlreadyRegistered, .insufficientBalance, .unknownAccount])

        let replicaLedger = Ledger(genesis: ledger.genesis)
        let onlyValid = try replicaLedger.execute(ledger.verify(valid), context: BlockContext(height: ledger.height + 1, timestamp: ledger.timestamp + 1000), store: replica, mode: .propose)
        #expect(onlyValid.rejected.isEmpty)
        #expect(changesEqual(withRejections.changes, onlyValid.changes))
        #expect(withRejections.stateRoot == onlyValid.stateRoot)
        #expect(withRejections.batch == onlyValid.batch)
        #expect(withRejections.receipts == onlyValid.receipts)

        // .validate on the valid transactions gives the same result as .propose.
        let validated = try replicaLedger.execute(ledger.verify(valid), context: BlockContext(height: ledger.height + 1, timestamp: ledger.timestamp + 1000), store: replica, mode: .validate)
        #expect(validated.stateRoot == onlyValid.stateRoot)
        #expect(changesEqual(validated.changes, onlyValid.changes))

        // Committed: the refused signers' nonces did not move.
        try ledger.store.write(withRejections.batch, sync: false)
        #expect(try ledger.nonce(alice) == aliceNonce + 2)
        #expect(try ledger.nonce(bob) == 0)
        #expect(try ledger.nonce(Fixture.coinIssuerKey) == issuerNonce + 1)
        #expect(try ledger.nonce(Fixture.registrarKey) == registrarNonce + 1)
        #expect(try ledger.account(stranger.publicKey) == nil)
        try expectCoinInvariant(ledger.store)
    }

    @Test("in .validate mode a failing transaction rejects the whole block, naming it")
    func failingTransactionRejectsBlockInValidate() throws {
        let ledger = try fundedLedger()
        let before = snapshot(ledger.store)
        let good = ledger.send(from: alice, to: carol.publicKey, 100)
        let bad = ledger.send(from: carol, to: bob.publicKey, 1_000_000)
        let alsoGood = ledger.send(from: bob, to: carol.publicKey, 100)
        for order in [[good, bad, alsoGood], [bad, good, alsoGood], [good, alsoGood, bad]] {
            let rejection = #expect(throws: BlockRejection.self) {
                _ = try ledger.dryRun(order, mode: .validate)
            }
            #expect(rejection?.transactionId == bad.id)
            #expect(rejection?.error.code == .sendLimitExceeded)
            #expect(rejection.map { "\($0)".contains("ledger.send_limit_exceeded") } == true)
        }
        #expect(snapshot(ledger.store) == before)
        // Without the bad one the block is valid.
        let execution = try ledger.dryRun([good, alsoGood], mode: .validate)
        #expect(execution.accepted.count == 2)
    }

    @Test("the same transactions on two fresh stores give identical changes and state roots")
    func determinismAcrossStores() throws {
        let first = try LedgerHarness()
        let second = try LedgerHarness()
        #expect(first.stateRoot == second.stateRoot)
        // Build the blocks once, on the first ledger, and run the same signed bytes on both.
        var blocks: [(transactions: [SignedTransaction], time: UInt64)] = []
        func run(_ transactions: [SignedTransaction]) throws {
            let time = first.timestamp + 3_600_000
            let a = try first.block(transactions, at: time)
            let b = try second.block(transactions, at: time)
            #expect(changesEqual(a.changes, b.changes))
            #expect(a.stateRoot == b.stateRoot)
            #expect(a.batch == b.batch)
            #expect(a.accepted.map(\.id) == b.accepted.map(\.id))
            #expect(a.rejected.map(\.error.code) == b.rejected.map(\.error.code))
            blocks.append((transactions, time))
        }
        try run([first.register(alice.publicKey), first.register(bob.publicKey), first.register(carol.publicKey, residentIdHash: Hash.sha256([3]))])
        try run([first.charge(alice.publicKey, 40_000), first.charge(bob.publicKey, 20_000, channel: .chargeMachine), first.charge(carol.publicKey, 0)])
        try run([first.send(from: alice, to: bob.publicKey, 5_000), first.send(from: bob, to: carol.publicKey, 7_000), first.send(from: carol, to: alice.publicKey, 8_000)])
        #expect(snapshot(first.store) == snapshot(second.store))
        #expect(blocks.count == 3)
    }

    @Test("independent transactions of different signers commute; one signer's do not")
    func orderOfIndependentTransactions() throws {
        let base = try LedgerHarness()
        try base.setUpResidents([(alice, 30_000), (bob, 30_000), (carol, 0), (dave, 0)])
        // Four transactions by four different signers touching different accounts and
        // keys: alice → carol, bob → dave, a charge to bob, a registration.
        let transactions = [
            base.send(from: alice, to: carol.publicKey, 1_000),
            base.send(from: bob, to: dave.publicKey, 2_000),
            base.charge(bob.publicKey, 500, receipt: "commute-1"),
            base.register(stranger.publicKey, district: "nishi"),
        ]
        let time = base.timestamp + 1000
        let context = BlockContext(height: base.height + 1, timestamp: time)
        let orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]
        var roots: [Hash] = []
        var finalStates: [[ColumnFamily: [[UInt8]: [UInt8]]]] = []
        for order in orders {
            let store = try copyStore(base.store)
            let execution = try base.ledger.execute(base.verify(order.map { transactions[$0] }), context: context, store: store, mode: .validate)
            try store.write(execution.batch, sync: false)
            roots.append(execution.stateRoot)
            finalStates.append(snapshot(store, [.state, .stateTree]))
        }
        #expect(Set(roots).count == 1, "the state root depends on the order of commuting transactions")
        #expect(finalStates.allSatisfy { $0 == finalStates[0] })

        // Transactions of one signer carry consecutive nonces, so swapping them is not the
        // same block: the later nonce comes first and is refused.
        let aliceNonce = try base.nonce(alice)
        let first = base.sign(alice, nonce: aliceNonce, .send(Send(to: carol.publicKey, amount: 100)))
        let second = base.sign(alice, nonce: aliceNonce + 1, .send(Send(to: dave.publicKey, amount: 100)))
        let swapped = try base.ledger.execute(base.verify([second, first]), context: context, store: base.store, mode: .propose)
        #expect(swapped.accepted.map(\.id) == [first.id])
        #expect(swapped.rejected.map(\.error.code) == [.badNonce])

        // Sends that compete for a recipient's cap do not commute either: whichever comes
        // second is refused.
        let full = try LedgerHarness()
        try full.setUpResidents([(alice, 10_000), (bob, 10_000), (carol, 95_000)])
        let fromAlice = full.send(from: alice, to: carol.publicKey, 5_000)
        let fromBob = full.send(from: bob, to: carol.publicKey, 5_000)
        let fullContext = BlockContext(height: full.height + 1, timestamp: full.timestamp + 1000)
        let aliceFirst = try full.ledger.execute(full.verify([fromAlice, fromBob]), context: fullContext, store: full.store, mode: .propose)
        let bobFirst = try full.ledger.execute(full.verify([fromBob, fromAlice]), context: fullContext, store: full.store, mode: .propose)
        #expect(aliceFirst.accepted.map(\.id) == [fromAlice.id])
        #expect(bobFirst.accepted.map(\.id) == [fromBob.id])
        #expect(aliceFirst.rejected.map(\.error.code) == [.holderCapExceeded])
        #expect(aliceFirst.stateRoot != bobFirst.stateRoot)
    }

    @Test("execution reads no clock: only the block timestamp matters")
    func timestampIsTheOnlyClock() throws {
        let ledger = try LedgerHarness()
        try ledger.setUpResidents([(alice, 10_000), (bob, 0)])
        let send = ledger.send(from: alice, to: bob.publicKey, 1_000)
        let context = BlockContext(height: ledger.height + 1, timestamp: Fixture.time("2026-06-15T12:00:00+09:00"))
        let a = try ledger.ledger.execute(ledger.verify([send]), context: context, store: ledger.store, mode: .validate)
        let b = try ledger.ledger.execute(ledger.verify([send]), context: context, store: ledger.store, mode: .validate)
        #expect(a.stateRoot == b.stateRoot)
        let later = BlockContext(height: ledger.height + 1, timestamp: context.timestamp + 1)
        let c = try ledger.ledger.execute(ledger.verify([send]), context: later, store: ledger.store, mode: .validate)
        #expect(c.stateRoot != a.stateRoot, "coinChangedAt records the block timestamp")
    }
}
