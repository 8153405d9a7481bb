import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// A small, independent model of the register/charge/send rules (docs/ledger-rules.md),
/// written from the rules rather than from the ledger's code, predicting each
/// transaction's outcome (accepted, or the first rule it breaks).
struct LedgerModel {
    struct Account {
        var role: Role
        var nonce: UInt64 = 0
        var coin: UInt64 = 0
    }

    let genesis: Genesis
    var accounts: [PublicKey: Account] = [:]
    var receipts: Set<String> = []
    var residentIds: Set<Hash> = []
    var monthlySent: [PublicKey: [UInt32: UInt64]] = [:]
    var minted: UInt64 = 0

    init(genesis: Genesis) {
        self.genesis = genesis
        for authority in genesis.authorities.all { accounts[authority.key] = Account(role: .authority) }
    }

    /// Applies `transaction` if it is valid and returns nil, or returns the code of the
    /// first rule it breaks and changes nothing.
    mutating func apply(_ transaction: Transaction, timestamp: UInt64) -> TransactionError.Code? {
        guard var signer = accounts[transaction.signer] else { return .unknownAccount }
        guard transaction.nonce == signer.nonce else { return .badNonce }
        signer.nonce += 1
        switch transaction.body {
        case .register(let body):
            guard transaction.signer == genesis.authorities.registrar else { return .notAuthorised }
            guard body.role != .authority else { return .wrongRole }
            guard accounts[body.account] == nil else { return .accountExists }
            guard genesis.validators.validator(for: body.account) == nil else { return .wrongRole }
            if body.role == .merchant {
                guard let category = body.merchantCategory, !category.isEmpty else { return .invalidAttribute }
                guard body.residentIdHash == nil, body.ageBand == nil else { return .invalidAttribute }
            } else {
                guard body.merchantCategory == nil else { return .invalidAttribute }
            }
            if let band = body.ageBand, band > 6 { return .invalidAttribute }
            if body.district == "" { return .invalidAttribute }
            if let id = body.residentIdHash {
                guard !residentIds.contains(id) else { return .residentAlreadyRegistered }
                residentIds.insert(id)
            }
            accounts[transaction.signer] = signer
            accounts[body.account] = Account(role: body.role)
        case .charge(let body):
            guard transaction.signer == genesis.authorities.coinIssuer else { return .notAuthorised }
            guard body.amount > 0 else { return .invalidAmount }
            guard !body.receiptId.isEmpty else { return .invalidAttribute }
            guard !receipts.contains(body.receiptId) else { return .duplicateReceipt }
            guard var recipient = accounts[body.to] else { return .unknownAccount }
            guard recipient.role == .resident else { return .wrongRole }
            guard let balance = recipient.coin.adding(body.amount) else { return .overflow }
            guard balance <= genesis.coin.holderCapYen else { return .holderCapExceeded }
            receipts.insert(body.receiptId)
            minted += body.amount
            recipient.coin = balance
            accounts[transaction.signer] = signer
            accounts[body.to] = recipient
        case .send(let body):
            guard body.to != transaction.signer else { return .selfTransfer }
            guard body.amount > 0 else { return .invalidAmount }
            guard signer.role == .resident else { return .wrongRole }
            guard var recipient = accounts[body.to] else { return .unknownAccount }
            guard recipient.role == .resident else { return .wrongRole }
            guard body.amount <= genesis.coin.sendLimitPerTransactionYen else { return .sendLimitExceeded }
            let month = CivilTime.japanYearMonth(milliseconds: timestamp)
            let sent = monthlySent[transaction.signer, default: [:]][month, default: 0]
            guard sent + body.amount <= genesis.coin.sendLimitPerMonthYen else { return .monthlySendLimitExceeded }
            guard body.amount <= signer.coin else { return .insufficientBalance }
            guard recipient.coin + body.amount <= genesis.coin.holderCapYen else { return .holderCapExceeded }
            signer.coin -= body.amount
            recipient.coin += body.amount
            monthlySent[transaction.signer, default: [:]][month] = sent + body.amount
            accounts[transaction.signer] = signer
            accounts[body.to] = recipient
        default:
            preconditionFailure("the model generates register, charge and send only")
        }
        return nil
    }
}

