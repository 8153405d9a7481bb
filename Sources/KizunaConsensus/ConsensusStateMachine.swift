public import KizunaCore

/// Tendermint's consensus algorithm (arXiv 1807.04938, Algorithm 1) as a pure state machine:
/// feed it an `Event`, perform the returned `Action`s in order. See `docs/consensus.md`.
///
/// ```swift
/// var machine = ConsensusStateMachine(configuration: configuration, validators: set,
///                                     ownKey: key.publicKey, verifier: Ed25519Verifier(), tip: tip)
/// for action in machine.handle(.start) { node.perform(action) }
/// ```
public struct ConsensusStateMachine: Sendable {
    public enum Step: Int, Sendable, Hashable, Comparable {
        case propose = 0
        case prevote = 1
        case precommit = 2

        public static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public enum Event: Sendable, Hashable {
        /// Begin at the height of the tip and the round given to `init`.
        case start
        case proposalReceived(Proposal, localTimeMilliseconds: UInt64)
        case voteReceived(Vote)
        case timeoutFired(height: UInt64, round: UInt32, step: TimeoutStep)
        /// The answer to `requestValidation`.
        case blockValidated(hash: Hash, valid: Bool)
        /// The answer to `buildProposal`.
        case proposalBlockReady(Block)
        /// The signer signed and durably persisted what `signAndPersist` asked for.
        case signed(ConsensusMessage)
        /// The answer to `requestMissingBlock`.
        case blockReceived(Block)
        /// Block sync: a committed block and the certificate that committed it.
        case decisionReceived(Block, CommitCertificate)
    }

    public enum Action: Sendable, Hashable {
        /// Check the safety record, persist it with fsync, sign, then feed `.signed`.
        case signAndPersist(SigningRequest)
        case broadcast(ConsensusMessage)
        case scheduleTimeout(height: UInt64, round: UInt32, step: TimeoutStep, durationMilliseconds: UInt64)
        case requestValidation(Block)
        case buildProposal(height: UInt64, round: UInt32)
        /// Apply and store the block with its certificate (one synced write).
        case commit(Block, CommitCertificate)
        case requestMissingBlock(Hash)
        case requestDecision(height: UInt64, from: PublicKey)
    }

    struct TallyKey: Hashable, Sendable {
        var round: UInt32
        var step: VoteStep
    }

    /// Votes of one (round, step), by validator, with power and count per value
    /// (`Hash.zero` stands for nil: no block hashes to zero).
    struct VoteTally: Sendable {
        /// The first vote of each validator.
        var votes: [PublicKey: Vote] = [:]
        /// Further votes of an equivocating validator for other values (a few at most). As in
        /// the paper, a signed vote for v counts toward v: two quorums still need more than a
        /// third of the power in common, which includes correct validators that vote once.
        var conflicting: [PublicKey: [Vote]] = [:]
        var powerByValue: [Hash: UInt64] = [:]
        var countByValue: [Hash: Int] = [:]
        var totalPower: UInt64 = 0
        var totalCount = 0

        mutating func add(_ vote: Vote, power: UInt64) {
            votes[vote.validator] = vote
            let value = vote.blockHash ?? .zero
            powerByValue[value, default: 0] += power
            countByValue[value, default: 0] += 1
            totalPower += power
            totalCount += 1
        }

        static let conflictingPerValidatorMax = 2

        /// Counts an equivocating validator's vote for another value toward that value only.
        mutating func addConflicting(_ vote: Vote, power: UInt64) {
            var list = conflicting[vote.validator, default: []]
            guard list.count < Self.conflictingPerValidatorMax, !list.contains(where: { $0.blockHash == vote.blockHash }) else { return }
            list.append(vote)
            conflicting[vote.validator] = list
            let value = vote.blockHash ?? .zero
            powerByValue[value, default: 0] += power
            countByValue[value, default: 0] += 1
        }

        /// Every vote for `value`, at most one per validator.
        func votes(for value: Hash?) -> [Vote] {
            var result = votes.values.filter { $0.blockHash == value }
            for list in conflicting.values { result += list.filter { $0.blockHash == value } }
            return result
        }
    }

    struct Participation: Sendable {
        var senders: Set<PublicKey> = []
        var power: UInt64 = 0
    }

    struct ReceivedProposal: Sendable {
        var proposal: Proposal
        /// The timeliness rule of `docs/consensus.md` §4, evaluated at receipt.
        var timely: Bool
    }

    enum BufferedMessage: Sendable {
        case proposal(Proposal, localTimeMilliseconds: UInt64)
        case vote(Vote)
    }

