import Foundation
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
import Testing

/// Fixed keys and a test genesis built in code. Every key comes from `PrivateKey(seed:)` of
/// fixed bytes, so every test run signs the same bytes.
enum Fixture {
    static let chainId = "local-test"

    static func key(_ byte: UInt8) -> PrivateKey { PrivateKey(seed: [UInt8](repeating: byte, count: 32))! }

    static let validatorKey = key(0x01)
    static let coinIssuerKey = key(0x02)
    static let registrarKey = key(0x03)
    static let cityKey = key(0x04)
    static let auditorKey = key(0x05)

    /// Residents, merchants and strangers of the tests: seeds 0x40, 0x41, …
    static func account(_ index: Int) -> PrivateKey { key(UInt8(0x40 + index)) }

    /// UTC milliseconds of an RFC 3339 time.
    static func time(_ text: String) -> UInt64 { CivilTime.parseRFC3339(text)! }

    /// 2026-04-01T00:00:00+09:00.
    static let genesisTime = time("2026-04-01T00:00:00+09:00")

    static let authorities = Authorities(
        coinIssuer: coinIssuerKey.publicKey,
        registrar: registrarKey.publicKey,
        city: cityKey.publicKey,
        auditor: auditorKey.publicKey
    )

    static func genesis(chainId: String = chainId, genesisTime: UInt64 = genesisTime, coin: AssetPolicy = Genesis.defaultCoinPolicy) -> Genesis {
        Genesis(
            chainId: chainId,
            genesisTime: genesisTime,
            validators: [Validator(name: "validator-1", organisation: "Test City", publicKey: validatorKey.publicKey, votingPower: 10)],
            authorities: authorities,
            coin: coin,
            point: Genesis.defaultPointPolicy,
            thanks: Genesis.defaultThanksPolicy
        )
    }

    static let defaultGenesis = genesis()
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so the property tests
/// replay exactly. Never `SystemRandomNumberGenerator`.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (the modulo bias is irrelevant here; the point is replay).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func amount(in range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + next() % (range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// The state of a store, family by family, for comparing stores.
func snapshot(_ store: MemoryStore, _ families: [ColumnFamily] = ColumnFamily.allCases) -> [ColumnFamily: [[UInt8]: [UInt8]]] {
    var result: [ColumnFamily: [[UInt8]: [UInt8]]] = [:]
    for family in families {
        var entries: [[UInt8]: [UInt8]] = [:]
        for entry in store.allEntries(in: family) { entries[entry.key] = entry.value }
        result[family] = entries
    }
    return result
}

/// A new `MemoryStore` holding every entry of every family of `store`.
/// `snapshot(store)` without the marker that a migration to format version 5 writes (ADR 0031;
/// a store written by this release has none): what a migrated store must otherwise equal.
func snapshotWithoutUpgradeMarker(_ store: MemoryStore) -> [ColumnFamily: [[UInt8]: [UInt8]]] {
    var result = snapshot(store)
    result[.meta]?[Array("transaction_index_long_keys".utf8)] = nil
    return result
}

func copyStore(_ store: MemoryStore) throws -> MemoryStore {
    let copy = MemoryStore()
    var batch = WriteBatch()
    for family in ColumnFamily.allCases {
        for entry in store.allEntries(in: family) { batch.put(entry.value, for: entry.key, in: family) }
    }
    try copy.write(batch, sync: false)
    return copy
}

/// The 8-byte big-endian height key of the `blocks` and `certificates` families.
func heightKey(_ height: UInt64) -> [UInt8] {
    var encoder = KizunaCore.Encoder()
    encoder.encode(height)
    return encoder.bytes
}

/// Every account in the committed state (keys with prefix 0x01), decoded.
func storedAccounts(_ store: MemoryStore) throws -> [(key: PublicKey, account: AccountState)] {
    try store.allEntries(in: .state).filter { $0.key.first == 0x01 }.map { entry in
        (PublicKey(entry.key.dropFirst())!, try AccountState(canonicalBytes: entry.value))
    }
}

func storedSupply(_ store: MemoryStore, _ asset: Asset = .coin) throws -> SupplyState {
    guard let bytes = try store.get(StateKey.supply(asset), in: .state) else { return SupplyState() }
    return try SupplyState(canonicalBytes: bytes)
}

/// Checks design §2.4 for coins by scanning the whole state: minted − redeemed − refunded −
/// expired = Σ coin balances (balances are UInt64, so "no negative balance" is this sum
/// never needing a negative term, plus every counter subtraction staying defined).
func expectCoinInvariant(_ store: MemoryStore, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let supply = try storedSupply(store)
    var total: UInt64 = 0
    for (_, account) in try storedAccounts(store) {
        guard let sum = total.adding(account.coin) else {
            Issue.record("Σ coin balances overflows", sourceLocation: sourceLocation)
            return
        }
        total = sum
    }
    #expect(supply.outstanding != nil, "supply counters are inconsistent: \(supply)", sourceLocation: sourceLocation)
    #expect(supply.outstanding == total, "minted − redeemed − refunded − expired = \(String(describing: supply.outstanding)), Σ coin balances = \(total)", sourceLocation: sourceLocation)
}

/// True when `message` names `height` as "block N" or "height N" (not as a prefix of a
/// longer number, so height 1 is not found in "block 10").
func mentionsHeight(_ message: String, _ height: UInt64) -> Bool {
    for marker in ["block \(height)", "height \(height)"] {
        var searchRange = message.startIndex..<message.endIndex
        while let found = message.range(of: marker, range: searchRange) {
            if found.upperBound == message.endIndex || !message[found.upperBound].isNumber { return true }
            searchRange = found.upperBound..<message.endIndex
        }
    }
    return false
}

// MARK: - Ledger harness

/// A ledger over a `MemoryStore` holding the genesis state, executing blocks with
/// `Ledger.execute` and committing each block's batch.
final class LedgerHarness {
    let genesis: Genesis
    let ledger: Ledger
    let store: MemoryStore
    private(set) var height: UInt64 = 0
    private(set) var timestamp: UInt64
    private(set) var stateRoot: Hash
    private var builders: [PublicKey: TransactionBuilder] = [:]
    private var receiptCounter = 0