@Suite("Ledger properties")
struct LedgerPropertyTests {
    /// Random register/charge/send transactions, valid and invalid, over 30 accounts in 20
    /// blocks that cross the Japan-time month boundary, each block committed to the store.
    /// After every block: the outcome of every transaction matches the model, every account
    /// matches the model, minted − redeemed − refunded − expired = Σ coin balances, and a
    /// replica that replays the accepted transactions in `.validate` mode reaches the same
    /// state root (and at the end, byte for byte the same state and tree).
    @Test("random transactions keep the invariants and replay to the same roots", arguments: [UInt64(0x4B49_5A55_4E41), 20_260_401])
    func randomTransactions(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let ledger = try LedgerHarness()
        let genesis = ledger.genesis
        var model = LedgerModel(genesis: genesis)
        let replica = MemoryStore()
        try replica.write(try ledger.ledger.genesisExecution(store: replica).batch, sync: false)

        let pool = (0..<30).map { Fixture.account($0) }
        let signers = pool + [Fixture.coinIssuerKey, Fixture.registrarKey, Fixture.cityKey]
        let residentIds = (0..<24).map { Hash.sha256([UInt8($0), 0xAA]) }
        let categories = ["supermarket", "drugstore", "electronics", "restaurant"]
        var receiptCount = 0
        var usedReceipts: [String] = []
        var outcomes: [String: Int] = [:]

        // 2026-04-28T00:00+09:00, then every 6 hours: 20 blocks end on 3 May.
        var time = Fixture.time("2026-04-28T00:00:00+09:00")
        for blockNumber in 1...20 {
            // Predict each transaction on a scratch copy of the model, in block order.
            var blockModel = model
            var transactions: [SignedTransaction] = []
            var expected: [TransactionError.Code?] = []
            let count = 10 + random.below(11)
            for _ in 0..<count {
                let body: TransactionBody
                let signer: PrivateKey
                // Mostly transactions that may succeed, among registered, funded residents;
                // the rest aimed at any account and any rule.
                let residents = pool.filter { blockModel.accounts[$0.publicKey]?.role == .resident }
                let funded = residents.filter { blockModel.accounts[$0.publicKey]!.coin > 0 }
                func someResident() -> PrivateKey {
                    !residents.isEmpty && random.chance(80) ? residents[random.below(residents.count)] : pool[random.below(pool.count)]
                }
                let kind = blockNumber == 1 ? 0 : random.below(100)
                if kind < 20 {
                    let account = pool[random.below(pool.count)].publicKey
                    signer = random.chance(90) ? Fixture.registrarKey : signers[random.below(signers.count)]
                    let merchant = random.chance(20)
                    var register = Register(account: account, role: merchant ? .merchant : .resident)
                    if merchant {
                        register.merchantCategory = random.chance(90) ? categories[random.below(categories.count)] : nil
                    } else {
                        register.residentIdHash = random.chance(60) ? residentIds[random.below(residentIds.count)] : nil
                        register.ageBand = random.chance(50) ? UInt8(random.below(8)) : nil
                        if random.chance(5) { register.merchantCategory = "restaurant" }
                    }
                    register.district = random.chance(50) ? ["kita", "minami", ""][random.below(3)] : nil
                    if random.chance(3) { register.role = .authority }
                    body = .register(register)
                } else if kind < 50 {
                    signer = random.chance(95) ? Fixture.coinIssuerKey : signers[random.below(signers.count)]
                    let to = random.chance(95) ? someResident().publicKey : Fixture.cityKey.publicKey
                    let balance = blockModel.accounts[to]?.coin ?? 0
                    let room = genesis.coin.holderCapYen - min(balance, genesis.coin.holderCapYen)
                    let amount: UInt64 = switch random.below(10) {
                    case 0: 0
                    case 1: room
                    case 2: room + 1
                    default: random.amount(in: 1...40_000)
                    }
                    let receipt: String
                    if !usedReceipts.isEmpty && random.chance(8) {
                        receipt = usedReceipts[random.below(usedReceipts.count)]
                    } else {
                        receiptCount += 1
                        receipt = "prop-\(seed)-\(receiptCount)"
                        usedReceipts.append(receipt)
                    }
                    body = .charge(Charge(to: to, amount: amount, channel: random.chance(50) ? .app : .chargeMachine, receiptId: receipt))
                } else {
                    signer = !funded.isEmpty && random.chance(85) ? funded[random.below(funded.count)]
                        : random.chance(90) ? pool[random.below(pool.count)] : signers[random.below(signers.count)]
                    let to = random.chance(4) ? signer.publicKey : someResident().publicKey
                    let balance = blockModel.accounts[signer.publicKey]?.coin ?? 0
                    let amount: UInt64 = switch random.below(12) {
                    case 0: 0
                    case 1: balance
                    case 2: balance + 1
                    case 3: genesis.coin.sendLimitPerTransactionYen + UInt64(random.below(2))
                    default: random.amount(in: 1...max(1, min(balance, 30_000)))
                    }
                    body = .send(Send(to: to, amount: amount))
                }
                var nonce = blockModel.accounts[signer.publicKey]?.nonce ?? 0
                if random.chance(4) { nonce = random.chance(50) ? nonce + 1 : nonce &- 1 }
                let transaction = Transaction(chainId: genesis.chainId, signer: signer.publicKey, nonce: nonce, body: body)
                transactions.append(transaction.signed(by: signer))
                expected.append(blockModel.apply(transaction, timestamp: time))
            }

            let execution = try ledger.block(transactions, at: time, mode: .propose)
            let acceptedIds = zip(transactions, expected).filter { $0.1 == nil }.map(\.0.id)
            #expect(execution.accepted.map(\.id) == acceptedIds, "block \(ledger.height): accepted transactions differ from the model")
            let expectedRejections = zip(transactions, expected).compactMap { pair in pair.1.map { (pair.0.id, $0) } }
            #expect(execution.rejected.map(\.transaction.id) == expectedRejections.map(\.0))
            #expect(execution.rejected.map(\.error.code) == expectedRejections.map(\.1), "block \(ledger.height): rejection codes differ from the model")
            for code in expected { outcomes[code?.rawValue ?? "accepted", default: 0] += 1 }
            model = blockModel

            // The state matches the model, account by account.
            let stored = try storedAccounts(ledger.store)
            #expect(stored.count == model.accounts.count)
            for (key, account) in stored {
                let modelled = model.accounts[key]
                #expect(account.coin == modelled?.coin && account.nonce == modelled?.nonce && account.role == modelled?.role, "block \(ledger.height): account \(key.address) differs from the model")
                #expect(account.coin <= genesis.coin.holderCapYen)
            }
            let supply = try ledger.supply()
            #expect(supply.minted == model.minted)
            #expect(supply.redeemed == 0 && supply.refunded == 0 && supply.expired == 0)
            try expectCoinInvariant(ledger.store)

            // The replica replays the accepted transactions and must agree on the root.
            let replay = try ledger.ledger.execute(execution.accepted, context: BlockContext(height: ledger.height, timestamp: time), store: replica, mode: .validate)
            #expect(replay.stateRoot == execution.stateRoot, "block \(ledger.height): replay gives another state root")
            try replica.write(replay.batch, sync: false)

            time += 6 * 3_600_000
        }
        #expect(snapshot(replica, [.state, .stateTree]) == snapshot(ledger.store, [.state, .stateTree]))
        // The run exercised both outcomes and crossed into May.
        #expect(outcomes["accepted", default: 0] >= 80, "outcomes: \(outcomes)")
        #expect(outcomes.count >= 10, "too few distinct outcomes: \(outcomes)")
        #expect(CivilTime.japanYearMonth(milliseconds: ledger.timestamp) == 202605)
    }
}
