public import Synchronization
public import KizunaCore
public import KizunaChain
public import KizunaLedger
public import Logging
import Foundation
import NIOConcurrencyHelpers

/// Where a transaction stands, as the API reports it.
public enum TransactionStatus: Sendable, Equatable {
    case pending
    /// Still pending on a network: the last proposal this node built left it out, for this
    /// reason, against the state of that moment. Not final — another validator may still
    /// commit it (its nonce is not used), and this node tries again after the next commit.
    case deferred(TransactionError)
    case committed(Receipt, blockHash: Hash)
    case rejected(TransactionError)
    case unknown
}

/// A node's chain, mempool and commit bookkeeping. In `.single` mode it is the whole
/// validator: when there is work (or when the empty-block interval has passed) it builds a
/// block, signs the commit certificate with its key alone and commits block and state in one
/// synced write. In `.consensus` mode the `ConsensusEngine` decides blocks with the other
/// validators (or, for an observer, follows them) and calls `buildProposal`,
/// `validateProposal` and `commitDecided` (Node+Consensus.swift).
public actor Node {
    public enum Mode: Sendable, Equatable {
        /// One validator holding more than 2/3 of the power commits alone.
        case single
        /// Blocks are decided by consensus among the validators (this node may be an observer).
        case consensus
    }

    public nonisolated let mode: Mode
    public nonisolated let metrics = NodeMetrics()
    public nonisolated let genesis: Genesis
    public nonisolated let configuration: NodeConfiguration
    nonisolated let blocks: BlockStore
    let validator: BlockValidator
    let key: PrivateKey
    let logger: Logger
    var mempool: Mempool
    /// The certificate that committed the tip; block n+1 carries it.
    var tipCertificate: CommitCertificate?
    var lastBlockMilliseconds: UInt64 = 0
    /// Recently rejected transactions and why, bounded, oldest dropped first.
    var rejected: [Hash: TransactionError] = [:]
    var rejectedOrder: [Hash] = []
    static let rejectedRemembered = 10_000
    var waiters: [Hash: [(token: UInt64, continuation: CheckedContinuation<TransactionStatus, Never>)]] = [:]
    var nextWaiterToken: UInt64 = 0
    /// Requests waiting in `waiters`, bounded by `configuration.commitWaitersMax`.
    var waiterCount = 0
    /// Counters for the status endpoint.
    public private(set) var committedTransactions: UInt64 = 0

    /// Why a node refused to start.
    public typealias StartError = CodedError<NodeStartErrorCode>

    /// Consensus mode: transactions the last proposal left out, with why; re-admitted to the
    /// mempool after the next commit (`Node+Consensus.swift`). At most
    /// `configuration.deferredTransactionsMax`; past it `buildProposal` rejects (`mempool.full`).
    var deferred: [Hash: (transaction: VerifiedTransaction, admittedAt: UInt64, error: TransactionError)] = [:]
    /// Transactions admitted from the API are handed to this hook (for gossip to peers).
    var admissionObserver: (@Sendable (VerifiedTransaction) -> Void)?
    /// Spike admission control, read by the API outside the actor (`admissionRefusal`).
    nonisolated let admission: NIOLockedValueBox<AdmissionControl>
    /// Set by block sync while this node is more than a block behind its peers; the API then
    /// refuses submissions as retryable (`catchingUpRefusal`) instead of judging them on a
    /// stale state. Nil when caught up.
    public nonisolated let catchUp = Mutex<CatchUp?>(nil)
    /// The start of the next block on the tip, for admission checks (Node+Admission.swift).
    var admissionCache: (height: UInt64, state: AdmissionState)?
    /// Per account, the admission verdict of its whole pending chain at the cached tip.
    var chainCache: [PublicKey: AdmissionState.Verdict] = [:]
    /// Per account, what its pending chain's last check read, kept across commits: a commit
    /// checks the chain again only when it could have changed the verdict (ADR 0020).
    var admissionRecords: [PublicKey: AdmissionRecord] = [:]
    /// The API client that submitted each pending transaction.
    var clientOf: [Hash: String] = [:]

    public init(configuration: NodeConfiguration, genesis: Genesis, blocks: BlockStore, key: PrivateKey, mode: Mode = .single, logger: Logger) throws(StartError) {
        if mode == .single {
            // The set in force for the next block: genesis's, or one governance put in force.
            let validators: ValidatorSet
            do {
                validators = try blocks.validatorSet(at: blocks.tipHeight() + 1)
            } catch {
                throw StartError(.store, "\(error)", cause: error)
            }
            guard let me = validators.validator(for: key.publicKey) else {
                throw StartError(.notAValidator, "the key \(key.publicKey.address) is not a validator of chain '\(genesis.chainId)'")
            }
            guard validators.isQuorum(me.votingPower) else {
                throw StartError(.needsConsensus, "validator '\(me.name)' holds \(me.votingPower) of \(validators.totalVotingPower) voting power; a single node can only commit alone where it holds more than 2/3 (configure the peer network to run consensus)")
            }
        }
        self.mode = mode
        if DevelopmentKeys.allPublicKeys.contains(key.publicKey) && !genesis.isLocalChain {
            throw StartError(.developmentKey, "refusing to run with a published DEVELOPMENT key on chain '\(genesis.chainId)'; only chains whose id starts with '\(Genesis.localChainIdPrefix)' accept them")
        }
        self.configuration = configuration
        self.genesis = genesis
        self.blocks = blocks
        self.validator = BlockValidator(blocks: blocks)
        self.key = key
        self.logger = logger
        self.mempool = Mempool(transactionsMax: configuration.mempoolTransactionsMax, transactionsPerAccountMax: configuration.mempoolTransactionsPerAccountMax)
        self.admission = NIOLockedValueBox(AdmissionControl(settings: configuration.admission))
        do {
            let height = try blocks.tipHeight()
            self.tipCertificate = height == 0 ? nil : try blocks.certificate(at: height)
        } catch {
            throw StartError(.store, "\(error)", cause: error)
        }
    }

    // MARK: - Submission (Node+Admission.swift)

    public func status(of id: Hash) -> TransactionStatus {
        if mempool.contains(id) { return .pending }
        if let entry = deferred[id] { return .deferred(entry.error) }
        // A receipt outranks a remembered rejection: a transaction displaced here may have
        // been in the block another validator had already proposed.
        if let error = rejected[id], (try? blocks.receipt(of: id)) == nil { return .rejected(error) }
        // The header alone gives the block's hash (a whole block of 2,000 transactions would
        // be decoded for it on every status asked).
        if let receipt = try? blocks.receipt(of: id), let header = try? blocks.header(at: receipt.height) {
            return .committed(receipt, blockHash: header.hash)
        }
        return .unknown
    }

    /// Waits until the transaction commits or is rejected, or `milliseconds` pass.
    public func waitForOutcome(of id: Hash, milliseconds: UInt64) async -> TransactionStatus {
        let current = status(of: id)
        guard current == .pending else { return current }
        guard waiterCount < configuration.commitWaitersMax else {
            // Bounded: past it the caller learns "pending" now and can ask again later.
            metrics.add("kizuna_commit_waiters_refused_total")
            return current
        }
        waiterCount += 1
        nextWaiterToken += 1
        let token = nextWaiterToken
        return await withCheckedContinuation { continuation in
            waiters[id, default: []].append((token, continuation))
            Task {
                try? await Task.sleep(nanoseconds: milliseconds * 1_000_000)
                self.expireWaiter(id: id, token: token)
            }
        }
    }

    private func expireWaiter(id: Hash, token: UInt64) {
        guard var list = waiters[id], let index = list.firstIndex(where: { $0.token == token }) else { return }
        let waiter = list.remove(at: index)
        waiters[id] = list.isEmpty ? nil : list
        waiterCount -= 1
        waiter.continuation.resume(returning: .pending)
    }

    func resolve(_ id: Hash, _ status: TransactionStatus) {
        guard let list = waiters.removeValue(forKey: id) else { return }
        waiterCount -= list.count
        for waiter in list { waiter.continuation.resume(returning: status) }
    }

    func remember(_ id: Hash, _ error: TransactionError) {
        if rejected[id] == nil { rejectedOrder.append(id) }
        rejected[id] = error
        if rejectedOrder.count > Node.rejectedRemembered {
            let excess = rejectedOrder.count - Node.rejectedRemembered
            for id in rejectedOrder.prefix(excess) { rejected[id] = nil }
            rejectedOrder.removeFirst(excess)
        }
    }

    func forgetRejection(_ id: Hash) {
        if rejected.removeValue(forKey: id) != nil { rejectedOrder.removeAll { $0 == id } }
    }

    // MARK: - Producing blocks

    /// Commits a block if there is work or the empty-block interval has passed.
    /// Returns the committed block, if any.
    @discardableResult
    public func produceIfDue(nowMilliseconds: UInt64) throws -> Block? {
        expireMempool(nowMilliseconds: nowMilliseconds)
        let due = hasProposableTransactions() || nowMilliseconds >= lastBlockMilliseconds + configuration.emptyBlockIntervalMilliseconds
        guard due else { return nil }
        return try produceBlock(nowMilliseconds: nowMilliseconds)
    }

    /// Builds, certifies and commits the next block from the mempool.
    public func produceBlock(nowMilliseconds: UInt64) throws -> Block {
        let store = blocks
        func nextNonce(_ key: PublicKey) -> UInt64? { (try? store.account(key))??.nonce }
        let candidates = mempool.candidates(limit: configuration.blockTransactionsMax, nextNonce: nextNonce)
        let validated = try validator.propose(candidates: candidates, timestamp: nowMilliseconds, proposer: key.publicKey, lastCommit: tipCertificate)
        let block = validated.block
        let certificate = CommitCertificate(
            height: block.height, round: 0, blockHash: block.hash,
            signatures: [CommitCertificate.precommit(chainId: genesis.chainId, height: block.height, round: 0, blockHash: block.hash, key: key)]
        )
        let committed = try blocks.certify(validated, by: certificate)
        try blocks.commit(committed)
        lastBlockMilliseconds = nowMilliseconds
        afterCommit(block, certificate: certificate, execution: validated.execution)
        return block
    }

    /// Bookkeeping after `block` was written: mempool, waiters, rejections, counters, log.
    func afterCommit(_ block: Block, certificate: CommitCertificate, execution: BlockExecution) {
        tipCertificate = certificate
        committedTransactions += UInt64(execution.accepted.count)
        metrics.set("kizuna_height", Double(block.height))
        metrics.add("kizuna_committed_blocks_total")
        metrics.add("kizuna_committed_transactions_total", Double(execution.accepted.count))
        let signers = Set(certificate.signatures.map(\.validator))
        let validators = (try? blocks.validatorSet(at: block.height)) ?? genesis.validators
        for validator in validators.validators where !signers.contains(validator.publicKey) {
            metrics.add("kizuna_missed_precommits_total", label: validator.name)
        }
        metrics.observeBlock(timestamp: block.header.timestamp)
        let committedAt = wallClockMilliseconds()
        for transaction in execution.accepted {
            if let admittedAt = mempool.admissionTime(transaction.id), admittedAt > 0 {
                metrics.observeMempoolWait(milliseconds: committedAt - min(committedAt, admittedAt))
            }
        }
        let demand = mempool.count
        mempool.remove(execution.accepted.map(\.id))
        released(execution.accepted.map(\.id))
        for transaction in execution.accepted where rejected[transaction.id] != nil { forgetRejection(transaction.id) }
        if mode == .single {
            // Alone, this node's proposal is the decision: what it left out is rejected.
            mempool.remove(execution.rejected.map(\.transaction.id))
            released(execution.rejected.map(\.transaction.id))
            for (transaction, error) in execution.rejected {
                remember(transaction.id, error)
                resolve(transaction.id, .rejected(error))
                logger.info("transaction rejected", metadata: ["id": "\(transaction.id)", "code": "\(error.code)", "reason": "\(error.message)"])
            }
        } else {
            // On a network what a proposal left out was deferred (`buildProposal`); try again.
            readmitDeferred()
        }
        for receipt in execution.receipts {
            resolve(receipt.transactionId, .committed(receipt, blockHash: block.hash))
        }
        // What is still pending is checked on the new tip: nothing that cannot apply stays.
        recheckPending(after: execution)
        let now = wallClockMilliseconds()
        admission.withLockedValue { $0.observeCommit(accepted: execution.accepted.count, demand: demand, nowMilliseconds: now) }
        metrics.set("kizuna_admission_rate_transactions_per_second", Double(admission.withLockedValue { $0.ratePerSecond }))
        logger.info("committed block", metadata: [
            "height": "\(block.height)", "hash": "\(block.hash)", "transactions": "\(block.transactions.count)",
            "stateRoot": "\(block.header.stateRoot)", "rejected": "\(execution.rejected.count)",
        ])
    }

    public var pendingCount: Int { mempool.count }

    public nonisolated func tip() throws -> ChainTip { try blocks.tip() }
    public nonisolated func header(at height: UInt64) throws -> BlockHeader? { try blocks.block(at: height)?.header }
}

