public import KizunaCore
public import KizunaStorage
public import KizunaStateTree

/// What the ledger knows about the block it executes: its height and timestamp. The block
/// timestamp is the only time the ledger knows.
///
/// Reading `height` or `timestamp` tells the context's `reads` log, when it has one, that
/// the verdict depends on the exact block (admission's selective re-check, ADR 0020);
/// `calendarTime` says it depends only on the Japan-time day, `stampTime` that the time is
/// only recorded. With no log (every block execution) all three are the plain values.
public struct BlockContext: Sendable, Hashable {
    private var exactHeight: UInt64
    private var exactTimestamp: UInt64
    /// Where an admission check records which of the block's properties it depended on.
    public var reads: StateReadLog?

    public var height: UInt64 {
        get { reads?.noteTime(.exact); return exactHeight }
        set { exactHeight = newValue }
    }

    /// Milliseconds since 1970-01-01 UTC, for a rule that compares it with an instant.
    public var timestamp: UInt64 {
        get { reads?.noteTime(.exact); return exactTimestamp }
        set { exactTimestamp = newValue }
    }

    /// The block time for a rule that uses only its Japan-time date (a month's key, a base
    /// period, an expiry instant at a Japan midnight compared with the time): the outcome is
    /// the same at every instant of one Japan day.
    public var calendarTime: UInt64 {
        reads?.noteTime(.day)
        return exactTimestamp
    }

    /// The block time written into state as a record (when a balance last changed), which no
    /// rule of the same block compares: reading it makes no verdict depend on the time.
    public var stampTime: UInt64 { exactTimestamp }

    public init(height: UInt64, timestamp: UInt64) {
        self.exactHeight = height
        self.exactTimestamp = timestamp
    }

    public static func == (lhs: BlockContext, rhs: BlockContext) -> Bool {
        lhs.exactHeight == rhs.exactHeight && lhs.exactTimestamp == rhs.exactTimestamp
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(exactHeight)
        hasher.combine(exactTimestamp)
    }
}

/// The outcome of one accepted transaction.
public struct Receipt: Sendable, Hashable, CanonicalCodable {
    public var transactionId: Hash
    public var height: UInt64
    public var index: UInt32

    public init(transactionId: Hash, height: UInt64, index: UInt32) {
        self.transactionId = transactionId
        self.height = height
        self.index = index
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(transactionId, height, index) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        transactionId = try decoder.decodeHash()
        height = try decoder.decodeUInt64()
        index = try decoder.decodeUInt32()
    }
}

/// The result of executing a block's transactions against committed state: the accepted
/// transactions with their receipts, the rejected ones with their errors, the sorted state
/// changes, the new state root, and the write batch (state values and tree nodes) to commit
/// together with the block.
public struct BlockExecution: Sendable {
    public var accepted: [VerifiedTransaction]
    public var receipts: [Receipt]
    public var rejected: [(transaction: VerifiedTransaction, error: TransactionError)]
    public var changes: [(key: [UInt8], value: [UInt8]?)]
    public var stateRoot: Hash
    public var batch: WriteBatch
    /// The keys the block's time rules wrote, then the keys each accepted transaction wrote
    /// (parallel to `accepted`): what a pending transaction's admission check must not have
    /// read for its verdict to stand after the block (ADR 0020).
    public var startWrites: [[UInt8]] = []
    public var acceptedWrites: [[[UInt8]]] = []
}

/// The ledger state machine (design §2). No I/O of its own: it reads committed state
/// through the storage protocol and returns what to write; it never reads a clock.
public struct Ledger: Sendable {
    public let genesis: Genesis
    /// The state tree's upper levels kept in memory between blocks (ADR 0013), shared by the
    /// copies of this ledger. It only saves reads: every root is the same without it.
    public let treeCache: StateTreeCache
    /// The validator set genesis names, from which every governance change counts (`genesis`
    /// of a ledger `inForce` at a height holds the set in force there).
    let genesisValidators: ValidatorSet

