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
        /// The shipped replica, on the simulated journal; nil while the node is down.
        var replica: ConsensusReplica<SimulatedJournal>?
        /// The journal while the node is down (what survived the crash).
        var journal: SimulatedJournal
        var chain: [CommittedBlock] = []
        var skew: Int64 = 0

        var machine: ConsensusStateMachine? { replica?.machine }
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
            let crashes = scenario.journalCrashes.filter { $0.node == index }
            // Key generation writes the initial record (docs/consensus.md §7).
            let journal = SimulatedJournal(record: .initial, recordSyncs: scenario.signerSyncs,
                                           forgetsReceivedVotes: scenario.faultInjection.forgetReceivedVotes, crashes: crashes,
                                           failurePerMille: scenario.journalFailurePerMille, seed: scenario.seed ^ (0x4A4F_5552_4E41_4C00 + UInt64(index)))
            var node = Node(publicKey: key, byzantine: scenario.byzantine[index], journal: journal)
            node.skew = scenario.clockSkewMilliseconds[index]
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
            violations.append(Violation(kind: .liveness, message: "honest heights \(honestHeights) short of target \(scenario.heightsTarget) (+\(scenario.heightsAfterHeal) after heal at \(faultsEnd) ms, heights then \(heightAtHeal ?? 0)) by the bound; nodes then \(nodeStates)", atMilliseconds: now))
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

    /// Each node's height/round/step (and lock, signer record), for a liveness report.
    var nodeStates: String {
        nodes.indices.map { index in
            guard let replica = nodes[index].replica else { return "\(index): down" }
            let machine = replica.machine
            var text = "\(index): \(machine.height)/\(machine.round)/\(machine.step)"
            if let round = machine.lockedRound { text += " locked@\(round)" }
            if let record = replica.signer?.record { text += " signed \(record.height)/\(record.round)/\(record.step)" }
            if nodes[index].byzantine != nil { text += " byzantine" }
            return text
        }.joined(separator: ", ")
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
        nodes[index].up = true
        nodes[index].incarnation += 1
        let tip: ChainTip
        if let last = nodes[index].chain.last {
            tip = ChainTip(nextHeight: last.block.height + 1, parentHash: last.certificate.blockHash, parentTimestampMilliseconds: last.block.header.timestamp, lastCommit: last.certificate)
        } else {
            tip = .genesis(timestampMilliseconds: Self.genesisTimeMilliseconds)
        }
        // The node's own restart, from what its journal kept (docs/consensus.md §7).
        do {
            nodes[index].replica = try ConsensusReplica(configuration: configuration, validators: validatorSet, key: SimulatedConsensusKey(publicKey: nodes[index].publicKey),
                                                        verifier: SimulatedSignatureScheme(), tip: tip, journal: nodes[index].journal)
        } catch {
            violations.append(Violation(kind: .liveness, message: "node \(index) could not restart from its journal: \(error)", atMilliseconds: now))
            nodes[index].up = false
            return
        }
        let outputs = nodes[index].replica!.start()
        for answer in perform(outputs, at: index) { feed(index, answer) }
    }

    /// The node goes down now: only what its journal made durable survives.
    mutating func crash(_ index: Int) {
        nodes[index].up = false
        if var journal = nodes[index].replica?.journal {
            journal.crash()
            nodes[index].journal = journal
        }
        nodes[index].replica = nil
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

    /// Feeds an event to a node's replica and performs the outputs, in order, feeding the
    /// answers (validations, built blocks) back as they come.
    mutating func feed(_ index: Int, _ first: ConsensusStateMachine.Event) {
        var pending = [first]
        while !pending.isEmpty {
            let event = pending.removeFirst()
            guard nodes[index].up, nodes[index].replica != nil else { return }
            let outputs = nodes[index].replica!.handle(event)
            pending += perform(outputs, at: index)
            if safetyViolated || !nodes[index].up { return }
        }
    }

    /// Performs a replica's outputs in order; returns the answers to feed back. A crash fault
    /// that fired in the journal takes the node down where the replica reported it: what came
    /// before happened, nothing after.
    mutating func perform(_ outputs: [ConsensusReplica<SimulatedJournal>.Output], at index: Int) -> [ConsensusStateMachine.Event] {
        var answers: [ConsensusStateMachine.Event] = []
        for output in outputs {
            switch output {
            case .action(let action):
                if let answer = perform(action, at: index) { answers.append(answer) }
            case .signed(let message):
                checkSignature(message, at: index)
            case .signerRefused:
                signaturesRefused += 1
            case .journalFailed(let error):
                if error.message == SimulatedJournal.crashMessage, nodes[index].replica?.journal.crashed == true {
                    let fault = nodes[index].replica?.journal.firedCrash
                    crash(index)
                    if let fault { queue.push(at: now + fault.downMilliseconds, .restart(index)) }
                    return []
                }
            case .receivedVoteNotJournaled:
                break
            }
            if safetyViolated || !nodes[index].up { return [] }
        }
        return answers
    }

    mutating func perform(_ action: ConsensusStateMachine.Action, at index: Int) -> ConsensusStateMachine.Event? {
        switch action {
        case .signAndPersist:
            preconditionFailure("the replica signs")
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
