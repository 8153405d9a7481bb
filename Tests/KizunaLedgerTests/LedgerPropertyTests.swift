import KizunaCore
@testable import KizunaLedger
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

/// Long random sequences of every transaction kind, valid and invalid, through the state
/// machine, with block times that jump across Japan-time month ends, lot and coin expiry
/// instants and base dates. Each transaction's outcome is learned by executing the block's
/// accepted prefix plus that transaction (an oracle made of the ledger itself, so nonces stay
/// right); the whole block is then executed with the rejected transactions interleaved.
///
/// After every block: the block accepts exactly the transactions the prefix runs accepted
/// (a rejected transaction left nothing that changed a later one); `invariantViolation()` is
/// nil (per asset minted − redeemed − refunded − expired = Σ balances, lots sum to balances,
/// per program granted ≤ budget and granted = used + expired + outstanding) and no resident
/// is over a cap; a replica that executes only the accepted transactions in `.validate` mode
/// gets the same changes and state root. At the end a fresh store replays every block and
/// reaches every block's root and, byte for byte, the same state.
@Suite("Ledger properties: every transaction kind")
struct AllKindsPropertyTests {
    static let residentCount = 12
    static let sleepers = 2
    static let merchantCategories = ["restaurant", "supermarket", "drugstore", "restaurant"]
    /// The test genesis with a card policy (issue 19): cards are registered, charged, paid
    /// with, sent to, frozen and recovered among the other kinds.
    static var genesis: Genesis {
        var genesis = Fixture.defaultGenesis
        genesis.cardPolicy = CardPolicy(holderCapYen: 30_000, perPaymentCapYen: 5_000, perDayCapYen: 9_000)
        return genesis
    }

    @Test("random blocks of every kind keep the invariants and replay to the same roots", arguments: [UInt64(0x4B49_5A55_4E41_0002), 20_270_331])
    func randomAllKinds(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        // The kinds of issue 21 draw from a generator of their own, appended after each block's
        // other transactions, so the other kinds see the same random stream as before they
        // existed (only the state their transactions leave differs).
        var extra = SplitMix64(seed: seed ^ 0x2121_2121)
        // The kinds of issue 18's second slice (premium sales, channels, event bonuses, public
        // payments, standing orders) draw from a third generator, appended after those.
        var town = SplitMix64(seed: seed ^ 0x1818_1818)
        // Governance (ADR 0018) draws from a third generator, appended last in a block.
        var governance = SplitMix64(seed: seed ^ 0x2424_2424)
        // With visitors (issue 21): a 400-day account lifetime, so visitors expire late in the run.
        var visitorGenesis = Self.genesis
        visitorGenesis.visitorPolicy = VisitorPolicy(holderCapYen: 20_000, paymentLimitPerTransactionYen: 5_000, accountLifetimeDays: 400)
        // Channels from genesis (issue 18): the two defaults at their rates, and bank transfer.
        visitorGenesis.chargeChannels = Fixture.bankTransferChannels
        let ledger = try LedgerHarness(genesis: visitorGenesis)
        let genesis = ledger.genesis
        let chainId = genesis.chainId
        var history: [(transactions: [VerifiedTransaction], context: BlockContext, root: Hash)] = []

        let residents = (0..<(Self.residentCount + Self.sleepers)).map { Fixture.account($0) }
        let merchants = (0..<Self.merchantCategories.count).map { Fixture.account(20 + $0) }
        let spareKeys = (0..<8).map { Fixture.account(30 + $0) }
        let strangers = [Fixture.account(50), Fixture.validatorKey]
        // Participation platforms: appointed to programs, revoked, re-appointed; they grant.
        let platforms = [Fixture.account(40), Fixture.account(41)]
        let authorities = [Fixture.coinIssuerKey, Fixture.registrarKey, Fixture.cityKey, Fixture.auditorKey]
        // The sleepers are charged once and never touched again, so their coins expire.
        let active = Array(residents.prefix(Self.residentCount))
        // Residents' cards (issue 19): they pay merchants only, within the card policy.
        let cards = [Fixture.account(60), Fixture.account(61)]
        // Visitors (issue 21): registered during the run, charged, paying, expiring. Not among
        // `everyone`: the other kinds pick signers from it as before visitors existed.
        let visitors = (0..<8).map { Fixture.account(70 + $0) }
        let everyone = active + merchants + spareKeys + strangers + authorities + platforms + cards
        var keys: [PublicKey: PrivateKey] = [:]
        for key in everyone { keys[key.publicKey] = key }

        var receiptCount = 0
        var outcomes: [String: Int] = [:]
        var acceptedKinds: [String: Int] = [:]

        // Set-up blocks: accounts, programs and first charges.
        let start = Fixture.time("2026-04-02T09:00:00+09:00")
        try ledger.commitAll(residents.enumerated().map { index, key in
            ledger.register(key.publicKey, residentIdHash: index % 3 == 0 ? Hash.sha256([UInt8(index), 0x77]) : nil, district: ["kita", "minami"][index % 2], ageBand: UInt8(index % 7))
        } + merchants.enumerated().map { index, key in
            ledger.register(key.publicKey, role: .merchant, merchantCategory: Self.merchantCategories[index])
        } + cards.enumerated().map { index, key in
            ledger.register(key.publicKey, role: .card, residentIdHash: Hash.sha256([UInt8(100 + index), 0x77]))
        }, at: start)
        try ledger.commitAll([
            ledger.createProgram(.point, name: "subsidy", budget: 200_000, expiry: Fixture.sixMonths, perResidentCap: 30_000),
            ledger.createProgram(.thanks, name: "thanks", budget: 100_000, expiry: Fixture.threeMonths, perResidentCap: 20_000),
            ledger.createProgram(.point, name: "campaign", funder: merchants[0].publicKey, budget: 30_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCap: 3_000,
                                 rebate: RebateRule(rates: [.init(merchantCategory: "drugstore", basisPoints: 500), .init(merchantCategory: "restaurant", basisPoints: 1_000)], monthlyCapPerResidentYen: 300)),
            ledger.createProgram(.point, name: "short", budget: 5_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 1), perResidentCap: 1_000, by: Fixture.coinIssuerKey),
            // The subsidy is also a premium sale (issue 18), so premium charges find a sale.
            ledger.setPremium(1, perUnit: 1),
        ] + (residents + cards).map { ledger.charge($0.publicKey, 20_000, channel: .chargeMachine) }, at: start + 60_000)
        // The replica and the final fresh replay start from the two set-up blocks.
        let setUp = try copyStore(ledger.store)
        let replicaStore = try copyStore(setUp)
        // The auditor's invariants after every block, at the cost of what it changed (issue 16),
        // run on the replica: their verdict and running totals must be a full scan's.
        var running = try IncrementalInvariants.start(store: replicaStore, genesis: genesis).invariants