    public init(genesis: Genesis, treeCache: StateTreeCache = StateTreeCache()) {
        self.genesis = genesis
        self.treeCache = treeCache
        self.genesisValidators = genesis.validators
    }

    /// A copy with the rules in force at a height (`inForce(at:state:)`).
    init(rules: Genesis, of ledger: Ledger) {
        self.genesis = rules
        self.treeCache = ledger.treeCache
        self.genesisValidators = ledger.genesisValidators
    }

    /// How a block's failing transactions are treated.
    public enum Mode: Sendable {
        /// Building a proposal: drop failing transactions and report them.
        case propose
        /// Validating a proposed or stored block: any failing transaction fails the block.
        case validate
    }

    /// The state a chain starts from: the genesis authorities as registered accounts.
    public func genesisExecution(store: any KeyValueStore) throws -> BlockExecution {
        var overlay = StateOverlay(base: store)
        for authority in genesis.authorities.all {
            overlay.setAccount(authority.key, AccountState(role: .authority, registeredAt: genesis.genesisTime))
        }
        // Program 0 funds the charge bonus (design §2.1): points from the coin issuer.
        let bonus = CreateProgram(asset: .point, name: "charge bonus", funder: genesis.authorities.coinIssuer, budgetYen: UInt64.max, expiry: genesis.point.expiry, perResidentCapYen: UInt64.max)
        overlay.setProgram(ProgramState(id: Ledger.chargeBonusProgram, definition: bonus, issuer: genesis.authorities.coinIssuer, createdAt: genesis.genesisTime))
        overlay.setAmount(StateKey.nextProgramIdKey, Ledger.chargeBonusProgram + 1)
        overlay.setAmount(StateKey.currentBasePeriodKey, UInt64(LedgerCalendar.basePeriod(genesis.genesisTime)))
        overlay.commitTransaction()
        return try finish(overlay: overlay, store: store, height: 0, accepted: [], receipts: [], rejected: [])
    }

    /// Executes `transactions` in order on top of the committed state in `store`.
    /// The program that funds charge bonuses, created at genesis.
    public static let chargeBonusProgram: UInt64 = 0

    public func execute(_ transactions: [VerifiedTransaction], context: BlockContext, store: any KeyValueStore, mode: Mode) throws -> BlockExecution {
        // The committed state does not change while a block executes: what a transaction
        // read from it, the next may read from memory.
        // A transaction reads and writes three to six keys; four each is room for most blocks.
        var overlay = StateOverlay(base: store, memoizingBaseReads: true, expectedKeys: 4 * transactions.count)
        // Time-based rules run first, against the block timestamp: a lot due at or before
        // the block time is gone before any transaction of the block can spend it.
        try beginBlock(context: context, store: store, overlay: &overlay)
        let startWrites = overlay.openTransactionKeys
        overlay.commitTransaction()
        let rules = try inForce(at: context.height, state: overlay)
        var accepted: [VerifiedTransaction] = []
        var acceptedWrites: [[[UInt8]]] = []
        var receipts: [Receipt] = []
        var rejected: [(transaction: VerifiedTransaction, error: TransactionError)] = []
        for transaction in transactions {
            do {
                try rules.apply(transaction, context: context, overlay: &overlay)
                acceptedWrites.append(overlay.openTransactionKeys)
                overlay.commitTransaction()
                receipts.append(Receipt(transactionId: transaction.id, height: context.height, index: UInt32(accepted.count)))
                accepted.append(transaction)
            } catch let error as TransactionError {
                overlay.rollbackTransaction()
                if mode == .validate { throw BlockRejection(transactionId: transaction.id, error: error) }
                rejected.append((transaction, error))
            }
        }
        var execution = try finish(overlay: overlay, store: store, height: context.height, accepted: accepted, receipts: receipts, rejected: rejected)
        execution.startWrites = startWrites
        execution.acceptedWrites = acceptedWrites
        return execution
    }

