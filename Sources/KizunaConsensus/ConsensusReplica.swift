public import KizunaCore

/// One validator's (or observer's) consensus decisions, with the state machine, the signer and
/// the journal together: how it restarts from its journal, what it persists before anything
/// signed leaves it, which peers' votes it journals, when a height's journal is dropped. It is
/// pure over its journal: no clock, timer, socket or task. The node's `ConsensusEngine` drives
/// it with RocksDB, the network and real timers; the simulator drives the very same type with a
/// simulated disk, network and clock (`docs/consensus.md` §7–§8).
///
/// Feed it `start()` once, then every event with `handle(_:)`, and perform the returned outputs
/// in order; answers to actions (a validation, a built block) are fed back with `handle(_:)`.
public struct ConsensusReplica<Journal: ConsensusJournal>: Sendable {
    /// What the shell performs, in order.
    public enum Output: Sendable {
        /// One of the machine's actions — never `signAndPersist`, which the replica performed.
        case action(ConsensusStateMachine.Action)
        /// A message this replica signed and made durable, or re-sends from its journal after a
        /// restart (the broadcast follows as an action).
        case signed(ConsensusMessage)
        /// The signer refused a request (it conflicts with the record): nothing was signed.
        case signerRefused(SigningRequest, SignerError)
        /// A journal write failed: the signature was not released (nothing was sent), or a
        /// received vote was not journaled.
        case journalFailed(SignerError)
        /// A peer's vote was not journaled: this height's journal holds its bound.
        case receivedVoteNotJournaled
    }

    /// How the replica came back from its journal, for the shell's log.
    public struct Restart: Sendable, Hashable {
        public var round: UInt32
        public var lockRestored: Bool
        public var ownMessagesResent: Int
        public var receivedVotesReplayed: Int
        /// The last signature's message was not in the journal and was taken from the record.
        public var voteResentFromRecord: Bool
        /// The last signature's message was lost and could not be re-sent: the replica joins the
        /// next round (always safe; a record written by an older version).
        public var skippedUnloggedRound: Bool
    }

    /// The most peers' votes journaled for one height; past it the journal stops growing (a
    /// height that lasts hundreds of rounds), and `receivedVoteNotJournaled` says so.
    public static var receivedVotesPerHeightMax: Int { 4096 }

    public private(set) var machine: ConsensusStateMachine
    public private(set) var journal: Journal
    /// nil for an observer, which never signs.
    public private(set) var signer: SafeSigner?
    public let restart: Restart
    let chainId: String
    var pendingRestore: [ConsensusStateMachine.Event]
    /// Signatures of the peers' votes journaled at the height being decided (a re-sent vote is
    /// journaled once), and that height.
    var journaledVoteSignatures: Set<Signature> = []
    var journalHeight: UInt64
    /// Signing requests whose journal write failed (an I/O error): nothing was released, and the
    /// machine waits for them — a validator whose precommit never leaves can stall the height
    /// for everyone (the simulator found it). They are tried again at every timeout while the
    /// height lasts; the signer's record decides whether each may still be signed.
    var unsent: [SigningRequest] = []