    init(genesis: Genesis = Fixture.defaultGenesis) throws {
        self.genesis = genesis
        ledger = Ledger(genesis: genesis)
        store = MemoryStore()
        let execution = try ledger.genesisExecution(store: store)
        try store.write(execution.batch, sync: false)
        stateRoot = execution.stateRoot
        timestamp = genesis.genesisTime
    }

    // MARK: Signing

    /// Signs `body` with `key` at the signer's next nonce: the committed nonce, plus one
    /// for each transaction signed since the last block.
    func sign(_ key: PrivateKey, _ body: TransactionBody, cosigners: [PrivateKey] = []) -> SignedTransaction {
        var builder = builders[key.publicKey]
            ?? TransactionBuilder(chainId: genesis.chainId, key: key, nextNonce: (try? account(key.publicKey))??.nonce ?? 0)
        let signed = builder.sign(body, cosigners: cosigners)
        builders[key.publicKey] = builder
        return signed
    }

    /// Signs with an explicit nonce (for nonce tests); does not affect `sign`.
    func sign(_ key: PrivateKey, nonce: UInt64, _ body: TransactionBody, chainId: String? = nil) -> SignedTransaction {
        Transaction(chainId: chainId ?? genesis.chainId, signer: key.publicKey, nonce: nonce, body: body).signed(by: key)
    }

    func register(_ account: PublicKey, role: Role = .resident, merchantCategory: String? = nil, residentIdHash: Hash? = nil, district: String? = nil, ageBand: UInt8? = nil, by signer: PrivateKey = Fixture.registrarKey) -> SignedTransaction {
        sign(signer, .register(Register(account: account, role: role, merchantCategory: merchantCategory, residentIdHash: residentIdHash, district: district, ageBand: ageBand)))
    }

    func charge(_ to: PublicKey, _ amount: Amount, channel: ChargeChannel = .app, receipt: String? = nil, by signer: PrivateKey = Fixture.coinIssuerKey) -> SignedTransaction {
        let receiptId: String
        if let receipt {
            receiptId = receipt
        } else {
            receiptCounter += 1
            receiptId = "receipt-\(receiptCounter)"
        }
        return sign(signer, .charge(Charge(to: to, amount: amount, channel: channel, receiptId: receiptId)))
    }

    func send(from: PrivateKey, to: PublicKey, _ amount: Amount) -> SignedTransaction {
        sign(from, .send(Send(to: to, amount: amount)))
    }

    // MARK: Executing

    func verify(_ transactions: [SignedTransaction]) throws -> [VerifiedTransaction] {
        try transactions.map { try $0.verified(chainId: genesis.chainId) }
    }