    private func finish(overlay: StateOverlay, store: any KeyValueStore, height: UInt64, accepted: [VerifiedTransaction], receipts: [Receipt], rejected: [(transaction: VerifiedTransaction, error: TransactionError)]) throws -> BlockExecution {
        let changes = overlay.changes
        // Always on, as TigerBeetle's assertions: a block that made or lost value is a bug in
        // this code, and committing it would spread it to every replica (docs/ledger-rules.md).
        // `fatalError`, not `precondition`: an optimized build drops a precondition's message,
        // and the operator needs to know which invariant broke.
        var checked: [BlockInvariants.Change] = []
        for change in changes where BlockInvariants.isChecked(change.key) || change.key.first == StateKey.cardDay {
            checked.append(BlockInvariants.Change(key: change.key, before: try overlay.committedValue(change.key), after: change.value))
        }
        let violations = BlockInvariants.violations(checked) + BlockInvariants.cardViolations(checked, policy: genesis.cardPolicy)
        guard violations.isEmpty else {
            fatalError("block \(height) breaks the ledger's invariants: \(violations.joined(separator: "; "))")
        }
        var batch = WriteBatch()
        var updates: [(key: Hash, valueHash: Hash?)] = []
        updates.reserveCapacity(changes.count)
        for change in changes {
            if let value = change.value {
                batch.put(value, for: change.key, in: .state)
            } else {
                batch.delete(change.key, in: .state)
            }
            updates.append((Ledger.treeKey(change.key), change.value.map(Ledger.treeValue)))
        }
        let tree = try StateTree(store: store, cache: treeCache).update(updates)
        batch.append(contentsOf: tree.batch)
        return BlockExecution(accepted: accepted, receipts: receipts, rejected: rejected, changes: changes, stateRoot: tree.root, batch: batch)
    }

    /// Where a state key sits in the state tree.
    public static func treeKey(_ key: [UInt8]) -> Hash { Hash.tagged(.stateKey, key) }
    /// What the state tree commits to for a state value.
    public static func treeValue(_ value: [UInt8]) -> Hash { Hash.tagged(.stateValue, value) }

    // MARK: - Transactions