/// Wall-clock milliseconds since 1970 UTC, plus the development clock shift (zero unless a
/// local chain's node was started with `KIZUNA_DEV_CLOCK_OFFSET_MS`). Only the node layer
/// reads a clock; the ledger sees the block timestamp.
public func wallClockMilliseconds() -> UInt64 {
    let now = Int64(Date().timeIntervalSince1970 * 1000) + DevelopmentClock.offsetMilliseconds.load(ordering: .relaxed)
    return UInt64(max(now, 0))
}

/// A shift of this process's clock, for tests of date-dependent behaviour (closed days, base
/// dates) on a LOCAL chain: `NodeRunner` sets it from `KIZUNA_DEV_CLOCK_OFFSET_MS` and refuses
/// it on any chain whose id does not start with `local-` (`node.development_clock`).
public enum DevelopmentPlainLinks {
    /// `KIZUNA_DEV_PLAIN_PEER_LINKS=1`: peer links without encryption, to measure what the
    /// encrypted link costs (`kizuna bench network`); refused on any chain not `local-`.
    public static let environmentVariable = "KIZUNA_DEV_PLAIN_PEER_LINKS"
}

public enum DevelopmentClock {
    public static let environmentVariable = "KIZUNA_DEV_CLOCK_OFFSET_MS"
    public static let offsetMilliseconds = Atomic<Int64>(0)

