public import KizunaCore
public import KizunaChain
public import KizunaConsensus
public import KizunaNetwork
public import Logging
import KizunaLedger
import KizunaStorage
import NIOConcurrencyHelpers
import Synchronization

/// The engine's block sync and the effects it performs for the replica (broadcast, time out, validate, build, commit); inputs are in ConsensusEngine.swift.
extension ConsensusEngine {
    // MARK: - Block sync

    func requestSyncIfBehind(now: UInt64) {
        guard let ourHeight = try? blocks.tipHeight(), let request = syncPlan.next(ourHeight: ourHeight, peerHeights: peerHeights, now: now) else { return }
        if syncStarted == nil {
            let target = peerHeights.values.max() ?? request.fromHeight
            syncStarted = (now, ourHeight, 0)
            setCatchUp(CatchUp(height: ourHeight, target: target, updatedAt: now))
            logger.notice("behind the network: syncing blocks", metadata: ["height": "\(ourHeight)", "peerHeight": "\(target)", "peer": "\(name(of: request.peer))"])
        }
        network?.send(PeerMessage.blocksRequest(fromHeight: request.fromHeight).frame, to: request.peer)
    }

    /// Where block sync stands, for the API (`Node.catchUp`: submissions are refused as
    /// retryable while set) and the `kizuna_sync_blocks_behind` gauge; nil when caught up.
    func setCatchUp(_ catchUp: CatchUp?) {
        node.catchUp.withLock { $0 = catchUp }
        node.metrics.set("kizuna_sync_blocks_behind", Double(catchUp.map { $0.target > $0.height ? $0.target - $0.height : 0 } ?? 0))
    }

    func serveBlocks(from height: UInt64, to peer: PublicKey) {
        guard height >= 1, let tip = try? blocks.tipHeight(), height <= tip else { return }
        var certified: [UnverifiedCertifiedBlock] = []
        var bytes = 0
        var next = height
        while next <= tip, certified.count < PeerMessage.blocksPerFrameMax {
            guard let block = try? blocks.block(at: next), let certificate = try? blocks.certificate(at: next) else { break }
            let item = UnverifiedCertifiedBlock(block: block, certificate: certificate)
            let size = item.canonicalBytes.count
            if !certified.isEmpty && bytes + size > Self.syncBatchBytesMax { break }
            certified.append(item)
            bytes += size
            next += 1
        }
        if !certified.isEmpty { network?.send(PeerMessage.blocks(certified).frame, to: peer) }
    }