    /// Applies one verified transaction to `overlay`, or throws without having kept any
    /// write the caller will commit (the caller rolls the transaction back).
    /// A `TransactionError` is the transaction's fault; any other error (a storage read that
    /// failed, a state value that does not decode) is the node's and is passed on, never
    /// turned into a rejection.
    public func apply(_ verified: VerifiedTransaction, context: BlockContext, overlay: inout StateOverlay) throws {
        let transaction = verified.transaction
        guard var signerAccount = try overlay.account(transaction.signer) else {
            throw TransactionError(.unknownAccount, "the signer \(transaction.signer.address) is not registered")
        }
        guard transaction.nonce == signerAccount.nonce else {
            throw TransactionError(.badNonce, "nonce \(transaction.nonce) given, the account's next nonce is \(signerAccount.nonce)")
        }
        guard !signerAccount.frozen else {
            throw TransactionError(.frozen, "the signer's account is frozen")
        }
        if signerAccount.role == .visitor { try requireUnexpiredVisitor(transaction.signer, context: context, overlay: overlay) }
        signerAccount.nonce += 1
        overlay.setAccount(transaction.signer, signerAccount)
        let signer = transaction.signer
        switch transaction.body {
        case .register(let body): try register(body, signer: signer, context: context, overlay: &overlay)
        case .charge(let body): try charge(body, signer: signer, id: verified.id, context: context, overlay: &overlay)
        case .send(let body): try send(body, signer: signer, context: context, overlay: &overlay)
        case .createProgram(let body): try createProgram(body, signer: signer, context: context, overlay: &overlay)
        case .grant(let body): try grant(body, signer: signer, context: context, overlay: &overlay)
        case .pay(let body): try pay(body, signer: signer, context: context, overlay: &overlay)
        case .thank(let body): try thank(body, signer: signer, context: context, overlay: &overlay)
        case .redeem(let body): try redeem(body, signer: signer, context: context, overlay: &overlay)
        case .refund(let body): try refund(body, transaction: verified, context: context, overlay: &overlay)
        case .freeze(let body): try setFrozen(body, frozen: true, signer: signer, overlay: &overlay)
        case .unfreeze(let body): try setFrozen(body, frozen: false, signer: signer, overlay: &overlay)
        case .recover(let body): try recover(body, transaction: verified, context: context, overlay: &overlay)
        case .appointDelegate(let body): try appointDelegate(body, signer: signer, context: context, overlay: &overlay)
        case .revokeDelegate(let body): try revokeDelegate(body, signer: signer, context: context, overlay: &overlay)
        case .setProgramTerms(let body): try setProgramTerms(body, signer: signer, context: context, overlay: &overlay)
        case .topUpProgram(let body): try topUpProgram(body, signer: signer, context: context, overlay: &overlay)
        case .closeProgram(let body): try closeProgram(body, signer: signer, context: context, overlay: &overlay)
        case .payAuthorised(let body): try payAuthorised(body, signer: signer, context: context, overlay: &overlay)
        case .payBusiness(let body): try payBusiness(body, signer: signer, context: context, overlay: &overlay)
        case .issueInvoice(let body): try issueInvoice(body, signer: signer, id: verified.id, context: context, overlay: &overlay)
        case .payInvoice(let body): try payInvoice(body, signer: signer, context: context, overlay: &overlay)
        case .cancelInvoice(let body): try cancelInvoice(body, signer: signer, context: context, overlay: &overlay)
        case .updateConsent(let body): try updateConsent(body, signer: signer, context: context, overlay: &overlay)
        case .setPremium(let body): try setPremium(body, signer: signer, context: context, overlay: &overlay)
        case .chargeExtended(let body): try chargeExtended(body, signer: signer, id: verified.id, context: context, overlay: &overlay)
        case .payPublic(let body): try payPublic(body, signer: signer, context: context, overlay: &overlay)
        case .authoriseStandingOrder(let body): try authoriseStandingOrder(body, signer: signer, id: verified.id, context: context, overlay: &overlay)
        case .payInstalment(let body): try payInstalment(body, signer: signer, context: context, overlay: &overlay)
        case .cancelStandingOrder(let body): try cancelStandingOrder(body, signer: signer, context: context, overlay: &overlay)
        case .setEventBonus(let body): try setEventBonus(body, signer: signer, context: context, overlay: &overlay)
        case .setRebateTiers(let body): try setRebateTiers(body, signer: signer, context: context, overlay: &overlay)
        case .govern(let body): try govern(body, signer: signer, context: context, overlay: &overlay)
        }
    }

    private func register(_ body: Register, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard signer == genesis.authorities.registrar else {
            throw TransactionError(.notAuthorised, "only the registrar may register accounts")
        }
        guard body.role != .authority else {
            throw TransactionError(.wrongRole, "authority accounts are named in genesis, not registered")
        }
        guard body.role != .delegate else {
            throw TransactionError(.wrongRole, "delegates are appointed by a program's issuer (appoint_delegate), not registered")
        }
        guard try overlay.account(body.account) == nil else {
            throw TransactionError(.accountExists, "\(body.account.address) is already registered")
        }
        guard !genesis.validators.validators.contains(where: { $0.publicKey == body.account }) else {
            throw TransactionError(.wrongRole, "validator keys cannot hold value")
        }
        switch body.role {
        case .merchant:
            guard let category = body.merchantCategory, !category.isEmpty else {
                throw TransactionError(.invalidAttribute, "a merchant needs a category (supermarket, drugstore, restaurant, …)")
            }
            guard body.residentIdHash == nil, body.ageBand == nil else {
                throw TransactionError(.invalidAttribute, "resident attributes do not apply to a merchant")
            }
        case .resident, .card:
            guard body.merchantCategory == nil else {
                throw TransactionError(.invalidAttribute, "a resident has no merchant category")
            }
            if body.role == .card { try checkCardRegistration(body) }
        case .visitor:
            try checkVisitorRegistration(body)
        case .organisation:
            try checkOrganisationRegistration(body)
        case .authority, .delegate:
            break
        }
        if body.role == .resident, body.residentIdHash == nil, genesis.residentIdRequired {
            throw TransactionError(.residentIdRequired, "this chain's genesis requires the salted resident-ID hash on every resident's registration (one resident, one account)")
        }
        if let band = body.ageBand, band > 6 {
            throw TransactionError(.invalidAttribute, "age band \(band) is out of range 0–6")
        }
        if let district = body.district, district.isEmpty {
            throw TransactionError(.invalidAttribute, "district, when given, must not be empty")
        }
        if let residentIdHash = body.residentIdHash {
            let key = StateKey.residentId(residentIdHash)
            if try overlay.get(key) != nil {
                throw TransactionError(.residentAlreadyRegistered, "this resident already has an account")
            }
            overlay.set(key, body.account.bytes)
        }
        var account = AccountState(role: body.role, registeredAt: context.stampTime)
        account.merchantCategory = body.merchantCategory
        account.residentIdHash = body.residentIdHash
        account.district = body.district
        account.ageBand = body.ageBand
        overlay.setAccount(body.account, account)
        if body.role == .visitor, let expiry = genesis.visitorPolicy?.expiry(registeredAt: context.timestamp) {
            overlay.setAmount(StateKey.visitorExpiry(body.account), expiry)
        }
    }