    /// Executes the next block and commits its batch. Timestamp: one second after the last
    /// block unless given.
    @discardableResult
    func block(_ transactions: [SignedTransaction], at time: UInt64? = nil, mode: Ledger.Mode = .propose) throws -> BlockExecution {
        let blockTime = time ?? timestamp + 1000
        let execution = try ledger.execute(verify(transactions), context: BlockContext(height: height + 1, timestamp: blockTime), store: store, mode: mode)
        try store.write(execution.batch, sync: false)
        height += 1
        timestamp = blockTime
        stateRoot = execution.stateRoot
        builders = [:]
        return execution
    }

    /// Executes the next block without committing it.
    func dryRun(_ transactions: [SignedTransaction], at time: UInt64? = nil, mode: Ledger.Mode = .propose) throws -> BlockExecution {
        defer { builders = [:] }
        return try ledger.execute(verify(transactions), context: BlockContext(height: height + 1, timestamp: time ?? timestamp + 1000), store: store, mode: mode)
    }

    /// Commits a block in which every transaction must be accepted.
    func commitAll(_ transactions: [SignedTransaction], at time: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let execution = try block(transactions, at: time)
        #expect(execution.rejected.isEmpty, "unexpected rejections: \(execution.rejected.map { "\($0.error)" })", sourceLocation: sourceLocation)
        #expect(execution.accepted.count == transactions.count, sourceLocation: sourceLocation)
    }

    /// Expects `transaction`, as the only transaction of the next block, to be refused with
    /// `code`, changing nothing: in `.propose` mode it is reported as rejected and the block
    /// has no changes and the same state root; in `.validate` mode the block is rejected.
    func expectRejected(_ transaction: SignedTransaction, _ code: TransactionError.Code, at time: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = snapshot(store)
        let execution = try dryRun([transaction], at: time)
        // What the block does without the transaction: nothing, unless the block's time makes
        // lots or coins expire or crosses a base date (work done before any transaction).
        let empty = try dryRun([], at: time)
        #expect(execution.accepted.isEmpty, "accepted, expected \(code)", sourceLocation: sourceLocation)
        #expect(execution.rejected.map(\.error.code) == [code], "rejections: \(execution.rejected.map { "\($0.error)" })", sourceLocation: sourceLocation)
        #expect(execution.rejected.first?.transaction.id == transaction.id, sourceLocation: sourceLocation)
        #expect(execution.changes.count == empty.changes.count && zip(execution.changes, empty.changes).allSatisfy { $0.key == $1.key && $0.value == $1.value },
                "a rejected transaction changed \(execution.changes.count - empty.changes.count) keys", sourceLocation: sourceLocation)
        #expect(execution.stateRoot == empty.stateRoot, sourceLocation: sourceLocation)
        if time == nil { #expect(execution.stateRoot == stateRoot, sourceLocation: sourceLocation) }
        #expect(execution.receipts.isEmpty, sourceLocation: sourceLocation)
        let rejection = #expect(throws: BlockRejection.self, sourceLocation: sourceLocation) {
            _ = try self.dryRun([transaction], at: time, mode: .validate)
        }
        #expect(rejection?.error.code == code, sourceLocation: sourceLocation)
        #expect(rejection?.transactionId == transaction.id, sourceLocation: sourceLocation)
        #expect(snapshot(store) == before, "executing without committing wrote to the store", sourceLocation: sourceLocation)
    }

    // MARK: Reading

    func account(_ key: PublicKey) throws -> AccountState? {
        guard let bytes = try store.get(StateKey.account(key), in: .state) else { return nil }
        return try AccountState(canonicalBytes: bytes)
    }

    func coin(_ key: PrivateKey) throws -> Amount { try account(key.publicKey)?.coin ?? 0 }
    func nonce(_ key: PrivateKey) throws -> UInt64 { try account(key.publicKey)?.nonce ?? 0 }
    func supply() throws -> SupplyState { try storedSupply(store) }

    func monthlySent(_ key: PrivateKey, yearMonth: UInt32) throws -> Amount? {
        guard let bytes = try store.get(StateKey.monthlySent(key.publicKey, asset: .coin, yearMonth: yearMonth), in: .state) else { return nil }
        var decoder = KizunaCore.Decoder(bytes)
        let value = try decoder.decodeUInt64()
        try decoder.finish()
        return value
    }

