public import KizunaCore
public import KizunaChain
public import KizunaConsensus
public import KizunaNetwork
public import Logging
import KizunaLedger
import KizunaStorage
import NIOConcurrencyHelpers

/// The effects of consensus on a real node. The decisions are the `ConsensusReplica`'s (the
/// same type the simulator runs): the engine feeds it what peers, timers and the mempool
/// produce and carries out what it returns, in order — broadcast (the replica has already made
/// every signature durable in the consensus journal), schedule timeouts, validate blocks by
/// executing them, commit decided blocks in one synced write. It also gossips transactions,
/// serves and performs block sync, and keeps the metrics (`docs/network.md`).
///
/// One task (`run`) owns the replica: every input goes through one queue, so the outputs of
/// one event are all performed before the next event is looked at.
public actor ConsensusEngine {
    public enum Input: Sendable {
        case peer(PeerNetworkEvent)
        case timeout(height: UInt64, round: UInt32, step: TimeoutStep)
        case tick
        /// Close the connection to a peer that broke the protocol, and log why.
        case refuse(PublicKey, code: String, String)
        /// A decoded message from an authenticated peer.
        case message(PublicKey, PeerMessage)
    }

    let node: Node
    let blocks: BlockStore
    let genesis: Genesis
    let key: PrivateKey
    let settings: NodeConfiguration.Consensus
    let logger: Logger
    /// The replica's decisions (state machine, signer, journal), shared with the simulator.
    var replica: ConsensusReplica<StoreConsensusJournal>
    var machine: ConsensusStateMachine { replica.machine }
    var network: PeerNetwork?
    /// Every input, in one queue; peer inputs bounded by `inboxPeerInputsMax`.
    nonisolated let inbox: BoundedInbox<Input>
    /// Peer inputs (frames, connection events) waiting at most; past it they are dropped and
    /// counted (`kizuna_consensus_inbox_dropped_total`) — peers re-send what matters.
    static let inboxPeerInputsMax = 100_000
    /// The pending timeout of each (height, round, step), cancelled once the machine passes it.
    var timers: [TimerKey: Task<Void, Never>] = [:]

    struct TimerKey: Hashable {
        var height: UInt64
        var round: UInt32
        var step: TimeoutStep
    }
    /// Transactions the API admitted, waiting for the next gossip flush; past its bound they are
    /// not gossiped and are counted (`kizuna_gossip_buffer_dropped_total`).
    nonisolated let gossipBuffer = GossipBuffer(transactionsMax: gossipBufferTransactionsMax)
    /// 50,000: five seconds of this machine's ceiling, far beyond what one 10 ms tick gathers.
    static let gossipBufferTransactionsMax = 50_000
    /// Gossiped batches being verified now (`handleMessage`).
    nonisolated let gossipBatchesInFlight = NIOLockedValueBox<Int>(0)

    /// The chain's validator sets (ADR 0018) as the committed state records them, replaced
    /// after every commit; read by `deliver` on the network's threads.
    nonisolated let validatorSchedule: NIOLockedValueBox<ValidatorSchedule>
    /// The keys of the sets in force and scheduled, for the peer handshakes (`attach`).
    public nonisolated let governedKeys = GovernedKeys()
    /// A scheduled set that holds this node's key although it cannot sign was reported.
    var reportedUnsignableJoin = false

    /// Blocks of the current height this node validated (executed), by block hash.
    var validated: [Hash: ValidatedBlock] = [:]
    /// The proposal this node must build, once there is a transaction or the wait is over.
    var pendingBuild: (height: UInt64, round: UInt32)?
    var heightStartedAt: UInt64
    var lastStatusAt: UInt64 = 0
    var peerHeights: [PublicKey: UInt64] = [:]
    var syncPlan = BlockSyncPlan()
    var syncStarted: (at: UInt64, height: UInt64, transactions: UInt64)?
    var syncedTransactions: UInt64 = 0
    /// The signature checks of the synced block being applied now (by its hash), made ahead of
    /// its execution (`applySynced`); `validate` uses them instead of checking again.
    var syncVerified: (hash: Hash, results: [Result<VerifiedTransaction, TransactionError>])?
    /// Set while `applySynced` applies a batch: its blocks are committed unsynced and made
    /// durable together at its end (`BlockStore.makeDurable`).
    var applyingSyncedBatch = false
    var lastSyncLogAt: UInt64 = 0

    static let syncBatchBytesMax = 8 * 1024 * 1024
    static let tickMilliseconds: UInt64 = 10
    /// Gossiped batches verified at once, at most (each on all cores); see `handleMessage`.
    static let gossipBatchesInFlightMax = 4
    static let statusIntervalMilliseconds: UInt64 = 1000
    /// Synced blocks whose signatures are checked ahead of the one executing: one keeps the
    /// other cores busy while a block executes on this one; two absorb a small block between
    /// large ones.
    static let syncVerifyAheadBlocks = 2

    public typealias StartError = Node.StartError

    /// Restores the replica from the consensus journal in `blocks`' store (a validator's signer
    /// record must be there: `kizuna signer init`, or imported by `NodeRunner` from an older
    /// version's record file).
    public init(node: Node, blocks: BlockStore, key: PrivateKey, settings: NodeConfiguration.Consensus, logger: Logger) throws(StartError) {
        self.node = node
        self.blocks = blocks
        self.genesis = blocks.genesis
        self.key = key
        self.settings = settings
        self.logger = logger
        let tip: KizunaConsensus.ChainTip
        let schedule: ValidatorSchedule
        do {
            schedule = try blocks.validatorSchedule()
            let stored = try blocks.tip()
            tip = KizunaConsensus.ChainTip(nextHeight: stored.height + 1, parentHash: stored.hash, parentTimestampMilliseconds: stored.timestamp,
                                           lastCommit: stored.height == 0 ? nil : try blocks.certificate(at: stored.height))
        } catch {
            throw StartError(.store, "\(error)", cause: error)
        }
        var configuration = ConsensusConfiguration(chainId: genesis.chainId)
        configuration.timeoutProposeMillisecondsBase = settings.timeoutProposeMilliseconds
        configuration.timeoutPrevoteMillisecondsBase = settings.timeoutPrevoteMilliseconds
        configuration.timeoutPrecommitMillisecondsBase = settings.timeoutPrecommitMilliseconds
        configuration.timeoutProposeMillisecondsDelta = settings.timeoutDeltaMilliseconds
        configuration.timeoutPrevoteMillisecondsDelta = settings.timeoutDeltaMilliseconds
        configuration.timeoutPrecommitMillisecondsDelta = settings.timeoutDeltaMilliseconds
        do {
            replica = try ConsensusReplica(configuration: configuration, validators: genesis.validators, validatorSchedule: schedule, key: Ed25519ConsensusKey(key), verifier: Ed25519Verifier(),
                                           tip: tip, journal: StoreConsensusJournal(store: blocks.store))
        } catch {
            throw StartError(error.code == .recordMissing ? .signerMissing : .signer,
                             "\(error) (a new validator needs `kizuna signer init --data <data directory>` once; a data folder made by `kizuna restore` needs the validator's current journal, `kizuna restore --keep-journal-from <old data folder>`, or to run as an observer: docs/operations.md \"Backup and restore\")", cause: error)
        }
        heightStartedAt = wallClockMilliseconds()
        inbox = BoundedInbox(peerInputsMax: Self.inboxPeerInputsMax)
        validatorSchedule = NIOLockedValueBox(schedule)
        governedKeys.replace(with: schedule.keys(from: tip.nextHeight))
        node.metrics.set("kizuna_validators", Double(schedule.set(at: tip.nextHeight).validators.count))
    }

    /// Whether this node votes at the height being decided (its key is in the set in force).
    var isValidator: Bool { machine.ownKey != nil }

    /// After a commit: the validator sets as the state now records them go to the replica, to
    /// `deliver`'s checks and to the peer handshakes.
    func followValidatorSchedule() {
        let schedule: ValidatorSchedule
        do {
            schedule = try blocks.validatorSchedule()
        } catch {
            logger.critical("the validator-set changes in the state cannot be read; stopping", metadata: ["error": "\(error)"])
            fatalError("the validator-set changes in the state cannot be read: \(error)")
        }
        let next = machine.height
        if let pending = schedule.pending(at: next), pending != machine.validatorSchedule.pending(at: next) {
            logger.notice("a validator-set change is scheduled", metadata: [
                "effectiveHeight": "\(pending.from)", "validators": "\(pending.set.validators.map(\.name).joined(separator: ","))",
                "thisNode": "\(pending.set.validator(for: key.publicKey) != nil ? "in the set" : "not in the set")",
            ])
        }
        if !reportedUnsignableJoin, !replica.canSign, schedule.keys(from: next).contains(key.publicKey) {
            reportedUnsignableJoin = true
            logger.error("governance puts this node's key in the validator set, but it has no signer record and cannot sign: run `kizuna signer init` on its data folder and restart it")
        }
        let before = machine.validators
        replica.updateValidatorSchedule(schedule)
        validatorSchedule.withLockedValue { $0 = schedule }
        governedKeys.replace(with: schedule.keys(from: next))
        if machine.validators != before { node.metrics.set("kizuna_validators", Double(machine.validators.validators.count)) }
    }

    /// Connects the engine to its peer network (which must deliver events to `deliver`).
    public func attach(_ network: PeerNetwork) { self.network = network }

    /// The callback to give the peer network and the node's admission hook.
    /// Peer frames are decoded here, on the network's threads, so that the engine's one task
    /// spends its time on consensus rather than on decoding (and validating keys of) blocks.
    public nonisolated func deliver(_ event: PeerNetworkEvent) {
        guard case .frame(let peer, let frame) = event else {
            offerPeer(.peer(event))
            return
        }
        do {
            let message = try PeerMessage(frame: frame)
            // A correct peer only sends or relays validly signed consensus messages: anything
            // else is a faulty or hostile peer, which is disconnected.
            if case .consensus(let consensusMessage) = message {
                let validators = validatorSchedule.withLockedValue { $0 }.set(at: consensusMessage.height)
                // Not a member of the set of that height: a removed validator behind the chain,
                // or a height whose set this node does not know yet. Dropped, not refused.
                guard validators.validator(for: consensusMessage.sender) != nil else {
                    node.metrics.add("kizuna_consensus_nonmember_messages_total")
                    return
                }
                guard Self.isValidlySigned(consensusMessage, chainId: genesis.chainId, validators: validators) else {
                    offerPeer(.refuse(peer, code: "peer.bad_signature", "a consensus message at height \(consensusMessage.height) round \(consensusMessage.round) is not validly signed by a validator"))
                    return
                }
            }
            offerPeer(.message(peer, message))
        } catch {
            offerPeer(.refuse(peer, code: "peer.malformed_message", "a \(frame.kind) message that does not decode: \(error)"))
        }
    }

    /// Queues a peer input, or drops and counts it when the inbox holds its bound.
    nonisolated func offerPeer(_ input: Input) {
        if !inbox.offer(input, .peer) {
            node.metrics.add("kizuna_consensus_inbox_dropped_total")
        }
    }

    public nonisolated func gossip(_ transaction: VerifiedTransaction) {
        if !gossipBuffer.offer(transaction.signed) { node.metrics.add("kizuna_gossip_buffer_dropped_total") }
    }

    /// Runs until the task is cancelled.
    public func run() async {
        let ticker = Task { [inbox] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: Self.tickMilliseconds * 1_000_000)
                inbox.offer(.tick, .tick)
            }
        }
        defer { ticker.cancel() }
        logger.notice("consensus started", metadata: [
            "height": "\(machine.height)", "round": "\(machine.round)", "role": "\(isValidator ? "validator" : "observer")",
        ])
        logRestart()
        await drive(replica.start())
        for await (input, kind) in inbox.stream {
            inbox.taken(kind)
            if Task.isCancelled { break }
            await handle(input)
        }
        for timer in timers.values { timer.cancel() }
    }

    /// What the replica restored from the journal, for the operator.
    func logRestart() {
        let restart = replica.restart
        if restart.lockRestored {
            logger.notice("restored the consensus lock", metadata: ["height": "\(machine.height)", "round": "\(restart.round)"])
        }
        if restart.skippedUnloggedRound {
            logger.notice("the message signed last before the restart was not logged; joining the next round", metadata: ["height": "\(machine.height)", "round": "\(restart.round)"])
        }
        if restart.voteResentFromRecord {
            logger.notice("the vote signed last before the restart was not logged; sending it again from the signer record", metadata: ["height": "\(machine.height)"])
        }
        if restart.ownMessagesResent > 0 {
            logger.notice("re-sending the messages signed at this height before the restart", metadata: ["height": "\(machine.height)", "messages": "\(restart.ownMessagesResent)"])
        }
        if restart.receivedVotesReplayed > 0 {
            logger.notice("replaying the votes received at this height before the restart", metadata: ["height": "\(machine.height)", "votes": "\(restart.receivedVotesReplayed)"])
        }
    }

    public func stop() { inbox.finish() }

    /// Ends `run` from any thread (a graceful shutdown): the inbox closes and the loop ends.
    public nonisolated func finishInbox() { inbox.finish() }

    // MARK: - Inputs

    func handle(_ input: Input) async {
        switch input {
        case .timeout(let height, let round, let step):
            timers[TimerKey(height: height, round: round, step: step)] = nil
            await drive(.timeoutFired(height: height, round: round, step: step))
        case .tick:
            await tick()
        case .peer(let event):
            await handlePeer(event)
        case .refuse(let peer, let code, let reason):
            refuse(peer, code: code, reason)
        case .message(let peer, let message):
            await handleMessage(message, from: peer)
        }
        node.metrics.set("kizuna_round", Double(machine.round))
    }

    func tick() async {
        let now = wallClockMilliseconds()
        flushGossip()
        if pendingBuild != nil, let event = await buildIfDue(now: now) {
            await drive(event)
        }
        if now >= lastStatusAt + Self.statusIntervalMilliseconds {
            lastStatusAt = now
            if let tip = try? blocks.tip() {
                network?.broadcast(PeerMessage.status(height: tip.height, tipHash: tip.hash).frame)
            }
            await node.expireMempool(nowMilliseconds: now)
            node.metrics.set("kizuna_mempool_transactions", Double(await node.pendingCount))
            requestSyncIfBehind(now: now)
        }
    }

    func flushGossip() {
        let pending = gossipBuffer.takeAll()
        guard !pending.isEmpty, let network else { return }
        var batch: [SignedTransaction] = []
        var bytes = 0
        for transaction in pending {
            let size = transaction.canonicalBytes.count
            if !batch.isEmpty && (batch.count == PeerMessage.transactionsPerFrameMax || bytes + size > 4 * 1024 * 1024) {
                network.broadcast(PeerMessage.transactions(batch).frame)
                batch = []
                bytes = 0
            }
            batch.append(transaction)
            bytes += size
        }
        if !batch.isEmpty { network.broadcast(PeerMessage.transactions(batch).frame) }
    }

    func handlePeer(_ event: PeerNetworkEvent) async {
        switch event {
        case .connected(let peer, let outbound):
            logger.info("peer connected", metadata: ["peer": "\(name(of: peer))", "direction": "\(outbound ? "out" : "in")"])
            node.metrics.set("kizuna_peers", Double(network?.connectedPeers.count ?? 0))
            if let tip = try? blocks.tip() {
                network?.send(PeerMessage.status(height: tip.height, tipHash: tip.hash).frame, to: peer)
            }
        case .disconnected(let peer):
            logger.info("peer disconnected", metadata: ["peer": "\(name(of: peer))"])
            peerHeights[peer] = nil
            node.metrics.set("kizuna_peers", Double(network?.connectedPeers.count ?? 0))
        case .refused(let remote, let peer, let error):
            logger.warning("peer connection closed for a protocol error", metadata: [
                "remote": "\(remote)", "peer": "\(peer.map { name(of: $0) } ?? "unauthenticated")", "code": "\(error.code.rawValue)", "reason": "\(error.message)",
            ])
            node.metrics.add("kizuna_peer_refusals_total", label: error.code.rawValue)
        case .dialFailed(let peer, let reason):
            logger.debug("dialing a peer failed; retrying with backoff", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        case .outboundDropped(let peer, let bytes):
            logger.debug("dropped a frame to a slow peer", metadata: ["peer": "\(name(of: peer))", "bytes": "\(bytes)"])
            node.metrics.add("kizuna_peer_frames_dropped_total")
        case .frame(let peer, let frame):
            // Frames arrive decoded (`deliver`); one that reaches here came another way.
            do {
                await handleMessage(try PeerMessage(frame: frame), from: peer)
            } catch {
                refuse(peer, code: "peer.malformed_message", "a \(frame.kind) message that does not decode: \(error)")
            }
        }
    }

    func handleMessage(_ message: PeerMessage, from peer: PublicKey) async {
        switch message {
        case .consensus(let consensusMessage):
            // Signatures were checked in `deliver`; the machine checks them again.
            switch consensusMessage {
            case .proposal(let proposal): await drive(.proposalReceived(proposal, localTimeMilliseconds: wallClockMilliseconds()))
            case .vote(let vote): await drive(.voteReceived(vote))
            }
        case .transactions(let transactions):
            // Verified off the engine's task, on all cores, then admitted by the node. Gossip
            // is best effort: with `gossipBatchesInFlightMax` batches still being verified the
            // node is saturated (a campaign spike), and a further batch is dropped rather than
            // queued, so verification cannot starve consensus or grow memory without bound.
            // The dropped transactions still reach the chain in their node's proposals.
            let admittedToVerify = gossipBatchesInFlight.withLockedValue { inFlight in
                guard inFlight < Self.gossipBatchesInFlightMax else { return false }
                inFlight += 1
                return true
            }
            guard admittedToVerify else {
                node.metrics.add("kizuna_gossip_transactions_dropped_total", Double(transactions.count))
                return
            }
            let node = self.node
            let chainId = genesis.chainId
            let inbox = self.inbox
            let inFlight = gossipBatchesInFlight
            Task.detached {
                defer { inFlight.withLockedValue { $0 -= 1 } }
                node.metrics.add("kizuna_signature_verifications_total", Double(transactions.count), label: "gossip")
                let verified = await Self.verify(transactions, chainId: chainId)
                if verified.count < transactions.count {
                    // A correct peer gossips only transactions it verified.
                    inbox.offer(.refuse(peer, code: "peer.bad_transaction", "gossiped \(transactions.count - verified.count) transaction(s) that fail verification"), .peer)
                }
                let admitted = await node.admitGossiped(verified)
                node.metrics.add("kizuna_gossiped_transactions_total", Double(admitted))
            }
        case .status(let height, _):
            peerHeights[peer] = height
            requestSyncIfBehind(now: wallClockMilliseconds())
        case .blocksRequest(let fromHeight):
            serveBlocks(from: fromHeight, to: peer)
        case .blocks(let certified):
            await applySynced(certified, from: peer)
        case .blockRequest(let hash):
            if let block = machine.block(hash: hash) {
                network?.send(PeerMessage.block(block).frame, to: peer)
            }
        case .block(let block):
            await drive(.blockReceived(block))
        }
    }

    func refuse(_ peer: PublicKey, code: String, _ reason: String) {
        logger.warning("peer broke the protocol; disconnecting it", metadata: ["peer": "\(name(of: peer))", "code": "\(code)", "reason": "\(reason)"])
        node.metrics.add("kizuna_peer_refusals_total", label: code)
        network?.disconnect(peer)
    }

    static func isValidlySigned(_ message: ConsensusMessage, chainId: String, validators: ValidatorSet) -> Bool {
        switch message {
        case .proposal(let proposal):
            guard validators.validator(for: proposal.proposer) != nil else { return false }
            return proposal.proposer.isValidSignature(proposal.signature, for: proposal.unsigned.signingBytes(chainId: chainId))
        case .vote(let vote):
            guard validators.validator(for: vote.validator) != nil else { return false }
            return vote.validator.isValidSignature(vote.signature, for: vote.unsigned.signingBytes(chainId: chainId))
        }
    }

    /// Validates `block` on the tip: the signatures the mempool has not verified are verified
    /// on all cores first, then the node executes the block.
    func validate(_ block: Block) async throws -> ValidatedBlock {
        var verified: [VerifiedTransaction?]
        // The checks this validation adds, by the transaction's index in the block.
        var checks: [(index: Int, result: Result<VerifiedTransaction, TransactionError>)] = []
        if let synced = syncVerified, synced.hash == block.hash {
            // A synced block: every signature was checked ahead (`applySynced`).
            verified = Array(repeating: nil, count: block.transactions.count)
            checks = Array(zip(synced.results.indices, synced.results))
        } else {
            verified = await node.mempoolVerified(block)
            let missing = verified.indices.filter { verified[$0] == nil }
            if !missing.isEmpty {
                node.metrics.add("kizuna_signature_verifications_total", Double(missing.count), label: "proposal")
                let results = await Self.verifyKeepingFailures(missing.map { block.transactions[$0] }, chainId: genesis.chainId)
                checks = Array(zip(missing, results))
            }
        }
        for (index, result) in checks {
            switch result {
            case .success(let transaction): verified[index] = transaction
            case .failure(let error):
                throw ChainError(.badTransaction, "block \(block.height) (\(block.hash)): transaction \(block.transactions[index].id): \(error)")
            }
        }
        return try await node.validateProposal(block, verified: verified.compactMap { $0 })
    }

    /// Verifies signatures in parallel chunks, keeping each outcome in order.
    static func verifyKeepingFailures(_ transactions: [SignedTransaction], chainId: String) async -> [Result<VerifiedTransaction, TransactionError>] {
        let chunkSize = max(32, (transactions.count + 7) / 8)
        return await withTaskGroup(of: (Int, [Result<VerifiedTransaction, TransactionError>]).self) { group in
            for (index, start) in stride(from: 0, to: transactions.count, by: chunkSize).enumerated() {
                let chunk = Array(transactions[start..<min(start + chunkSize, transactions.count)])
                group.addTask { (index, chunk.map { signed in Result { () throws(TransactionError) in try signed.verified(chainId: chainId) } }) }
            }
            var parts: [(Int, [Result<VerifiedTransaction, TransactionError>])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// Verifies signatures in parallel chunks; invalid transactions are dropped.
    static func verify(_ transactions: [SignedTransaction], chainId: String) async -> [VerifiedTransaction] {
        await verifyKeepingFailures(transactions, chainId: chainId).compactMap { try? $0.get() }
    }
}
