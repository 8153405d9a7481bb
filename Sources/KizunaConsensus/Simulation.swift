import KizunaCore

/// One simulated cluster driven by one seed: validators, network, clock and disks in one
/// process. `Simulation(scenario:).run()` is deterministic: the same scenario gives the same
/// result, byte for byte (see `docs/consensus.md`, §8).
public struct Simulation: Sendable {
    /// Timeouts for simulated clusters: shorter than a node's so campaigns run fast.
    public static func configuration(chainId: String, faultInjection: ConsensusFaultInjection) -> ConsensusConfiguration {
        var configuration = ConsensusConfiguration(chainId: chainId)
        configuration.timeoutProposeMillisecondsBase = 1000
        configuration.timeoutProposeMillisecondsDelta = 250
        configuration.timeoutPrevoteMillisecondsBase = 500
        configuration.timeoutPrevoteMillisecondsDelta = 250
        configuration.timeoutPrecommitMillisecondsBase = 500
        configuration.timeoutPrecommitMillisecondsDelta = 250
        configuration.rebroadcastMilliseconds = 500
        configuration.faultInjection = faultInjection
        return configuration
    }

    public static let chainId = "sim-kizuna"
    static let genesisTimeMilliseconds: UInt64 = 1_700_000_000_000
    static let decisionsPerResponseMax = 16
    static let eventsMax: UInt64 = 5_000_000
    static let violationsMax = 16

    enum Wire: Sendable {
        case consensus(ConsensusMessage)
        case decisionRequest(height: UInt64)
        case decisions([CommittedBlock])
        case blockRequest(Hash)
        case blockResponse(Block)
    }

    struct CommittedBlock: Sendable {
        var block: Block
        var certificate: CommitCertificate
    }

    enum Scheduled: Sendable {
        case deliver(to: Int, from: Int, Wire)
        case timeout(node: Int, incarnation: Int, height: UInt64, round: UInt32, step: TimeoutStep)
        case crash(Int)
        case restart(Int)
    }

    struct Node: Sendable {
        var publicKey: PublicKey
        var byzantine: ByzantineBehavior?
        var up = false
        var incarnation = 0
        var machine: ConsensusStateMachine?
        var signer: SafeSigner<MemorySignerStateStore>?
        /// What survives a crash: the synced signer record and the committed chain.
        var durableRecord: SignerSafetyRecord?
        /// The lock the node persists (synced) before it signs a precommit of a value, as the
        /// real node does (`docs/consensus.md` §7): height, round and block.
        var durableLock: (height: UInt64, round: UInt32, block: Block)?
        var chain: [CommittedBlock] = []
        var skew: Int64 = 0
        /// The node's log of its own signed messages at heights not yet committed, written
        /// (synced) after the signer record and before the message is sent, as the engine does.
        var durableMessages: [ConsensusMessage] = []
        /// Signatures released so far, across restarts (for `SignCrashFault`).
        var signatures = 0
        /// Votes received from peers at the height being decided, journaled as the engine does
        /// (a process crash keeps them; they are replayed after a restart).
        var receivedVotes: [Vote] = []
    }

    struct SignKey: Hashable, Sendable {
        var node: Int
        var height: UInt64
        var round: UInt32
        var step: VoteStep
    }

    public let scenario: SimulationScenario
    let configuration: ConsensusConfiguration
    let validatorSet: ValidatorSet
    let keys: [PublicKey]
    let indexOfKey: [PublicKey: Int]
    var random: SplitMix64
    var queue = EventQueue<Scheduled>()
    var now: UInt64 = 0
    var nodes: [Node] = []
    var violations: [Violation] = []
    var decided: [UInt64: Hash] = [:]
    var decidedRounds: [UInt64: UInt32] = [:]
    var proposedHashes: Set<Hash> = []
    var signLog: [SignKey: Hash] = [:]
    /// Colluding byzantine proposers: for (height, round), the block each peer was shown.
    var tailoredBlocks: [SignKey: [Int: Block]] = [:]
    var messagesSent: UInt64 = 0
    var eventsProcessed: UInt64 = 0
    var signaturesRefused = 0
    var traceDigest: UInt64 = 0xcbf2_9ce4_8422_2325
    var heightAtHeal: UInt64?