        var time = start + 60_000
        // Customer-presented authorisations made so far, so some are presented again (replays,
        // mostly in the same block) or late (expired).
        var authorisations: [SignedPaymentAuthorisation] = []
        var authorisedInRun = 0
        // Invoices issued so far (issue 21), to pay, overpay, cancel; a counter for references.
        var invoices: [(id: Hash, issuer: PrivateKey, payer: PrivateKey)] = []
        var invoiceCount = 0
        var visitorCharges = 0
        // Organisations (issue 18): the city's tax account and a club, registered during the run;
        // standing orders authorised so far.
        let organisations = [(Fixture.account(80), OrganisationKind.publicBody), (Fixture.account(81), OrganisationKind.club)]
        for (key, _) in organisations { keys[key.publicKey] = key }
        var standingOrders: [(id: Hash, payer: PrivateKey, payee: PrivateKey, cap: UInt64)] = []
        var townCharges = 0
        let blockCount = 60
        for blockNumber in 0..<blockCount {
            // Time: about eight days a block, sometimes exactly a month start (or the last
            // millisecond before one), so expiry instants and base dates are hit exactly.
            let target = start + UInt64(blockNumber + 1) * 8 * 86_400_000 + random.next() % (8 * 86_400_000)
            var next = max(time + 1_000, target)
            if random.chance(25) {
                let date = CivilTime.civilFromDays(Int64((time / 1000 + 9 * 3600) / 86_400))
                let monthStart = LedgerCalendar.startOfMonth(year: date.year, monthIndexFromZero: date.month)
                next = random.chance(70) || monthStart - 1 <= time ? monthStart : monthStart - 1
            }
            time = next
            let context = BlockContext(height: ledger.height + 1, timestamp: time)

            // The committed state, to aim transactions.
            var accounts: [PublicKey: AccountState] = [:]
            for (key, account) in try storedAccounts(ledger.store) { accounts[key] = account }
            let programCount = try ledger.nextProgramId()
            // The platforms' appointments that hold at this block's time, to aim their grants.
            var appointments: [(program: UInt64, platform: PrivateKey, perResidentCap: UInt64)] = []
            for program in 0..<programCount where try ledger.overlay.programTerms(program)?.applies(at: time) ?? true {
                for platform in platforms {
                    guard let state = try ledger.delegate(program, platform.publicKey), state.isActive(at: time) else { continue }
                    appointments.append((program, platform, state.terms.perResidentCapYen))
                }
            }
            var inBlock: [PublicKey: UInt64] = [:]
            func nonce(_ key: PrivateKey) -> UInt64 { (accounts[key.publicKey]?.nonce ?? 0) + inBlock[key.publicKey, default: 0] }
            let liveResidents = (active + spareKeys + cards).filter { accounts[$0.publicKey]?.role.holdsResidentValue == true && accounts[$0.publicKey]?.frozen == false }
            let anyResident = (active + spareKeys + cards).filter { accounts[$0.publicKey]?.role.holdsResidentValue == true }
            func pick(_ list: [PrivateKey]) -> PrivateKey { list.isEmpty ? everyone[random.below(everyone.count)] : list[random.below(list.count)] }
            func resident() -> PrivateKey { random.chance(92) ? pick(liveResidents) : pick(everyone) }
            func merchant() -> PrivateKey { random.chance(92) ? pick(merchants) : pick(everyone) }
            func someone() -> PrivateKey { pick(everyone) }
            func amount(upTo balance: UInt64, limit: UInt64 = 30_000) -> UInt64 {
                switch random.below(12) {
                case 0: 0
                case 1: balance
                case 2: balance + 1
                default: random.amount(in: 1...max(1, min(balance, limit)))
                }
            }

            var accepted: [VerifiedTransaction] = []
            var all: [SignedTransaction] = []
            var settledInBlock: [SignedPaymentAuthorisation] = []
            let count = 8 + random.below(13)
            let extraCount = extra.below(9)
            let townCount = town.below(8)
            // The programs that are premium sales now, to aim premium charges.
            var premiumPrograms: [UInt64] = []
            for program in 0..<programCount where try ledger.premium(program) != nil { premiumPrograms.append(program) }
            for step in 0..<(count + extraCount + townCount) {
                let isExtra = step >= count && step < count + extraCount
                let isTown = step >= count + extraCount
                if isExtra { swap(&random, &extra) }
                if isTown { swap(&random, &town) }
                defer {
                    if isExtra { swap(&random, &extra) }
                    if isTown { swap(&random, &town) }
                }
                var signer: PrivateKey
                var cosigners: [PrivateKey] = []
                let body: TransactionBody
                let roll = isTown ? 200 + random.below(11) : isExtra ? 100 + random.below(20) : random.below(100)
                switch roll {
                case 0..<5:
                    signer = random.chance(90) ? Fixture.registrarKey : someone()
                    let account = random.chance(60) ? pick(spareKeys + strangers) : someone()
                    let merchantRole = random.chance(20)
                    var register = Register(account: account.publicKey, role: merchantRole ? .merchant : (random.chance(15) ? .card : .resident))
                    if merchantRole { register.merchantCategory = random.chance(90) ? Self.merchantCategories[random.below(4)] : nil }
                    if !merchantRole && random.chance(40) { register.residentIdHash = Hash.sha256([UInt8(random.below(20)), 0x77]) }
                    if random.chance(5) { register.ageBand = UInt8(random.below(9)) }
                    body = .register(register)
                case 5..<17:
                    signer = random.chance(95) ? Fixture.coinIssuerKey : someone()
                    let to = resident()
                    let balance = accounts[to.publicKey]?.coin ?? 0
                    let room = genesis.coin.holderCapYen - min(balance, genesis.coin.holderCapYen)
                    let receipt: String
                    if receiptCount > 0 && random.chance(5) {
                        receipt = "all-\(seed)-\(random.below(receiptCount) + 1)"
                    } else {
                        receiptCount += 1
                        receipt = "all-\(seed)-\(receiptCount)"
                    }
                    body = .charge(Charge(to: to.publicKey, amount: random.chance(15) ? [0, room, room + 1][random.below(3)] : random.amount(in: 1...30_000), channel: random.chance(50) ? .app : .chargeMachine, receiptId: receipt))
                case 100..<103:
                    // Business payments, invoices (issue 21).
                    // Mostly the business holding the most coins, so payments can succeed.
                    signer = random.chance(70) ? merchants.max { (accounts[$0.publicKey]?.coin ?? 0) < (accounts[$1.publicKey]?.coin ?? 0) }! : merchant()
                    let balance = accounts[signer.publicKey]?.coin ?? 0
                    body = .payBusiness(PayBusiness(to: merchant().publicKey, amount: amount(upTo: balance, limit: 5_000), reference: random.chance(5) ? "" : "order-\(random.below(100))"))
                case 103..<107:
                    signer = merchant()
                    invoiceCount += 1
                    let reference = random.chance(8) && invoiceCount > 1 ? "inv-\(random.below(invoiceCount - 1) + 1)" : "inv-\(invoiceCount)"
                    let due = random.chance(8) ? time : time + UInt64(1 + random.below(20)) * 86_400_000
                    // Mostly billing the business with the most coins, so it can pay.
                    let richest = merchants.max { (accounts[$0.publicKey]?.coin ?? 0) < (accounts[$1.publicKey]?.coin ?? 0) }!
                    body = .issueInvoice(IssueInvoice(payer: random.chance(60) ? richest.publicKey : random.chance(90) ? merchant().publicKey : someone().publicKey, amount: random.chance(5) ? 0 : random.amount(in: 1...10_000), dueAt: due, reference: reference))
                case 107..<112:
                    if invoices.isEmpty {
                        signer = merchant()
                        body = .payInvoice(PayInvoice(invoice: Hash.sha256([UInt8(random.below(256))]), issuer: merchant().publicKey, amount: 1))
                    } else {
                        let invoice = invoices[random.below(invoices.count)]
                        signer = random.chance(90) ? invoice.payer : merchant()
                        let open = try ledger.reports.invoiceState(invoice.id).map { $0.amount - $0.paid } ?? 0
                        let coins = accounts[invoice.payer.publicKey]?.coin ?? 0
                        let paid: UInt64 = switch random.below(10) {
                        case 0: open + 1
                        case 1: 0
                        case 2..<4: open
                        default: random.amount(in: 1...max(1, min(open, coins)))
                        }
                        body = .payInvoice(PayInvoice(invoice: invoice.id, issuer: random.chance(95) ? invoice.issuer.publicKey : merchant().publicKey, amount: paid))
                    }
                case 112..<113:
                    let invoice = invoices.isEmpty ? nil : invoices[random.below(invoices.count)]
                    signer = random.chance(90) ? (invoice?.issuer ?? merchant()) : merchant()
                    body = .cancelInvoice(CancelInvoice(invoice: invoice?.id ?? Hash.sha256([7]), payer: random.chance(95) ? (invoice?.payer.publicKey ?? merchant().publicKey) : merchant().publicKey))
                case 113..<118:
                    // Visitors: registered (sometimes with attributes), charged, paying.
                    let visitor = pick(visitors)
                    switch accounts[visitor.publicKey] == nil ? 0 : 1 + random.below(3) {
                    case 0:
                        signer = random.chance(95) ? Fixture.registrarKey : someone()
                        body = .register(Register(account: visitor.publicKey, role: .visitor, district: random.chance(10) ? "kita" : nil))
                    case 1:
                        signer = random.chance(95) ? Fixture.coinIssuerKey : someone()
                        visitorCharges += 1
                        body = .charge(Charge(to: visitor.publicKey, amount: random.chance(20) ? 20_001 : random.amount(in: 1...8_000), channel: .app, receiptId: "visitor-\(seed)-\(visitorCharges)"))
                    default:
                        signer = visitor
                        let balance = accounts[visitor.publicKey]?.coin ?? 0
                        body = .pay(Pay(merchant: merchant().publicKey, amount: random.chance(35) ? 5_001 : amount(upTo: balance, limit: 5_000)))
                    }
                case 118..<120:
                    // Consent changes: new attributes, withdrawals, consenting again.
                    signer = resident()
                    let district: String? = random.chance(70) ? ["kita", "minami", "higashi"][random.below(3)] : nil
                    let band: UInt8? = random.chance(60) ? UInt8(random.below(8)) : nil
                    body = .updateConsent(random.chance(30) ? (random.chance(90) ? .withdrawn : UpdateConsent(district: "kita", ageBand: nil, analytics: false)) : UpdateConsent(district: district, ageBand: band, analytics: true))
                case 17..<27:
                    signer = resident()
                    let balance = accounts[signer.publicKey]?.coin ?? 0
                    body = .send(Send(to: random.chance(5) ? signer.publicKey : resident().publicKey, amount: random.chance(3) ? 100_001 : amount(upTo: balance)))
                case 27..<30:
                    signer = random.chance(85) ? (random.chance(70) ? Fixture.cityKey : Fixture.coinIssuerKey) : someone()
                    let asset: Asset = random.chance(70) ? .point : (random.chance(90) ? .thanks : .coin)
                    var expiry = random.chance(90) ? ExpiryRule(kind: .endOfMonthAfterGrant, months: UInt32(1 + random.below(4))) : ExpiryRule(kind: [.never, .endOfMonthAfterLastChange, .endOfMonthAfterGrant][random.below(3)], months: UInt32(random.below(2) * 1_300))
                    if random.chance(15) {
                        // A fixed use-by date up to three months ahead (sometimes already past).
                        let date = CivilTime.civilFromDays(Int64((time / 1000 + 9 * 3600) / 86_400) + Int64(random.below(100)) - 5)
                        expiry = .useBy(year: Int(date.year), month: Int(date.month), day: Int(date.day))
                    }
                    let rebate = asset == .point && random.chance(40)
                        ? RebateRule(rates: [.init(merchantCategory: Self.merchantCategories[random.below(3)], basisPoints: UInt32(random.below(2_001)))], monthlyCapPerResidentYen: UInt64(random.below(500)))
                        : nil
                    body = .createProgram(CreateProgram(asset: asset, name: random.chance(95) ? "p\(random.below(100))" : "", funder: random.chance(90) ? pick(merchants + [Fixture.cityKey]).publicKey : strangers[0].publicKey,
                                                        budgetYen: UInt64(random.below(20_000)), expiry: expiry, perResidentCapYen: UInt64(random.below(3_000)), rebate: rebate))
                case 30..<34:
                    // Appoint (mostly valid terms) or revoke a platform.
                    let program = random.chance(90) && programCount > 1 ? UInt64(1 + random.below(Int(programCount) - 1)) : UInt64(random.below(Int(programCount) + 1))
                    let state = try ledger.program(program)
                    let issuer = state?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    let delegate = random.chance(90) ? pick(platforms).publicKey : someone().publicKey
                    if random.chance(65) {
                        let budget = state.map { $0.definition.budgetYen } ?? 1_000
                        let cap = state.map { $0.definition.perResidentCapYen } ?? 1_000
                        let expiresAt = random.chance(60) ? UInt64.max : time + UInt64(random.below(40)) * 86_400_000 + 1
                        body = .appointDelegate(AppointDelegate(
                            program: program, delegate: delegate,
                            budgetYen: random.chance(90) ? random.amount(in: 1...max(1, min(budget, 50_000))) : [0, budget &+ 1][random.below(2)],
                            perResidentCapYen: random.chance(90) ? random.amount(in: 1...max(1, min(cap, 5_000))) : [0, cap &+ 1][random.below(2)],
                            perDayCapYen: random.chance(95) ? random.amount(in: 1...10_000) : 0, expiresAt: expiresAt))
                    } else if !appointments.isEmpty && random.chance(70) {
                        let appointment = appointments[random.below(appointments.count)]
                        body = .revokeDelegate(RevokeDelegate(program: appointment.program, delegate: appointment.platform.publicKey))
                    } else {
                        body = .revokeDelegate(RevokeDelegate(program: program, delegate: delegate))
                    }
                case 34..<37:
                    // A live program's terms, a top-up, or its close — mostly of the programs made
                    // during the run, so the four set-up programs keep granting and expiring.
                    let firstRunProgram: UInt64 = 5
                    let program = random.chance(90) && programCount > firstRunProgram
                        ? firstRunProgram + UInt64(random.below(Int(programCount - firstRunProgram)))
                        : [Ledger.chargeBonusProgram, programCount][random.below(2)]
                    let issuer = try ledger.program(program)?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    switch random.below(10) {
                    case 0..<5:
                        let startsAt = random.chance(50) ? 0 : time + UInt64(random.below(20)) * 86_400_000
                        let endsAt = random.chance(30) ? UInt64.max : startsAt + UInt64(random.below(60)) * 86_400_000 + (random.chance(90) ? 1 : 0)
                        let scoped = random.chance(40) ? Array(merchants.prefix(1 + random.below(2))).map(\.publicKey) : []
                        body = .setProgramTerms(SetProgramTerms(program: program, startsAt: startsAt, endsAt: max(endsAt, time + (random.chance(90) ? 1 : 0)), merchants: scoped))
                    case 5..<8:
                        body = .topUpProgram(TopUpProgram(program: program, amountYen: random.chance(95) ? random.amount(in: 1...20_000) : 0))
                    default:
                        body = .closeProgram(CloseProgram(program: program))
                    }
                case 37..<45:
                    // A third of the grants from the thanks program (id 2), so thank-you points circulate.
                    var program = random.chance(30) ? 2 : UInt64(random.below(Int(programCount) + 1))
                    let issuer = try ledger.program(program)?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    var most: UInt64 = 4_000
                    if random.chance(40) {
                        if !appointments.isEmpty && random.chance(85) {
                            let appointment = appointments[random.below(appointments.count)]
                            (program, signer, most) = (appointment.program, appointment.platform, min(most, appointment.perResidentCap))
                        } else {
                            signer = pick(platforms)
                        }
                    }
                    body = .grant(Grant(program: program, to: resident().publicKey, amount: random.chance(10) ? [0, 50_000][random.below(2)] : random.amount(in: 1...most)))
                case 45..<59:
                    signer = resident()
                    let balance = (accounts[signer.publicKey]?.coin ?? 0) + (accounts[signer.publicKey]?.point ?? 0)
                    body = .pay(Pay(merchant: merchant().publicKey, amount: amount(upTo: balance, limit: 8_000)))
                case 59..<66:
                    // A merchant collects a customer-presented authorisation (issue 19): mostly
                    // fresh and valid; sometimes presented again, over the cap, expired, too
                    // long-lived, for another merchant or chain, or with a forged signature.
                    signer = merchant()
                    let code: SignedPaymentAuthorisation
                    if !settledInBlock.isEmpty && random.chance(50) {
                        // A replay of a code this block already settled: refused as used.
                        code = settledInBlock[random.below(settledInBlock.count)]
                    } else if !authorisations.isEmpty && random.chance(10) {
                        code = authorisations[authorisations.count - 1 - random.below(min(3, authorisations.count))]
                    } else {
                        let payer = resident()
                        let balance = (accounts[payer.publicKey]?.coin ?? 0) + (accounts[payer.publicKey]?.point ?? 0)
                        let named: PublicKey? = switch random.below(10) {
                        case 0..<5: nil
                        case 5..<9: signer.publicKey
                        default: pick(merchants).publicKey
                        }
                        let lifetime: UInt64 = switch random.below(40) {
                        case 0: 0
                        case 1: PaymentAuthorisation.maxLifetimeMilliseconds + 1
                        case 2: PaymentAuthorisation.maxLifetimeMilliseconds
                        default: 1 + random.next() % 180_000
                        }
                        let nonce = (0..<PaymentAuthorisation.nonceBytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                        let authorisation = PaymentAuthorisation(chainId: random.chance(5) ? "other-chain" : chainId, payer: payer.publicKey, merchant: named,
                                                                 capYen: max(1, amount(upTo: balance, limit: 8_000)), expiresAt: time + lifetime, nonce: nonce)
                        code = random.chance(6)
                            ? SignedPaymentAuthorisation(authorisation: authorisation, signature: someone().sign(authorisation.signingBytes))
                            : authorisation.signed(by: payer)
                        authorisations.append(code)
                    }
                    let cap = code.authorisation.capYen
                    let collected: UInt64 = switch random.below(20) {
                    case 0: cap + 1
                    case 1: 0
                    case 2..<8: cap
                    default: random.amount(in: 1...cap)
                    }
                    body = .payAuthorised(PayAuthorised(authorisation: code, amount: collected))
                case 66..<74:
                    signer = resident()
                    let balance = accounts[signer.publicKey]?.thanks ?? 0
                    body = .thank(Thank(to: random.chance(5) ? signer.publicKey : resident().publicKey, amount: random.chance(5) ? 1_001 : amount(upTo: balance, limit: 1_000)))
                case 74..<79:
                    signer = merchant()
                    body = .redeem(Redeem(reference: "payout-\(random.below(1_000))"))
                case 79..<84:
                    signer = random.chance(95) ? Fixture.coinIssuerKey : someone()
                    let account = resident()
                    let reason: RefundReason = random.chance(60) ? .other : RefundReason.allCases[random.below(4)]
                    // Exempt reasons need the city's co-signature: mostly given, sometimes not.
                    if reason.isExempt && random.chance(85) { cosigners = [random.chance(95) ? Fixture.cityKey : Fixture.auditorKey] }
                    body = .refund(Refund(account: account.publicKey, amount: amount(upTo: accounts[account.publicKey]?.coin ?? 0, limit: 5_000), reason: reason))
                case 84..<90:
                    signer = random.chance(92) ? Fixture.registrarKey : someone()
                    let account = random.chance(85) ? pick(anyResident + merchants) : someone()
                    if random.chance(55) {
                        body = .freeze(AccountAction(account: account.publicKey))
                    } else {
                        // Mostly an account that is frozen (and not recovered), so unfreezes happen.
                        let frozen = (anyResident + merchants + platforms).filter { accounts[$0.publicKey]?.frozen == true && accounts[$0.publicKey]?.successor == nil }
                        body = .unfreeze(AccountAction(account: (random.chance(60) && !frozen.isEmpty ? pick(frozen) : account).publicKey))
                    }
                case 200..<202:
                    // Organisations: registered first, then paid taxes, fees and donations.
                    let (organisation, kind) = organisations[random.below(2)]
                    if accounts[organisation.publicKey] == nil || random.chance(3) {
                        signer = random.chance(95) ? Fixture.registrarKey : someone()
                        body = .register(Register(account: organisation.publicKey, role: .organisation, merchantCategory: random.chance(90) ? kind : "temple"))
                    } else {
                        signer = resident()
                        let balance = accounts[signer.publicKey]?.coin ?? 0
                        body = .payPublic(PayPublic(to: random.chance(90) ? organisation.publicKey : merchant().publicKey, amount: amount(upTo: balance, limit: 6_000),
                                                    purpose: PaymentPurpose.allCases[random.below(3)], reference: "notice-\(random.below(50))"))
                    }
                case 202:
                    // A premium sale on a program made during the run (mostly by its issuer).
                    let program = programCount > 5 && random.chance(90) ? 5 + UInt64(random.below(Int(programCount - 5))) : UInt64(random.below(Int(programCount) + 1))
                    let issuer = try ledger.program(program)?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    let unit: UInt64 = random.chance(5) ? 0 : [1, 500, 1_000][random.below(3)]
                    let rule = random.chance(50)
                        ? PremiumRule(unitYen: unit, premiumPerUnitYen: UInt64(random.below(unit == 1 ? 2 : 400)), basisPoints: random.chance(5) ? 100 : 0)
                        : PremiumRule(unitYen: unit, basisPoints: UInt32(random.below(3_000)))
                    body = .setPremium(SetPremium(program: program, rule: rule))
                case 203..<205:
                    // Charges on genesis channels (3: bank transfer; 9: undefined), often into a sale.
                    signer = random.chance(95) ? Fixture.coinIssuerKey : someone()
                    let to = resident()
                    townCharges += 1
                    let premium: UInt64? = !premiumPrograms.isEmpty && random.chance(70) ? premiumPrograms[random.below(premiumPrograms.count)] : (random.chance(10) ? programCount : nil)
                    body = .chargeExtended(ChargeExtended(to: to.publicKey, amount: random.chance(10) ? 999 : random.amount(in: 1...6_000), channel: [1, 2, 3, 3, 9][random.below(5)],
                                                          receiptId: "town-\(seed)-\(townCharges)", premiumProgram: premium))
                case 205:
                    let program = UInt64(random.below(Int(programCount) + 1))
                    let issuer = try ledger.program(program)?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    body = .setEventBonus(SetEventBonus(program: program, event: BonusEvent.allCases[random.below(2)], amountYen: random.chance(15) ? 0 : UInt64(random.below(800))))
                case 206:
                    signer = resident()
                    let payee = random.chance(70) ? organisations[random.below(2)].0 : merchant()
                    let month = CivilTime.japanYearMonth(milliseconds: time)
                    let schedule = StandingOrderSchedule(firstMonth: random.chance(5) ? 202613 : month, dayOfMonth: UInt8(1 + random.below(random.chance(95) ? 28 : 30)),
                                                         intervalMonths: UInt8(1 + random.below(3)), instalments: UInt32(random.below(4)))
                    body = .authoriseStandingOrder(AuthoriseStandingOrder(payee: payee.publicKey, capYen: random.chance(5) ? 0 : random.amount(in: 1...3_000),
                                                                          purpose: PaymentPurpose.allCases[random.below(3)], reference: "contract", schedule: schedule))
                case 207..<209:
                    if let order = standingOrders.isEmpty ? nil : standingOrders[random.below(standingOrders.count)] {
                        signer = random.chance(80) ? order.payee : someone()
                        let paid: UInt64 = random.chance(15) ? order.cap + 1 : random.chance(5) ? 0 : random.amount(in: 1...order.cap)
                        body = .payInstalment(PayInstalment(order: order.id, payer: random.chance(95) ? order.payer.publicKey : someone().publicKey, amount: paid))
                    } else {
                        signer = someone()
                        body = .payInstalment(PayInstalment(order: Hash.sha256([9]), payer: someone().publicKey, amount: 1))
                    }
                case 210:
                    // Tiers on a rebate program (mostly one with a rule, by its issuer), now and
                    // then removed or malformed.
                    var rebating: [UInt64] = []
                    for id in 0..<programCount where try ledger.program(id)?.definition.rebate != nil { rebating.append(id) }
                    let program = !rebating.isEmpty && random.chance(85) ? rebating[random.below(rebating.count)] : UInt64(random.below(Int(programCount) + 1))
                    let issuer = try ledger.program(program)?.issuer
                    signer = random.chance(90) ? (issuer.flatMap { keys[$0] } ?? Fixture.cityKey) : someone()
                    var tiers: [RebateTier] = []
                    var threshold: UInt64 = random.chance(30) ? 0 : random.amount(in: 1...5_000)
                    for _ in 0..<(random.chance(10) ? 0 : 1 + random.below(3)) {
                        tiers.append(RebateTier(minimumMonthlySpendYen: threshold, basisPoints: UInt32(random.chance(5) ? 0 : 1 + random.below(1_500))))
                        threshold += random.chance(5) ? 0 : random.amount(in: 1...20_000)
                    }
                    body = .setRebateTiers(SetRebateTiers(program: program, tiers: tiers))
                case 209..<210:
                    let order = standingOrders.isEmpty ? nil : standingOrders[random.below(standingOrders.count)]
                    signer = random.chance(85) ? (order?.payer ?? someone()) : someone()
                    body = .cancelStandingOrder(CancelStandingOrder(order: order?.id ?? Hash.sha256([8]), payee: order?.payee.publicKey ?? someone().publicKey))
                default:
                    signer = random.chance(92) ? Fixture.registrarKey : Fixture.cityKey
                    cosigners = random.chance(85) ? [signer.publicKey == Fixture.cityKey.publicKey ? Fixture.registrarKey : Fixture.cityKey] : (random.chance(50) ? [] : [Fixture.auditorKey])
                    let frozen = (anyResident + merchants).filter { accounts[$0.publicKey]?.frozen == true && accounts[$0.publicKey]?.successor == nil }
                    let from = random.chance(80) ? pick(frozen) : someone()
                    let to = random.chance(85) ? pick(spareKeys) : someone()
                    body = .recover(Recover(from: from.publicKey, to: to.publicKey))
                }
                if !random.chance(95) { signer = someone() }
                var transactionNonce = nonce(signer)
                if random.chance(3) { transactionNonce = random.chance(50) || transactionNonce == 0 ? transactionNonce + 1 : transactionNonce - 1 }
                let signed = Transaction(chainId: chainId, signer: signer.publicKey, nonce: transactionNonce, body: body).signed(by: signer, cosigners: cosigners)
                let verified = try signed.verified(chainId: chainId)
                let probe = try ledger.ledger.execute(accepted + [verified], context: context, store: ledger.store, mode: .propose)
                all.append(signed)
                if let rejection = probe.rejected.first {
                    outcomes[rejection.error.code.rawValue, default: 0] += 1
                } else {
                    accepted.append(verified)
                    inBlock[signer.publicKey, default: 0] += 1
                    outcomes["accepted", default: 0] += 1
                    acceptedKinds[body.kind, default: 0] += 1
                    if case .issueInvoice = body { invoices.append((signed.id, signer, keys[body.issuedInvoicePayer!] ?? signer)) }
                    if case .register(let registration) = body, registration.role == .visitor { acceptedKinds["register visitor", default: 0] += 1 }
                    if case .updateConsent(let change) = body, !change.analytics { acceptedKinds["withdraw consent", default: 0] += 1 }
                    if let id = body.paidInvoice, let state = try ledger.reports.invoiceState(id), state.dueAt <= time { acceptedKinds["late invoice payment", default: 0] += 1 }
                    if case .payAuthorised(let collected) = body {
                        authorisedInRun += 1
                        settledInBlock.append(collected.authorisation)
                    }
                    if case .pay = body, accounts[signer.publicKey]?.role == .card { acceptedKinds["pay by a card", default: 0] += 1 }
                    if case .grant = body, platforms.contains(where: { $0.publicKey == signer.publicKey }) { acceptedKinds["grant by a delegate", default: 0] += 1 }
                    if case .authoriseStandingOrder(let order) = body, let payee = keys[order.payee] { standingOrders.append((signed.id, signer, payee, order.capYen)) }
                    if case .chargeExtended(let charge) = body, charge.premiumProgram != nil { acceptedKinds["premium charge", default: 0] += 1 }
                }
            }

            // Now and then a policy amendment (limits only raised, so the other kinds' draws
            // stay meaningful), sometimes too soon, unapproved or approved by a stranger.
            if governance.chance(30) {
                let asset: Asset = governance.chance(50) ? .coin : .thanks
                // Raised from the policy after every scheduled amendment, so never lowered.
                var policy = try ledger.ledger.inForce(at: UInt64.max, store: ledger.store).genesis.policy(for: asset)
                policy.holderCapYen += governance.amount(in: 0...50_000)
                policy.sendLimitPerMonthYen += governance.amount(in: 0...20_000)
                let lead = governance.chance(15) ? governance.amount(in: 0...10) : governance.amount(in: 11...20)
                // Now and then the charge channels (a bank transfer added, rates changed) or the
                // fees of a merchant category (a subsidy), sometimes malformed.
                let proposal: GovernanceProposal
                switch governance.below(4) {
                case 0:
                    let bank = ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: UInt32(governance.below(governance.chance(5) ? 20_000 : 500)))
                    let defaults = ChargeChannelDefinition.defaults(coin: genesis.coin)
                    proposal = .chargeChannels(governance.chance(10) ? [bank] : defaults + [bank])
                case 1:
                    let categories = ["drugstore", "restaurant", "supermarket"]
                    var fees = categories.filter { _ in governance.chance(50) }.map { CategoryFee(merchantCategory: $0, basisPoints: UInt32(governance.below(200))) }
                    if governance.chance(5) { fees.reverse() }
                    proposal = .categoryFees(asset: governance.chance(10) ? .thanks : governance.chance(50) ? .coin : .point, fees: fees)
                default:
                    proposal = .assetPolicy(asset: asset, policy: policy)
                }
                let change = GovernanceChange(effectiveHeight: ledger.height + 1 + lead, proposal: proposal)
                let approver = governance.chance(10) ? Fixture.account(50) : Fixture.validatorKey
                let approvals = governance.chance(5) ? [] : [change.approve(chainId: chainId, with: approver)]
                let signed = Transaction(chainId: chainId, signer: Fixture.cityKey.publicKey, nonce: nonce(Fixture.cityKey), body: .govern(Govern(change: change, approvals: approvals))).signed(by: Fixture.cityKey)
                let verified = try signed.verified(chainId: chainId)
                let probe = try ledger.ledger.execute(accepted + [verified], context: context, store: ledger.store, mode: .propose)
                all.append(signed)
                if let rejection = probe.rejected.first {
                    outcomes[rejection.error.code.rawValue, default: 0] += 1
                } else {
                    accepted.append(verified)
                    inBlock[Fixture.cityKey.publicKey, default: 0] += 1
                    outcomes["accepted", default: 0] += 1
                    acceptedKinds["govern", default: 0] += 1
                    acceptedKinds["govern \(change.proposal.kind)", default: 0] += 1
                }
            }

            let execution = try ledger.block(all, at: time, mode: .propose)
            #expect(execution.accepted.map(\.id) == accepted.map(\.id), "block \(ledger.height): the block accepts other transactions than its prefixes did")
            #expect(execution.rejected.count == all.count - accepted.count)
            try ledger.expectInvariants()
            // Settled authorisations are kept only while they could still be presented.
            var usedRecords = 0
            try ledger.store.scan(.state, from: [0x19], prefix: [0x19]) { key, value in
                var decoder = KizunaCore.Decoder(value)
                let expiresAt = try decoder.decodeUInt64()
                #expect(expiresAt > time, "a used-authorisation record outlived its expiry")
                let payer = try PublicKey(canonicalBytes: Array(key[1..<33]))
                #expect(try ledger.store.get(StateKey.authorisationExpiry(expiresAt, payer, Array(key[33...])), in: .state) != nil, "a used-authorisation record without its expiry index")
                usedRecords += 1
                return true
            }
            #expect(usedRecords <= authorisedInRun)
            for (key, account) in try storedAccounts(ledger.store) where account.successor != nil {
                #expect(account.frozen && account.coin == 0 && account.point == 0 && account.thanks == 0, "recovered account \(key.address) still holds value")
            }
            // Every invoice: paid ≤ amount, indexed for both parties (issue 21).
            for invoice in invoices {
                let state = try #require(try ledger.reports.invoiceState(invoice.id))
                #expect(state.paid <= state.amount)
                #expect(try ledger.store.get(StateKey.partyInvoice(state.issuer, state.id), in: .state) == [1] && ledger.store.get(StateKey.partyInvoice(state.payer, state.id), in: .state) == [2])
            }
            // The replica executes only the accepted transactions, validating.
            let replay = try ledger.ledger.execute(execution.accepted, context: context, store: replicaStore, mode: .validate)
            #expect(replay.stateRoot == execution.stateRoot, "block \(ledger.height): the accepted transactions alone give another root")
            #expect(replay.changes.count == execution.changes.count && zip(replay.changes, execution.changes).allSatisfy { $0.key == $1.key && $0.value == $1.value })
            let moved = try replay.changes.map { IncrementalInvariants.Change(key: $0.key, before: try replicaStore.get($0.key, in: .state), after: $0.value) }
            try replicaStore.write(replay.batch, sync: false)
            let incremental = try running.apply(moved, store: replicaStore)
            #expect(incremental == nil, "block \(ledger.height): the incremental check found \(incremental ?? "")")
            #expect(running.totalsEqual(try LedgerReports.StateTotals(scanning: replicaStore)), "block \(ledger.height): the running totals are not a scan's")
            history.append((execution.accepted, context, execution.stateRoot))
        }