    /// Applies a batch of synced blocks in height order, pipelined (issue 16: a new node syncs
    /// at the speed of the audit): the blocks after the batch are asked for before it is
    /// applied, so the peer reads and sends them meanwhile, and the signatures of the next
    /// `syncVerifyAheadBlocks` blocks are verified on the other cores while one block executes
    /// and commits. A block is still committed only as consensus commits it (`decisionReceived`:
    /// its certificate checked, its transactions executed on the tip); the batch's blocks are
    /// written unsynced and made durable together before anything is reported.
    func applySynced(_ certified: [UnverifiedCertifiedBlock], from peer: PublicKey) async {
        // Only the run that continues this node's chain: later heights wait for a request of
        // their own, earlier ones are already applied.
        var run: [UnverifiedCertifiedBlock] = []
        for item in certified where item.block.height == machine.height + UInt64(run.count) {
            run.append(item)
        }
        guard let last = run.last?.block.height else { return }
        // Asked now, answered while this batch executes; the answer waits in the inbox.
        if let request = syncPlan.askAhead(after: last, from: peer, peerHeights: peerHeights, now: wallClockMilliseconds()) {
            network?.send(PeerMessage.blocksRequest(fromHeight: request.fromHeight).frame, to: request.peer)
        }
        let chainId = genesis.chainId
        var verifications: [Task<[Result<VerifiedTransaction, TransactionError>], Never>] = []
        func verifyAhead(through index: Int) {
            while verifications.count <= min(index, run.count - 1) {
                let transactions = run[verifications.count].block.transactions
                verifications.append(Task.detached { await Self.verifyKeepingFailures(transactions, chainId: chainId) })
            }
        }
        var applied = 0
        // One fsync for the batch, not one per block: its blocks are held certified by the
        // peers, so a crash before the end loses only blocks sync fetches again; a signature's
        // synced record, if the node signs meanwhile, makes them durable before it leaves.
        applyingSyncedBatch = true
        defer {
            applyingSyncedBatch = false
            syncVerified = nil
            for verification in verifications.dropFirst(applied + 1) { verification.cancel() }
        }
        for (index, item) in run.enumerated() {
            verifyAhead(through: index + Self.syncVerifyAheadBlocks)
            let before = machine.height
            syncVerified = (item.block.hash, await verifications[index].value)
            node.metrics.add("kizuna_signature_verifications_total", Double(item.block.transactions.count), label: "sync")
            await drive(.decisionReceived(item.block, item.certificate))
            guard machine.height > before else {
                logger.warning("a synced block or its certificate did not verify; ignoring the rest of the batch", metadata: [
                    "peer": "\(name(of: peer))", "height": "\(item.block.height)", "hash": "\(item.block.hash)",
                ])
                syncPlan.refused(at: item.block.height, from: peer, now: wallClockMilliseconds())
                break
            }
            applied += 1
            syncedTransactions += UInt64(item.block.transactions.count)
        }
        guard applied > 0 else { return }
        // Durable before the progress, the catch-up state or anything else is reported.
        do {
            try blocks.makeDurable()
        } catch {
            logger.critical("making the synced blocks durable failed; stopping", metadata: ["error": "\(error)"])
            fatalError("making the synced blocks durable failed: \(error)")
        }
        node.metrics.add("kizuna_blocks_synced_total", Double(applied))
        let now = wallClockMilliseconds()
        let ourHeight = machine.height - 1
        let target = peerHeights.values.max() ?? ourHeight
        if let started = syncStarted, now >= lastSyncLogAt + 1000 || ourHeight >= target {
            lastSyncLogAt = now
            let seconds = Double(max(1, now - started.at)) / 1000
            let done = Double(ourHeight - started.height)
            let rate = done / seconds
            logger.notice("syncing", metadata: [
                "height": "\(ourHeight)", "target": "\(target)", "blocksPerSecond": "\(Int(rate))",
                "transactionsPerSecond": "\(Int(Double(syncedTransactions) / seconds))",
                "secondsLeft": "\(rate > 0 ? Int(Double(target > ourHeight ? target - ourHeight : 0) / rate) : 0)",
            ])
        }
        if let started = syncStarted, ourHeight < target {
            let seconds = Double(max(1, now - started.at)) / 1000
            setCatchUp(CatchUp(height: ourHeight, target: target, blocksPerSecond: Double(ourHeight - started.height) / seconds, updatedAt: now))
        }
        if ourHeight >= target {
            setCatchUp(nil)
            if let started = syncStarted {
                logger.notice("caught up with the network; joining consensus", metadata: ["height": "\(ourHeight)", "synced": "\(ourHeight - started.height)"])
            }
            syncStarted = nil
            syncedTransactions = 0
        } else {
            requestSyncIfBehind(now: now)
        }
    }

    // MARK: - Driving the machine

    /// Feeds `event` to the replica and performs the outputs in order; answers the actions
    /// produce (validations, built blocks) are fed after them, in order.
    func drive(_ event: ConsensusStateMachine.Event) async {
        await drive(replica.handle(event))
    }

    func drive(_ outputs: [ConsensusReplica<StoreConsensusJournal>.Output]) async {
        var answers: [ConsensusStateMachine.Event] = []
        for output in outputs {
            if let answer = await perform(output) { answers.append(answer) }
        }
        var index = 0
        while index < answers.count {
            for output in replica.handle(answers[index]) {
                if let answer = await perform(output) { answers.append(answer) }
            }
            index += 1
        }
        cancelPassedTimers()
    }

    /// Cancels the step timeouts of heights and rounds the machine has left: they would be
    /// ignored anyway, and each holds a task until it fires. Not the rebroadcast timer: the
    /// machine keeps one chain of it, re-armed when it fires, whatever the round then is
    /// (cancelling it when the round moved on stopped the re-sending, and with it liveness
    /// after restarts — the network process test caught it).
    func cancelPassedTimers() {
        let height = machine.height, round = machine.round
        for (key, timer) in timers where key.step != .rebroadcast && (key.height < height || (key.height == height && key.round < round)) {
            timer.cancel()
            timers[key] = nil
        }
        node.metrics.set("kizuna_consensus_timers", Double(timers.count))
    }

    func perform(_ output: ConsensusReplica<StoreConsensusJournal>.Output) async -> ConsensusStateMachine.Event? {
        switch output {
        case .action(let action):
            return await perform(action)
        case .signed:
            return nil
        case .signerRefused(let request, let error):
            logger.warning("the signer refused", metadata: ["height": "\(request.height)", "round": "\(request.round)", "step": "\(request.step)", "error": "\(error)"])
            node.metrics.add("kizuna_signer_refusals_total")
        case .journalFailed(let error):
            logger.error("a consensus journal write failed; what it was for is not sent", metadata: ["error": "\(error)"])
            node.metrics.add("kizuna_consensus_journal_failures_total")
        case .receivedVoteNotJournaled:
            node.metrics.add("kizuna_consensus_journal_votes_dropped_total")
        }
        return nil
    }