    /// Restores the replica from its journal for deciding `tip.nextHeight`.
    /// - Parameters:
    ///   - key: the validator's key; nil for an observer.
    ///   - allowMissingSignerRecord: the operator override for a journal without a record: start
    ///     from an empty one (dangerous if the key may have signed at this height elsewhere).
    ///   - validatorSchedule: the chain's validator sets when governance changed them (ADR
    ///     0018); nil: `validators` at every height. A key in a set scheduled later (a joining
    ///     validator) needs its signer record as a current validator does, and so does any key
    ///     whose journal holds one, so that it signs from the height it joins.
    public init(configuration: ConsensusConfiguration, validators: ValidatorSet, validatorSchedule: ValidatorSchedule? = nil, key: (any ConsensusKey)?, verifier: any ConsensusSignatureVerifier,
                tip: ChainTip, journal: Journal, allowMissingSignerRecord: Bool = false) throws(SignerError) {
        var journal = journal
        let height = tip.nextHeight
        let scheduled = validatorSchedule ?? ValidatorSchedule(genesis: validators)
        let isValidator = key.map { scheduled.set(at: height).validator(for: $0.publicKey) != nil } ?? false
        let recovered = try journal.restore(height: height)
        let mayValidate = key.map { scheduled.keys(from: height).contains($0.publicKey) || recovered.record != nil } ?? false
        var signer: SafeSigner?
        var round: UInt32 = 0
        var resend: [ConsensusMessage] = []
        var resentFromRecord = false
        var skipped = false
        if mayValidate, let key {
            guard let record = recovered.record ?? (allowMissingSignerRecord ? .initial : nil) else {
                throw SignerError(.recordMissing, "the consensus journal holds no signer record; refusing to sign (a new validator: `kizuna signer init`)")
            }
            signer = SafeSigner(key: key, record: record)
            let logged = recovered.ownMessages.filter { $0.height == height && $0.sender == key.publicKey }
            if configuration.faultInjection.ignoreUnloggedSignature {
                round = record.resumeRound(height: height)
                resend = logged
            } else {
                // The shared restart decision: the journal writes the record and the message in
                // one write, but a record written by an older version (or a torn simulated disk)
                // may hold a signature whose message is not logged.
                let plan = record.restartPlan(height: height, loggedOwnMessages: logged)
                round = plan.round
                resend = plan.resend
                resentFromRecord = plan.resend.count > logged.count
                skipped = plan.round > record.resumeRound(height: height)
            }
        }
        let lock = isValidator ? recovered.lock.flatMap { $0.height == height ? (round: $0.round, block: $0.block) : nil } : nil
        let ownKey = isValidator ? key?.publicKey : nil
        let votes = recovered.receivedVotes.filter { $0.height == height && $0.validator != ownKey }
        self.machine = ConsensusStateMachine(configuration: configuration, validators: validators, validatorSchedule: scheduled,
                                             ownKey: signer == nil ? nil : key?.publicKey, verifier: verifier,
                                             tip: tip, startRound: round, restoredLock: lock)
        self.journal = journal
        self.signer = signer
        self.chainId = configuration.chainId
        self.journalHeight = height
        self.journaledVoteSignatures = Set(votes.map(\.signature))
        self.restart = Restart(round: round, lockRestored: lock != nil, ownMessagesResent: resend.count, receivedVotesReplayed: votes.count,
                               voteResentFromRecord: resentFromRecord, skippedUnloggedRound: skipped)
        // As before the crash: the logged messages go back to the machine, which counts them
        // again and re-sends them; then the peers' votes it had seen (its polkas survive).
        self.pendingRestore = [.start] + resend.map { .signed($0) } + votes.map { .voteReceived($0) }
    }

    /// The height being decided.
    public var height: UInt64 { machine.height }

    /// Starts the machine and replays what the journal restored. Call once, first.
    public mutating func start() -> [Output] {
        let events = pendingRestore
        pendingRestore = []
        var outputs: [Output] = []
        for event in events {
            // A restored message is released (again): the shell sees it as signed.
            if case .signed(let message) = event { outputs.append(.signed(message)) }
            run(event, into: &outputs)
        }
        return outputs
    }

    /// Feeds one event (a peer's message, a timeout, an answer to an action).
    public mutating func handle(_ event: ConsensusStateMachine.Event) -> [Output] {
        var outputs: [Output] = []
        if case .voteReceived(let vote) = event { journalReceived(vote, into: &outputs) }
        if case .timeoutFired = event, !unsent.isEmpty { retryUnsent(into: &outputs) }
        run(event, into: &outputs)
        return outputs
    }