    private func charge(_ body: Charge, signer: PublicKey, id: Hash, context: BlockContext, overlay: inout StateOverlay) throws {
        // Channels 1 and 2, the only ones a `charge` can name, are defined on every chain.
        guard let channel = genesis.chargeChannel(body.channel.rawValue) else { throw LedgerInconsistency("charge channel \(body.channel.rawValue) is not defined") }
        try chargeCoins(to: body.to, amount: body.amount, channel: channel, receiptId: body.receiptId, premiumProgram: nil, signer: signer, id: id, context: context, overlay: &overlay)
    }

    /// A charge (`charge`, `charge_extended`): coins for yen received, once per receipt id;
    /// then the premium of a sale it names, the channel's bonus and first-charge bonuses.
    func chargeCoins(to key: PublicKey, amount: Amount, channel: ChargeChannelDefinition, receiptId: String, premiumProgram: UInt64?, signer: PublicKey, id: Hash, context: BlockContext, overlay: inout StateOverlay) throws {
        guard signer == genesis.authorities.coinIssuer else {
            throw TransactionError(.notAuthorised, "only the coin issuer may charge")
        }
        guard amount > 0 else { throw TransactionError(.invalidAmount, "a charge must be at least ¥1") }
        guard !receiptId.isEmpty else { throw TransactionError(.invalidAttribute, "a charge needs a receipt id") }
        let receiptKey = StateKey.receipt(receiptId)
        if try overlay.get(receiptKey) != nil {
            throw TransactionError(.duplicateReceipt, "receipt '\(receiptId)' was already charged")
        }
        guard var account = try overlay.account(key) else {
            throw TransactionError(.unknownAccount, "\(key.address) is not registered")
        }
        guard account.role.holdsResidentValue || account.role == .visitor else { throw TransactionError(.wrongRole, "coins are charged to residents, their cards and visitors only") }
        guard !account.frozen else { throw TransactionError(.frozen, "the recipient's account is frozen") }
        let policy = genesis.coin
        guard let balance = account.coin.adding(amount) else { throw TransactionError(.overflow, "balance overflows") }
        let holderCap = try holderCap(of: account, key, context: context, overlay: overlay)
        guard balance <= holderCap.cap else {
            throw TransactionError(holderCap.code, "the charge would bring the \(account.role.name)'s balance to ¥\(balance), over the cap of ¥\(holderCap.cap)")
        }
        var supply = try overlay.supply(.coin)
        guard let minted = supply.minted.adding(amount) else { throw TransactionError(.overflow, "coin supply overflows") }
        supply.minted = minted
        overlay.setCoin(key, &account, to: balance, at: context.stampTime, rule: policy.expiry)
        overlay.setAccount(key, account)
        overlay.setSupply(.coin, supply)
        overlay.set(receiptKey, id.bytes)
        try overlay.addAmount(StateKey.periodMinted(LedgerCalendar.basePeriod(context.calendarTime)), amount)
        var points = account.point
        if let premiumProgram {
            try mintPremium(premiumProgram, on: amount, to: key, context: context, overlay: &overlay)
            points = try overlay.account(key)?.point ?? points
        }
        // The channel's bonus, as a point lot from the charge-bonus program; trimmed (never
        // refused) so the points balance stays within its cap.
        let rate = UInt64(channel.bonusBasisPoints)
        let bonus = amount.multipliedFullWidth(by: rate).low / 10_000
        let room = genesis.point.holderCapYen.subtracting(points) ?? 0
        if account.role.holdsResidentValue, rate > 0, amount <= UInt64.max / 10_000, min(bonus, room) > 0 {
            try mint(program: Ledger.chargeBonusProgram, to: key, amount: min(bonus, room), context: context, overlay: &overlay)
        }
        if account.role.holdsResidentValue { try applyEventBonuses(.firstCharge, to: key, context: context, overlay: &overlay) }
    }