    public init(scenario: SimulationScenario) {
        self.scenario = scenario
        self.configuration = Self.configuration(chainId: Self.chainId, faultInjection: scenario.faultInjection)
        var keys: [PublicKey] = []
        var validators: [Validator] = []
        for (index, power) in scenario.powers.enumerated() {
            let seed = [UInt8](repeating: UInt8(index + 1), count: 32)
            let key = PrivateKey(seed: seed)!.publicKey
            keys.append(key)
            validators.append(Validator(name: "v\(index)", organisation: "sim", publicKey: key, votingPower: power))
        }
        self.keys = keys
        var indexOfKey: [PublicKey: Int] = [:]
        for (index, key) in keys.enumerated() { indexOfKey[key] = index }
        self.indexOfKey = indexOfKey
        self.validatorSet = ValidatorSet(validators)
        self.random = SplitMix64(seed: scenario.seed)
        for (index, key) in keys.enumerated() {
            var node = Node(publicKey: key, byzantine: scenario.byzantine[index])
            node.skew = scenario.clockSkewMilliseconds[index]
            // Key generation writes the initial record (docs/consensus.md §7).
            node.durableRecord = .initial
            nodes.append(node)
        }
    }

    /// Runs until every honest node reached its targets, a checker fired, or the liveness
    /// bound passed.
    public mutating func run() -> SimulationResult {
        for index in nodes.indices where nodes[index].byzantine != .silent {
            boot(index)
        }
        for crash in scenario.crashes {
            queue.push(at: crash.atMilliseconds, .crash(crash.node))
            queue.push(at: crash.atMilliseconds + crash.downMilliseconds, .restart(crash.node))
        }
        let faultsEnd = scenario.faultsEndMilliseconds
        let deadline = faultsEnd + scenario.livenessBoundMilliseconds
        // Validity findings are recorded and the run goes on (so a broken rule also shows
        // whether it breaks agreement); agreement and double-sign findings end it.
        while !safetyViolated, violations.count < Self.violationsMax, let (time, event) = queue.pop() {
            if time > deadline { break }
            now = time
            eventsProcessed += 1
            if eventsProcessed > Self.eventsMax { break }
            if heightAtHeal == nil, now >= faultsEnd { heightAtHeal = honestHeights.max() ?? 0 }
            handle(event)
            if targetsMet { break }
        }
        if violations.isEmpty, !targetsMet {
            violations.append(Violation(kind: .liveness, message: "honest heights \(honestHeights) short of target \(scenario.heightsTarget) (+\(scenario.heightsAfterHeal) after heal at \(faultsEnd) ms, heights then \(heightAtHeal ?? 0)) by the bound", atMilliseconds: now))
        }
        var evidence = 0
        for node in nodes where node.byzantine == nil { evidence += node.machine?.evidence.count ?? 0 }
        var roundsTotal: UInt64 = 0
        for (_, round) in decidedRounds { roundsTotal += UInt64(round) + 1 }
        return SimulationResult(
            scenario: scenario, violations: violations, heightsCommitted: honestHeights.min() ?? 0,
            simulatedMilliseconds: now, roundsTotal: roundsTotal, decidedHeights: UInt64(decidedRounds.count),
            messagesSent: messagesSent, eventsProcessed: eventsProcessed, evidenceCount: evidence,
            signaturesRefused: signaturesRefused, traceDigest: traceDigest)
    }

    var safetyViolated: Bool {
        violations.contains { $0.kind == .agreement || $0.kind == .doubleSign }
    }

    var honestHeights: [UInt64] {
        nodes.filter { $0.byzantine == nil }.map { UInt64($0.chain.count) }
    }

    var targetsMet: Bool {
        guard let heal = heightAtHeal else { return false }
        let target = max(scenario.heightsTarget, heal + scenario.heightsAfterHeal)
        return nodes.allSatisfy { $0.byzantine != nil || ($0.up && UInt64($0.chain.count) >= target) }
    }

    // MARK: - Nodes