    /// Shifts this process's `wallClockMilliseconds` as `environment` asks, if it does: the
    /// node, the card custodian and the `kizuna card` commands all do, so that the processes of
    /// one local chain agree on the time and the day (docs/operations.md). Returns the shift.
    /// - Throws: as `requestedOffset`; nothing is shifted then.
    @discardableResult
    public static func adopt(environment: [String: String], chainId: String) throws(Node.StartError) -> Int64? {
        guard let offset = try requestedOffset(environment: environment, chainId: chainId) else { return nil }
        offsetMilliseconds.store(offset, ordering: .relaxed)
        return offset
    }

    /// The shift `environment` asks for, if any.
    /// - Throws: `node.development_clock` on a chain that is not local, or for a value that is
    ///   not a whole number of milliseconds.
    public static func requestedOffset(environment: [String: String], chainId: String) throws(Node.StartError) -> Int64? {
        guard let text = environment[environmentVariable] else { return nil }
        guard chainId.hasPrefix(Genesis.localChainIdPrefix) else {
            throw Node.StartError(.developmentClock, "\(environmentVariable) shifts the clock of a LOCAL development chain only; chain '\(chainId)' is not one")
        }
        guard let offset = Int64(text) else {
            throw Node.StartError(.developmentClock, "\(environmentVariable)='\(text)' is not a whole number of milliseconds")
        }
        return offset
    }
}

/// The codes of `Node.StartError`.
public enum NodeStartErrorCode: String, ErrorCode {
    /// The node's key is not in the genesis validator set.
    case notAValidator = "node.not_a_validator"
    /// A single node cannot commit alone: it holds no more than 2/3 of the voting power.
    case needsConsensus = "node.needs_consensus"
    /// A published development key on a chain that is not local.
    case developmentKey = "node.development_key"
    /// The block store could not be read.
    case store = "node.store"
    /// A validator whose consensus journal holds no signer record (`kizuna signer init`).
    case signerMissing = "node.signer_missing"
    /// The consensus journal could not be read, or its signer record is corrupt.
    case signer = "node.signer"
    /// `KIZUNA_DEV_CLOCK_OFFSET_MS` on a chain that is not local, or not an integer.
    case developmentClock = "node.development_clock"
    /// `KIZUNA_DEV_PLAIN_PEER_LINKS` on a chain that is not local, or not `1`.
    case developmentPlainLinks = "node.development_plain_links"
    /// `api.tlsCertificateFile` / `api.tlsKeyFile` cannot be read, are not PEM, or the key
    /// is not the certificate's.
    case apiTLS = "node.api_tls"
}