        // A fresh store: genesis, the two set-up blocks (copied), then every block replayed.
        let fresh = try copyStore(setUp)
        for block in history {
            let replay = try ledger.ledger.execute(block.transactions, context: block.context, store: fresh, mode: .validate)
            #expect(replay.stateRoot == block.root, "height \(block.context.height): replay on a fresh store gives another root")
            try fresh.write(replay.batch, sync: false)
        }
        #expect(snapshot(fresh, [.state, .stateTree]) == snapshot(ledger.store, [.state, .stateTree]))

        // The run exercised every kind, many refusals, and every kind of time-based work.
        let kinds = ["register", "charge", "send", "create_program", "grant", "pay", "thank", "redeem", "refund", "freeze", "unfreeze", "recover", "appoint_delegate", "revoke_delegate", "set_program_terms", "top_up_program", "close_program", "pay_authorised",
                     "pay_business", "issue_invoice", "pay_invoice", "cancel_invoice", "update_consent",
                     "set_premium", "charge_extended", "pay_public", "authorise_standing_order", "pay_instalment", "cancel_standing_order", "set_event_bonus", "govern",
                     "set_rebate_tiers", "govern charge_channels", "govern category_fees"]
        #expect((kinds + ["grant by a delegate", "pay by a card", "register visitor", "withdraw consent", "late invoice payment", "premium charge"]).allSatisfy { acceptedKinds[$0, default: 0] > 0 }, "accepted per kind: \(acceptedKinds)")
        // Tiers were in force while residents paid: a monthly spend was kept.
        #expect(ledger.store.allEntries(in: .state).contains { $0.key.first == StateKey.monthlySpendPrefix }, "no monthly spend was kept")
        #expect(outcomes.count >= 20, "too few distinct outcomes: \(outcomes)")
        // Customer-presented payments were refused for several reasons, not only accepted.
        // (At least three distinct codes per seed: with cards in the mix one seed draws three.)
        #expect(outcomes.keys.filter { $0.hasPrefix("ledger.authorisation_") }.count >= 3, "outcomes: \(outcomes)")
        // Cards were refused for their own rules too (payment cap, sending, holder cap, …).
        #expect(outcomes.keys.filter { $0.hasPrefix("ledger.card_") }.count >= 3, "outcomes: \(outcomes)")
        // Invoices and visitors were refused for several reasons too (issue 21). Three distinct
        // invoice codes per seed: with issue 18's kinds in the mix (premium points reach the
        // merchants instead of coins) one seed draws three; BusinessRuleTests raises every one.
        #expect(outcomes.keys.filter { $0.contains("invoice") }.count >= 3, "outcomes: \(outcomes)")
        // Issue 18's kinds were refused for several of their own reasons too.
        let townCodes = ["unknown_channel", "premium", "purpose", "standing_order", "instalment", "event_bonus"]
        #expect(outcomes.keys.filter { code in townCodes.contains { code.contains($0) } }.count >= 6, "outcomes: \(outcomes)")
        #expect(outcomes["ledger.account_expired", default: 0] > 0 && outcomes["ledger.visitor_limit_exceeded", default: 0] > 0, "outcomes: \(outcomes)")
        #expect(outcomes["accepted", default: 0] >= 220, "outcomes: \(outcomes)")
        for asset in Asset.allCases {
            #expect(try ledger.supply(asset).expired > 0, "no \(asset.name) expired")
        }
        #expect(try ledger.supply(.coin).redeemed > 0 && ledger.supply(.coin).refunded > 0)
        #expect(try ledger.reports.unusedBalance(year: 2026, month: 9, day: 30)?.closed == true)
        #expect(try ledger.reports.unusedBalance(year: 2027, month: 3, day: 31)?.closed == true)
        print("all-kinds seed \(seed): \(history.count) blocks, outcomes \(outcomes.sorted { $0.key < $1.key })")
    }
}


extension TransactionBody {
    /// The payer an `issue_invoice` bills (tests only).
    var issuedInvoicePayer: PublicKey? {
        if case .issueInvoice(let invoice) = self { return invoice.payer }
        return nil
    }

    /// The invoice a `pay_invoice` pays (tests only).
    var paidInvoice: Hash? {
        if case .payInvoice(let payment) = self { return payment.invoice }
        return nil
    }
}