    mutating func boot(_ index: Int) {
        var node = nodes[index]
        node.up = true
        node.incarnation += 1
        let store = MemorySignerStateStore(durable: node.durableRecord, syncs: scenario.signerSyncs)
        let signer = try? SafeSigner(key: SimulatedConsensusKey(publicKey: node.publicKey), store: store)
        node.signer = signer
        let tip: ChainTip
        if let last = node.chain.last {
            tip = ChainTip(nextHeight: last.block.height + 1, parentHash: last.certificate.blockHash, parentTimestampMilliseconds: last.block.header.timestamp, lastCommit: last.certificate)
        } else {
            tip = .genesis(timestampMilliseconds: Self.genesisTimeMilliseconds)
        }
        // Resume where the signer record and the message log say this node got to, by the
        // node's own decision (docs/consensus.md §7).
        let restored = node.durableMessages.filter { $0.height == tip.nextHeight && $0.sender == node.publicKey }
        var startRound: UInt32 = 0
        var resend = restored
        if let record = signer?.record {
            if configuration.faultInjection.ignoreUnloggedSignature {
                startRound = record.resumeRound(height: tip.nextHeight)
            } else {
                let plan = record.restartPlan(height: tip.nextHeight, loggedOwnMessages: restored)
                startRound = plan.round
                resend = plan.resend
            }
        }
        let lock = node.durableLock.flatMap { $0.height == tip.nextHeight ? (round: $0.round, block: $0.block) : nil }
        node.machine = ConsensusStateMachine(configuration: configuration, validators: validatorSet, ownKey: node.publicKey, verifier: SimulatedSignatureScheme(), tip: tip, startRound: startRound, restoredLock: lock)
        nodes[index] = node
        feed(index, .start)
        // As the engine does: the logged messages of this height go back to the machine, which
        // counts them again and re-sends them.
        for message in resend {
            feed(index, .signed(message))
        }
        // The journaled votes of peers: the polkas this node saw survive its restart.
        for vote in node.receivedVotes where vote.height == tip.nextHeight {
            feed(index, .voteReceived(vote))
        }
    }

    /// The node goes down now: only what was synced survives.
    mutating func crash(_ index: Int) {
        nodes[index].up = false
        nodes[index].durableRecord = nodes[index].signer?.store.durable ?? nodes[index].durableRecord
        nodes[index].signer = nil
        nodes[index].machine = nil
    }

    mutating func handle(_ event: Scheduled) {
        switch event {
        case .deliver(let to, let from, let wire):
            guard nodes[to].up, !partitioned(from, to) else { return }
            deliver(wire, to: to, from: from)
        case .timeout(let node, let incarnation, let height, let round, let step):
            guard nodes[node].up, nodes[node].incarnation == incarnation else { return }
            feed(node, .timeoutFired(height: height, round: round, step: step))
        case .crash(let index):
            guard nodes[index].up else { return }
            crash(index)
        case .restart(let index):
            guard !nodes[index].up else { return }
            boot(index)
        }
    }

    func localTime(_ index: Int) -> UInt64 {
        let skewed = Int64(Self.genesisTimeMilliseconds + now) + nodes[index].skew
        return UInt64(max(skewed, 0))
    }

    func partitioned(_ a: Int, _ b: Int) -> Bool {
        for partition in scenario.partitions where now >= partition.startMilliseconds && now < partition.endMilliseconds {
            if partition.groupOfNode[a] != partition.groupOfNode[b] { return true }
        }
        return false
    }

    mutating func deliver(_ wire: Wire, to index: Int, from: Int) {
        switch wire {
        case .consensus(.proposal(let proposal)):
            feed(index, .proposalReceived(proposal, localTimeMilliseconds: localTime(index)))
        case .consensus(.vote(let vote)):
            if nodes[index].byzantine == nil, vote.height == UInt64(nodes[index].chain.count) + 1, !configuration.faultInjection.forgetReceivedVotes {
                nodes[index].receivedVotes.append(vote)
            }
            feed(index, .voteReceived(vote))
        case .decisionRequest(let height):
            let chain = nodes[index].chain
            guard height >= 1, height <= UInt64(chain.count) else { return }
            let start = Int(height - 1)
            let end = min(start + Self.decisionsPerResponseMax, chain.count)
            send(.decisions(Array(chain[start..<end])), from: index, to: from)
        case .decisions(let list):
            for item in list {
                guard nodes[index].up else { return }
                feed(index, .decisionReceived(item.block, item.certificate))
            }
        case .blockRequest(let hash):
            if let block = nodes[index].machine?.block(hash: hash) {
                send(.blockResponse(block), from: index, to: from)
            }
        case .blockResponse(let block):
            feed(index, .blockReceived(block))
        }
    }