    /// Registers residents and charges each the amount given (0: no charge), in one block each.
    func setUpResidents(_ funding: [(key: PrivateKey, coin: Amount)]) throws {
        try commitAll(funding.map { register($0.key.publicKey) })
        let charges = funding.filter { $0.coin > 0 }.map { charge($0.key.publicKey, $0.coin) }
        if !charges.isEmpty { try commitAll(charges) }
    }
}

// MARK: - Chain harness

/// A single-validator chain over a `MemoryStore`, committed the way the node commits:
/// `BlockValidator.propose`, a precommit certificate by the one validator, `BlockStore.commit`,
/// and the tip certificate carried as the next block's `lastCommit`.
final class ChainHarness {
    let genesis: Genesis
    let store: MemoryStore
    let blocks: BlockStore
    var validator: BlockValidator { BlockValidator(blocks: blocks) }
    var tipCertificate: CommitCertificate?
    /// Blocks this harness proposed, by hash: only a validated block can be committed.
    var proposed: [Hash: ValidatedBlock] = [:]

    init(genesis: Genesis = Fixture.defaultGenesis, store: MemoryStore = MemoryStore()) throws {
        self.genesis = genesis
        self.store = store
        blocks = try BlockStore(store: store, genesis: genesis)
    }

    func certificate(for block: Block, key: PrivateKey = Fixture.validatorKey) -> CommitCertificate {
        CommitCertificate(
            height: block.height, round: 0, blockHash: block.hash,
            signatures: [CommitCertificate.precommit(chainId: genesis.chainId, height: block.height, round: 0, blockHash: block.hash, key: key)]
        )
    }

    func propose(_ transactions: [SignedTransaction], timestamp: UInt64) throws -> (block: Block, execution: BlockExecution) {
        let verified = try transactions.map { try $0.verified(chainId: genesis.chainId) }
        let validated = try validator.propose(candidates: verified, timestamp: timestamp, proposer: Fixture.validatorKey.publicKey, lastCommit: tipCertificate)
        proposed[validated.hash] = validated
        return (validated.block, validated.execution)
    }

    /// Commits a block this harness proposed (`execution` is the proposal's own).
    func commit(_ block: Block, _ execution: BlockExecution) throws {
        let certificate = certificate(for: block)
        let validated = try #require(proposed[block.hash], "block \(block.height) was not proposed by this harness")
        try blocks.commit(try validated.committed(by: certificate, chainId: genesis.chainId, validators: genesis.validators))
        proposed = [:]
        tipCertificate = certificate
    }

    @discardableResult
    func produce(_ transactions: [SignedTransaction], timestamp: UInt64) throws -> Block {
        let (block, execution) = try propose(transactions, timestamp: timestamp)
        try commit(block, execution)
        return block
    }

    /// A chain of ten blocks with transactions in every block: block 1 registers four
    /// residents and a merchant, block 2 charges the residents, blocks 3–10 carry sends.
    static func tenBlocks() throws -> ChainHarness {
        let chain = try ChainHarness()
        let chainId = chain.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        var residents = (0..<4).map { TransactionBuilder(chainId: chainId, key: Fixture.account($0), nextNonce: 0) }
        let merchant = Fixture.account(9)
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        try chain.produce(residents.map { registrar.register($0.key.publicKey, role: .resident) }
            + [registrar.register(merchant.publicKey, role: .merchant, merchantCategory: "supermarket")], timestamp: time)
        time += 60_000
        try chain.produce(residents.enumerated().map { index, resident in
            issuer.charge(to: resident.key.publicKey, amount: 20_000, channel: index.isMultiple(of: 2) ? .app : .chargeMachine, receiptId: "chain-receipt-\(index)")
        }, timestamp: time)
        for height in 3...10 {
            time += 60_000
            var transactions: [SignedTransaction] = []
            for index in 0..<4 {
                let recipient = residents[(index + 1 + height % 3) % 4].key.publicKey
                transactions.append(residents[index].send(to: recipient, amount: UInt64(100 * height + index)))
            }
            if height.isMultiple(of: 3) {
                transactions.append(issuer.charge(to: residents[height % 4].key.publicKey, amount: 1_000, receiptId: "chain-receipt-top-up-\(height)"))
            }
            let block = try chain.produce(transactions, timestamp: time)
            precondition(block.transactions.count == transactions.count, "the fixture chain must accept all its transactions")
        }
        return chain
    }
}