    public let configuration: ConsensusConfiguration
    /// The validator set of the height being decided (ADR 0018: it changes at the heights
    /// `validatorSchedule` names, when the machine moves on to them).
    public private(set) var validators: ValidatorSet
    public private(set) var schedule: ProposerSchedule
    /// The validator sets of the chain, as far as the committed state knows them.
    public private(set) var validatorSchedule: ValidatorSchedule
    /// This node's key when it may sign; nil for an observer, which never signs.
    let nodeKey: PublicKey?
    /// This node's validator key at the height being decided; nil while it is not in the set.
    public private(set) var ownKey: PublicKey?
    let verifier: any ConsensusSignatureVerifier
    var powerByKey: [PublicKey: UInt64]

    public internal(set) var height: UInt64
    public internal(set) var round: UInt32
    public internal(set) var step: Step = .propose
    public internal(set) var lockedValue: Hash?
    public internal(set) var lockedRound: UInt32?
    public internal(set) var validValue: Hash?
    public internal(set) var validRound: UInt32?
    public internal(set) var tip: ChainTip
    /// Equivocations seen (both signed messages each), oldest first.
    public internal(set) var evidence: [Evidence] = []

    var started = false
    var blocks: [Hash: Block] = [:]
    var validity: [Hash: Bool] = [:]
    var validationRequested: Set<Hash> = []
    var missingBlocksRequested: Set<Hash> = []
    var proposals: [UInt32: ReceivedProposal] = [:]
    var tallies: [TallyKey: VoteTally] = [:]
    var participation: [UInt32: Participation] = [:]
    var futureRounds: [PublicKey: Set<UInt32>] = [:]
    /// This node's signed messages at this height, for re-sending.
    public internal(set) var ownMessages: [ConsensusMessage] = []
    var awaitingBlockForRound: UInt32?
    var prevoteTimeoutScheduledRound: UInt32?
    var precommitTimeoutScheduledRound: UInt32?
    var validValueUpdatedRound: UInt32?
    var decisionRequestAllowed = true
    var futureHeightBuffer: [BufferedMessage] = []

    /// - Parameters:
    ///   - tip: the committed chain's tip; the machine decides `tip.nextHeight`.
    ///   - startRound: after a restart, `SignerSafetyRecord.resumeRound(height:)` of the signer
    ///     record: its round, or the next one if the record is a precommit of this height.
    ///   - restoredLock: after a restart, the lock this node held at `tip.nextHeight` before
    ///     it crashed (the block it precommitted and the round), which the node persisted before
    ///     signing that precommit. Without it a restarted validator could prevote for another
    ///     value in a later round, which line 22 forbids (`docs/consensus.md` §7).
    ///   - validatorSchedule: the chain's validator sets when governance changed them (nil: the
    ///     set `validators` at every height).
    ///   - ownKey: the node's signing key; the machine votes with it at heights whose set holds it.
    public init(configuration: ConsensusConfiguration, validators: ValidatorSet, validatorSchedule: ValidatorSchedule? = nil, ownKey: PublicKey?, verifier: any ConsensusSignatureVerifier, tip: ChainTip, startRound: UInt32 = 0, restoredLock: (round: UInt32, block: Block)? = nil) {
        let scheduled = validatorSchedule ?? ValidatorSchedule(genesis: validators)
        let validators = scheduled.set(at: tip.nextHeight)
        precondition(!validators.validators.isEmpty, "a validator set is never empty")
        self.configuration = configuration
        self.validators = validators
        self.validatorSchedule = scheduled
        self.schedule = ProposerSchedule(validators)
        self.nodeKey = ownKey
        self.ownKey = ownKey.flatMap { validators.validator(for: $0) != nil ? $0 : nil }
        self.verifier = verifier
        self.powerByKey = Self.powers(of: validators)
        self.tip = tip
        self.height = tip.nextHeight
        self.round = startRound
        if let restoredLock, restoredLock.block.header.height == tip.nextHeight, restoredLock.round <= startRound {
            let hash = restoredLock.block.hash
            lockedValue = hash
            lockedRound = restoredLock.round
            // The locked value was valid when locked, and a polka for it exists in that round:
            // it is also this node's valid value (validRound ≥ lockedRound always holds).
            validValue = hash
            validRound = restoredLock.round
            blocks[hash] = restoredLock.block
            validity[hash] = true
        }
    }

    static func powers(of validators: ValidatorSet) -> [PublicKey: UInt64] {
        var powers: [PublicKey: UInt64] = [:]
        for validator in validators.validators { powers[validator.publicKey] = validator.votingPower }
        return powers
    }

    /// Takes the chain's validator sets as the committed state now records them (the engine
    /// calls it after every commit). A change is known at least `governanceLeadBlocksMin`
    /// blocks before it holds, so the set of the height being decided never changes here.
    public mutating func updateValidatorSchedule(_ schedule: ValidatorSchedule) {
        validatorSchedule = schedule
    }