    private func send(_ body: Send, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard body.to != signer else { throw TransactionError(.selfTransfer, "an account cannot send to itself") }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "a send must be at least ¥1") }
        guard var sender = try overlay.account(signer) else { throw TransactionError(.unknownAccount, "the sender is not registered") }
        guard sender.role != .card else { throw TransactionError(.cardCannotSend, "a card pays merchants only; it cannot send coins") }
        guard sender.role == .resident else { throw TransactionError(.wrongRole, "only residents send coins") }
        guard var recipient = try overlay.account(body.to) else {
            throw TransactionError(.unknownAccount, "\(body.to.address) is not registered")
        }
        guard recipient.role.holdsResidentValue else { throw TransactionError(.wrongRole, "coins are sent to residents (or their cards) only; pay a merchant instead") }
        guard !recipient.frozen else { throw TransactionError(.frozen, "the recipient's account is frozen") }
        let policy = genesis.coin
        guard body.amount <= policy.sendLimitPerTransactionYen else {
            throw TransactionError(.sendLimitExceeded, "¥\(body.amount) is over the per-send limit of ¥\(policy.sendLimitPerTransactionYen)")
        }
        let month = CivilTime.japanYearMonth(milliseconds: context.calendarTime)
        let monthKey = StateKey.monthlySent(signer, asset: .coin, yearMonth: month)
        let sentThisMonth = try overlay.amount(monthKey)
        guard let monthTotal = sentThisMonth.adding(body.amount), monthTotal <= policy.sendLimitPerMonthYen else {
            throw TransactionError(.monthlySendLimitExceeded, "¥\(sentThisMonth) already sent this month; ¥\(body.amount) more is over the monthly limit of ¥\(policy.sendLimitPerMonthYen)")
        }
        guard let senderBalance = sender.coin.subtracting(body.amount) else {
            throw TransactionError(.insufficientBalance, "balance ¥\(sender.coin) is less than ¥\(body.amount)")
        }
        let holderCap = coinHolderCap(recipient.role)
        guard let recipientBalance = recipient.coin.adding(body.amount), recipientBalance <= holderCap.cap else {
            throw TransactionError(holderCap.code, "the recipient's balance would exceed the \(recipient.role.name) cap of ¥\(holderCap.cap)")
        }
        overlay.setCoin(signer, &sender, to: senderBalance, at: context.stampTime, rule: policy.expiry)
        overlay.setCoin(body.to, &recipient, to: recipientBalance, at: context.stampTime, rule: policy.expiry)
        overlay.setAccount(signer, sender)
        overlay.setAccount(body.to, recipient)
        overlay.setAmount(monthKey, monthTotal)
    }
}

/// A block that cannot be applied because one of its transactions fails.
public struct BlockRejection: Error, Sendable, CustomStringConvertible {
    public let transactionId: Hash
    public let error: TransactionError

    public var description: String { "transaction \(transactionId) fails: \(error)" }
}