    mutating func send(_ wire: Wire, from: Int, to: Int) {
        guard from != to, !partitioned(from, to) else { return }
        messagesSent += 1
        if scenario.lossPerMille > 0, random.chance(perMille: scenario.lossPerMille) { return }
        queue.push(at: now + random.inRange(scenario.delayMilliseconds), .deliver(to: to, from: from, wire))
        if scenario.duplicatePerMille > 0, random.chance(perMille: scenario.duplicatePerMille) {
            queue.push(at: now + random.inRange(scenario.delayMilliseconds), .deliver(to: to, from: from, wire))
        }
    }

    /// Feeds an event to a node's state machine and performs the actions, in order, feeding
    /// the node's answers (signatures, validations, built blocks) back as they come.
    mutating func feed(_ index: Int, _ first: ConsensusStateMachine.Event) {
        var pending = [first]
        while !pending.isEmpty {
            let event = pending.removeFirst()
            guard nodes[index].up, nodes[index].machine != nil else { return }
            let actions = nodes[index].machine!.handle(event)
            for action in actions {
                if let answer = perform(action, at: index) { pending.append(answer) }
                if safetyViolated || !nodes[index].up { return }
            }
        }
    }

    mutating func perform(_ action: ConsensusStateMachine.Action, at index: Int) -> ConsensusStateMachine.Event? {
        switch action {
        case .signAndPersist(let request):
            if case .vote(let vote) = request, vote.step == .precommit, let value = vote.blockHash,
               let block = nodes[index].machine?.block(hash: value) {
                nodes[index].durableLock = (vote.height, vote.round, block)
            }
            return sign(request, at: index).map { .signed($0) }
        case .broadcast(let message):
            broadcast(message, from: index)
        case .scheduleTimeout(let height, let round, let step, let duration):
            queue.push(at: now + duration, .timeout(node: index, incarnation: nodes[index].incarnation, height: height, round: round, step: step))
        case .requestValidation(let block):
            return .blockValidated(hash: block.hash, valid: contentsValid(block))
        case .buildProposal(let height, let round):
            guard let tip = nodes[index].machine?.tip, tip.nextHeight == height else { return nil }
            let block = buildBlock(at: index, tip: tip, invalid: false)
            if nodes[index].byzantine == .equivocate {
                tailorProposals(height: height, round: round, proposer: index, tip: tip, own: block)
            }
            return .proposalBlockReady(block)
        case .commit(let block, let certificate):
            commit(block, certificate: certificate, at: index)
        case .requestMissingBlock(let hash):
            for peer in nodes.indices where peer != index { send(.blockRequest(hash), from: index, to: peer) }
        case .requestDecision(let height, let peer):
            if let peerIndex = indexOfKey[peer] { send(.decisionRequest(height: height), from: index, to: peerIndex) }
        }
        return nil
    }
}

extension SafeSigner where Store == MemorySignerStateStore {
    /// Simulated fsync of the signer's file (only matters when the store defers syncs).
    mutating func syncStore() {
        modifyStore { $0.sync() }
    }
}

/// A min-queue ordered by (time, insertion sequence): equal times pop in insertion order, so
/// the simulation never depends on heap internals.
struct EventQueue<Element: Sendable>: Sendable {
    private var heap: [(time: UInt64, sequence: UInt64, element: Element)] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(at time: UInt64, _ element: Element) {
        heap.append((time, nextSequence, element))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (UInt64, Element)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.element)
    }

    private static func before(_ a: (time: UInt64, sequence: UInt64, element: Element), _ b: (time: UInt64, sequence: UInt64, element: Element)) -> Bool {
        (a.time, a.sequence) < (b.time, b.sequence)
    }
}