    func perform(_ action: ConsensusStateMachine.Action) async -> ConsensusStateMachine.Event? {
        switch action {
        case .signAndPersist:
            preconditionFailure("the replica signs and persists")
        case .broadcast(let message):
            network?.broadcast(PeerMessage.consensus(message).frame)
            return nil
        case .scheduleTimeout(let height, let round, let step, let milliseconds):
            // One timer per (height, round, step): a new one replaces it.
            let key = TimerKey(height: height, round: round, step: step)
            timers[key]?.cancel()
            let inbox = self.inbox
            timers[key] = Task {
                try? await Task.sleep(nanoseconds: milliseconds * 1_000_000)
                guard !Task.isCancelled else { return }
                inbox.offer(.timeout(height: height, round: round, step: step), .own)
            }
            return nil
        case .requestValidation(let block):
            let hash = block.hash
            do {
                validated[hash] = try await validate(block)
                return .blockValidated(hash: hash, valid: true)
            } catch {
                logger.warning("a proposed block is invalid; prevoting nil", metadata: ["height": "\(block.height)", "hash": "\(hash)", "error": "\(error)"])
                return .blockValidated(hash: hash, valid: false)
            }
        case .buildProposal(let height, let round):
            pendingBuild = (height, round)
            return await buildIfDue(now: wallClockMilliseconds())
        case .commit(let block, let certificate):
            await commit(block, certificate: certificate)
            return nil
        case .requestMissingBlock(let hash):
            network?.broadcast(PeerMessage.blockRequest(hash: hash).frame)
            return nil
        case .requestDecision(let height, let peer):
            network?.send(PeerMessage.blocksRequest(fromHeight: height).frame, to: peer)
            return nil
        }
    }

    /// Builds this node's proposal if a transaction can go in, or the empty-block wait has
    /// passed (round 0 only; later rounds propose at once).
    func buildIfDue(now: UInt64) async -> ConsensusStateMachine.Event? {
        guard let (height, round) = pendingBuild else { return nil }
        guard height == machine.height, round == machine.round else {
            pendingBuild = nil
            return nil
        }
        let waited = now >= heightStartedAt + settings.emptyProposalWaitMilliseconds
        if round == 0 && !waited {
            guard await node.hasProposableTransactions() else { return nil }
        }
        pendingBuild = nil
        do {
            let proposal = try await node.buildProposal(timestamp: now, proposer: key.publicKey, lastCommit: machine.tip.lastCommit)
            validated[proposal.hash] = proposal
            return .proposalBlockReady(proposal.block)
        } catch {
            logger.error("building a proposal failed", metadata: ["height": "\(height)", "round": "\(round)", "error": "\(error)"])
            return nil
        }
    }

    func commit(_ block: Block, certificate: CommitCertificate) async {
        let hash = block.hash
        let checked: ValidatedBlock
        if let known = validated[hash] {
            checked = known
        } else {
            do {
                checked = try await validate(block)
            } catch {
                // More than 2/3 of the power committed a block this node finds invalid: its
                // state or code differs from theirs. Continuing would fork it; stop loudly.
                logger.critical("a block committed by the validators fails validation here; stopping", metadata: [
                    "height": "\(block.height)", "hash": "\(hash)", "error": "\(error)",
                ])
                fatalError("committed block \(block.height) (\(hash)) fails validation: \(error)")
            }
        }
        let committed: CommittedBlock
        do {
            // The machine decided on precommits it verified; the certificate is checked once
            // more here because only a verified certificate makes a block committed.
            committed = try blocks.certify(checked, by: certificate)
        } catch {
            logger.critical("the certificate of a decided block does not verify; stopping", metadata: ["height": "\(block.height)", "error": "\(error)"])
            fatalError("the certificate of decided block \(block.height) does not verify: \(error)")
        }
        do {
            try await node.commitDecided(committed, sync: !applyingSyncedBatch)
        } catch {
            logger.critical("writing a committed block failed; stopping", metadata: ["height": "\(block.height)", "error": "\(error)"])
            fatalError("writing committed block \(block.height) failed: \(error)")
        }
        validated = [:]
        pendingBuild = nil
        // The decided height's journal (own messages, peers' votes) is no longer needed.
        replica.blockCommitted(height: block.height)
        followValidatorSchedule()
        let now = wallClockMilliseconds()
        node.metrics.set("kizuna_commit_latency_seconds_last", Double(now - min(now, heightStartedAt)) / 1000)
        node.metrics.observeCommitLatency(milliseconds: now - min(now, heightStartedAt))
        heightStartedAt = now
        // Caught up by consensus itself (a peer's decision) rather than by a synced batch: the
        // API may judge submissions again.
        if syncStarted != nil, block.height >= (peerHeights.values.max() ?? 0) {
            setCatchUp(nil)
            syncStarted = nil
            syncedTransactions = 0
        }
    }

    func name(of peer: PublicKey) -> String {
        machine.validatorSchedule.entries.lazy.compactMap { $0.set.validator(for: peer)?.name }.first ?? peer.address.description
    }
}