    /// Moves to the set in force at the (new) current height, if it differs.
    mutating func enterValidatorSetOfHeight() {
        let next = validatorSchedule.set(at: height)
        guard next != validators else { return }
        validators = next
        schedule = ProposerSchedule(next)
        powerByKey = Self.powers(of: next)
        ownKey = nodeKey.flatMap { next.validator(for: $0) != nil ? $0 : nil }
    }

    // MARK: - Queries

    /// The proposer of `round` at the current height.
    public func proposer(round: UInt32) -> PublicKey { schedule.proposer(height: height, round: round).publicKey }

    /// The proposal taken for `round` at the current height, if any.
    public func proposal(round: UInt32) -> Proposal? { proposals[round]?.proposal }

    /// A block of the current height this node holds (to serve `requestMissingBlock` of peers).
    public func block(hash: Hash) -> Block? { blocks[hash] }

    // MARK: - Events

    /// Feeds one event; returns the actions to perform, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .start:
            guard !started else { return [] }
            started = true
            actions.append(.scheduleTimeout(height: height, round: round, step: .rebroadcast, durationMilliseconds: configuration.rebroadcastMilliseconds))
            startRound(round, &actions)
        case .proposalReceived(let proposal, let localTime):
            guard started else { return [] }
            receiveProposal(proposal, localTimeMilliseconds: localTime, own: false, &actions)
        case .voteReceived(let vote):
            guard started else { return [] }
            receiveVote(vote, own: false, &actions)
        case .timeoutFired(let height, let round, let step):
            guard started else { return [] }
            timeoutFired(height: height, round: round, step: step, &actions)
        case .blockValidated(let hash, let valid):
            guard validationRequested.contains(hash), validity[hash] == nil else { return [] }
            validity[hash] = valid
        case .proposalBlockReady(let block):
            guard let awaited = awaitingBlockForRound, awaited == round, step == .propose, let own = ownKey else { return [] }
            guard structurallyValid(block) else { return [] }
            awaitingBlockForRound = nil
            let unsigned = UnsignedProposal(height: height, round: round, polRound: nil, block: block, proposer: own)
            blocks[unsigned.blockHash] = block
            // The node built this block on its own state: no need to validate it again.
            validity[unsigned.blockHash] = true
            actions.append(.signAndPersist(.proposal(unsigned)))
        case .signed(let message):
            guard message.sender == ownKey else { return [] }
            // Signed means persisted: it may now leave the node.
            actions.append(.broadcast(message))
            guard message.height == height else { return actions }
            ownMessages.append(message)
            switch message {
            case .proposal(let proposal): receiveProposal(proposal, localTimeMilliseconds: 0, own: true, &actions)
            case .vote(let vote): receiveVote(vote, own: true, &actions)
            }
        case .blockReceived(let block):
            let hash = block.hash
            guard missingBlocksRequested.contains(hash), blocks[hash] == nil else { return [] }
            noteBlock(block, hash: hash, &actions)
        case .decisionReceived(let block, let certificate):
            guard started, block.height == height, certificate.height == height, structurallyValid(block) else { return [] }
            let hash = block.hash
            guard certificate.blockHash == hash, certificateIsValid(certificate) else { return [] }
            commit(block, certificate: certificate, &actions)
        }
        evaluate(&actions)
        return actions
    }

    // MARK: - Receiving messages

    /// True if a message of `messageHeight` belongs to the current height; buffers the next
    /// height's messages and asks a peer ahead of us for the decision we are missing.
    mutating func admitHeight(_ messageHeight: UInt64, sender: PublicKey, buffered: BufferedMessage, _ actions: inout [Action]) -> Bool {
        if messageHeight == height { return true }
        if messageHeight > height {
            if messageHeight == height + 1, futureHeightBuffer.count < configuration.futureHeightMessagesMax {
                futureHeightBuffer.append(buffered)
            }
            if decisionRequestAllowed, sender != ownKey {
                decisionRequestAllowed = false
                actions.append(.requestDecision(height: height, from: sender))
            }
        }
        return false
    }

    /// At most `catchUpRoundsPerValidatorMax` rounds beyond `round + 1` per validator.
    mutating func admitRound(_ messageRound: UInt32, from validator: PublicKey) -> Bool {
        guard messageRound > round &+ 1, round < UInt32.max - 1 else { return true }
        var rounds = futureRounds[validator, default: []]
        if rounds.contains(messageRound) { return true }
        let ahead = rounds.filter { $0 > round + 1 }.count
        guard ahead < configuration.catchUpRoundsPerValidatorMax else { return false }
        rounds.insert(messageRound)
        futureRounds[validator] = rounds
        return true
    }

    mutating func receiveVote(_ vote: Vote, own: Bool, _ actions: inout [Action]) {
        guard vote.step != .proposal, let power = powerByKey[vote.validator] else { return }
        guard admitHeight(vote.height, sender: vote.validator, buffered: .vote(vote), &actions) else { return }
        let key = TallyKey(round: vote.round, step: vote.step)
        if let existing = tallies[key]?.votes[vote.validator] {
            guard existing != vote, existing.blockHash != vote.blockHash, !own else { return }
            if verify(vote) {
                addEvidence(.duplicateVote(existing, vote))
                tallies[key]?.addConflicting(vote, power: power)
            }
            return
        }
        if !own {
            guard admitRound(vote.round, from: vote.validator), verify(vote) else { return }
        }
        tallies[key, default: VoteTally()].add(vote, power: power)
        participate(round: vote.round, validator: vote.validator, power: power)
    }

    mutating func receiveProposal(_ proposal: Proposal, localTimeMilliseconds: UInt64, own: Bool, _ actions: inout [Action]) {
        guard admitHeight(proposal.height, sender: proposal.proposer, buffered: .proposal(proposal, localTimeMilliseconds: localTimeMilliseconds), &actions) else { return }
        guard proposal.proposer == self.proposer(round: proposal.round), let power = powerByKey[proposal.proposer] else { return }
        if let polRound = proposal.polRound, polRound >= proposal.round { return }
        if let existing = proposals[proposal.round] {
            guard existing.proposal != proposal, existing.proposal.blockHash != proposal.blockHash || existing.proposal.polRound != proposal.polRound, !own else { return }
            if verify(proposal) { addEvidence(.duplicateProposal(existing.proposal, proposal)) }
            return
        }
        if !own {
            guard admitRound(proposal.round, from: proposal.proposer), verify(proposal) else { return }
        }
        let timestamp = proposal.block.header.timestamp
        let notFromTheFuture = timestamp <= localTimeMilliseconds &+ configuration.timestampFutureBoundMilliseconds
        let notStale = proposal.polRound != nil || timestamp &+ configuration.timestampPastBoundMilliseconds >= localTimeMilliseconds
        proposals[proposal.round] = ReceivedProposal(proposal: proposal, timely: own || (notFromTheFuture && notStale))
        participate(round: proposal.round, validator: proposal.proposer, power: power)
        noteBlock(proposal.block, hash: proposal.blockHash, &actions)
    }

    mutating func participate(round: UInt32, validator: PublicKey, power: UInt64) {
        var entry = participation[round, default: Participation()]
        if entry.senders.insert(validator).inserted {
            entry.power += power
            participation[round] = entry
        }
    }

    /// Remembers a block of this height and asks for its validation once.
    mutating func noteBlock(_ block: Block, hash: Hash, _ actions: inout [Action]) {
        if blocks[hash] == nil { blocks[hash] = block }
        guard validity[hash] == nil, !validationRequested.contains(hash) else { return }
        if structurallyValid(block) {
            validationRequested.insert(hash)
            actions.append(.requestValidation(block))
        } else {
            validity[hash] = false
        }
    }

    /// §4 rule 1: right height, right parent, timestamp strictly after the parent's, and a
    /// proposer that is a validator.
    func structurallyValid(_ block: Block) -> Bool {
        block.header.chainId == configuration.chainId
            && block.header.height == height
            && block.header.previousBlockHash == tip.parentHash
            && block.header.timestamp > tip.parentTimestampMilliseconds
            && powerByKey[block.header.proposer] != nil
    }

    mutating func addEvidence(_ item: Evidence) {
        guard evidence.count < configuration.evidenceMax, !evidence.contains(item) else { return }
        evidence.append(item)
    }

    func verify(_ vote: Vote) -> Bool {
        verifier.isValidSignature(vote.signature, by: vote.validator, for: vote.unsigned.signingBytes(chainId: configuration.chainId))
    }

    func verify(_ proposal: Proposal) -> Bool {
        verifier.isValidSignature(proposal.signature, by: proposal.proposer, for: proposal.unsigned.signingBytes(chainId: configuration.chainId))
    }

    /// A certificate received by block sync: members only, sorted without duplicates, every
    /// signature valid, a quorum of power.
    func certificateIsValid(_ certificate: CommitCertificate) -> Bool {
        var power: UInt64 = 0
        var previous: PublicKey?
        let message = voteSigningBytes(chainId: configuration.chainId, height: certificate.height, round: certificate.round, step: .precommit, blockHash: certificate.blockHash)
        for entry in certificate.signatures {
            if let previous, !(previous < entry.validator) { return false }
            previous = entry.validator
            guard let validatorPower = powerByKey[entry.validator],
                  verifier.isValidSignature(entry.signature, by: entry.validator, for: message) else { return false }
            power += validatorPower
        }
        return isQuorum(power: power, count: certificate.signatures.count)
    }
}