    /// Signs again what a failed journal write kept from leaving, in order.
    mutating func retryUnsent(into outputs: inout [Output]) {
        let requests = unsent.filter { $0.height == machine.height }
        unsent = []
        for request in requests {
            // A request the record has moved past is simply dropped (not a refusal to report).
            guard let record = signer?.record else { return }
            if case .refuse = record.check(height: request.height, round: request.round, step: request.step, signBytes: request.signingBytes(chainId: chainId)) {
                continue
            }
            if let message = sign(request, into: &outputs) {
                outputs.append(.signed(message))
                run(.signed(message), into: &outputs)
            }
        }
    }

    /// The chain's validator sets as the committed state now records them (after a commit).
    public mutating func updateValidatorSchedule(_ schedule: ValidatorSchedule) {
        machine.updateValidatorSchedule(schedule)
    }

    /// Whether this replica can sign (it holds a signer): a validator, or a key set to join.
    public var canSign: Bool { signer != nil }

    /// The shell committed the block of `height` durably: the journal of that height goes.
    public mutating func blockCommitted(height: UInt64) {
        journal.forget(height: height)
        if journalHeight <= height {
            journaledVoteSignatures = []
            journalHeight = height + 1
        }
        unsent.removeAll { $0.height <= height }
    }

    /// Lets the owner act on the journal (the simulator's fsync and crash model).
    public mutating func modifyJournal(_ body: (inout Journal) -> Void) { body(&journal) }

    // MARK: - Running the machine

    /// Feeds `event` and the answers the replica itself gives (signatures), in order.
    mutating func run(_ event: ConsensusStateMachine.Event, into outputs: inout [Output]) {
        var queue = [event]
        var index = 0
        while index < queue.count {
            let actions = machine.handle(queue[index])
            index += 1
            for action in actions {
                guard case .signAndPersist(let request) = action else {
                    outputs.append(.action(action))
                    continue
                }
                if let message = sign(request, into: &outputs) {
                    outputs.append(.signed(message))
                    queue.append(.signed(message))
                }
            }
        }
    }

    /// Persists the record, the message and (a precommit of a value) the lock in one write,
    /// then releases the message; nil if the signer refused or the journal failed.
    mutating func sign(_ request: SigningRequest, into outputs: inout [Output]) -> ConsensusMessage? {
        guard var signer else { return nil }
        var lock: ConsensusLock?
        if case .vote(let vote) = request, vote.step == .precommit, let value = vote.blockHash {
            // The machine holds every block it precommits (it validated it).
            guard let block = machine.block(hash: value) else {
                preconditionFailure("precommit of block \(value) at height \(vote.height) that the machine does not hold")
            }
            lock = ConsensusLock(round: vote.round, block: block)
        }
        do {
            let message = try signer.sign(request, chainId: chainId, lock: lock, journal: &journal)
            self.signer = signer
            return message
        } catch {
            if error.code == .refused {
                outputs.append(.signerRefused(request, error))
            } else {
                outputs.append(.journalFailed(error))
                unsent.append(request)
            }
            return nil
        }
    }

    /// Journals a peer's vote of the height being decided, once per signature, up to the bound.
    mutating func journalReceived(_ vote: Vote, into outputs: inout [Output]) {
        guard signer != nil, vote.height == machine.height, vote.validator != machine.ownKey,
              machine.validators.validator(for: vote.validator) != nil else { return }
        if journalHeight != machine.height {
            journaledVoteSignatures = []
            journalHeight = machine.height
        }
        guard !journaledVoteSignatures.contains(vote.signature) else { return }
        guard journaledVoteSignatures.count < Self.receivedVotesPerHeightMax else {
            outputs.append(.receivedVoteNotJournaled)
            return
        }
        do {
            try journal.appendReceivedVote(vote)
            journaledVoteSignatures.insert(vote.signature)
        } catch {
            outputs.append(.journalFailed(error))
        }
    }
}
