public import KizunaCore

/// A signer or consensus-journal failure (`CodedError`: compares on the code only).
public typealias SignerError = CodedError<SignerErrorCode>

public enum SignerErrorCode: String, ErrorCode {
    /// Signing would conflict with, or go back behind, what was already signed.
    case refused = "signer.refused"
    /// The journal holds no signer record and the operator override is not set.
    case recordMissing = "signer.record_missing"
    /// The record exists but is torn or corrupted.
    case recordCorrupt = "signer.record_corrupt"
    /// Reading, writing or syncing the journal failed; nothing was released.
    case ioFailure = "signer.io_failure"
}

/// What this validator signed last: the high-water mark that stops it from signing two
/// different things for one (height, round, step), even across a crash.
public struct SignerSafetyRecord: Sendable, Hashable, CanonicalCodable {
    public enum Decision: Sendable, Hashable {
        /// Strictly after the record: sign.
        case allow
        /// Exactly what was signed last: return the stored signature.
        case allowIdenticalResign(Signature)
        case refuse(String)
    }

    public var height: UInt64
    public var round: UInt32
    public var step: VoteStep
    /// SHA-256 of the signed bytes.
    public var signBytesHash: Hash
    public var signature: Signature?
    /// The vote signed last, when the last signature was a vote: persisted with the record, in
    /// the same synced write, so that a crash right after signing cannot lose the message
    /// (a proposal, with its block, is too large for the record and needs no such care: a lost
    /// proposal only makes the round time out).
    public var vote: Vote?

    public init(height: UInt64, round: UInt32, step: VoteStep, signBytesHash: Hash, signature: Signature?, vote: Vote? = nil) {
        self.height = height
        self.round = round
        self.step = step
        self.signBytesHash = signBytesHash
        self.signature = signature
        self.vote = vote
    }

    /// The record of a key that has signed nothing (written when the key is generated).
    public static let initial = SignerSafetyRecord(height: 0, round: 0, step: .proposal, signBytesHash: .zero, signature: nil)

    /// The round a restarted machine deciding `height` should start at (`docs/consensus.md` §7).
    ///
    /// The machine's memory of its own messages is lost in a crash; only this record survives.
    /// If the record is at `height` and round r, the node starts at r: its proposal and its votes of
    /// r are re-signable only byte for byte, but anything after the record still is. If the
    /// record is a *precommit* of r, the node has signed its last message of r and can do nothing
    /// more there (a prevote of r would be refused, and the votes it sent before the crash may be
    /// lost to peers that crashed too), so it starts at r + 1 — where it did in effect go next:
    /// after its precommit, the only ways out of r are a commit or timeoutPrecommit to r + 1.
    /// Skipping to a higher round is always safe (line 55 does it); staying in r could stall the
    /// height, because without its prevote of r no quorum of r may ever form.
    public func resumeRound(height resumeHeight: UInt64) -> UInt32 {
        guard height == resumeHeight else { return 0 }
        if step == .precommit, round < UInt32.max { return round + 1 }
        return round
    }

    /// How a restarted validator rejoins `height`: the round it starts in and the own messages
    /// it sends again, given the messages it had logged there (`docs/consensus.md` §7). One
    /// decision for the node's engine and the simulator, so the simulator runs what ships.
    public struct RestartPlan: Sendable, Hashable {
        public var round: UInt32
        /// The logged messages of the height plus, if the last signature's message was not
        /// logged (a crash between the record and the log), that message from the record.
        public var resend: [ConsensusMessage]
    }

    /// The record is synced before the message log, so a crash between the two leaves a
    /// signature whose message nobody holds; in that round the signer refuses to sign anything
    /// else, and two validators in that state (or one and a byzantine one) can never gather a
    /// quorum there. A vote is kept in the record itself, so it is sent again and the node stays
    /// in its round. A record without the vote (written by an earlier version) makes the node
    /// start in the next round instead (always safe; the lock is kept). A lost proposal needs
    /// neither: the round just times out.
    public func restartPlan(height resumeHeight: UInt64, loggedOwnMessages: [ConsensusMessage]) -> RestartPlan {
        let logged = loggedOwnMessages.filter { $0.height == resumeHeight }
        let round = resumeRound(height: resumeHeight)
        guard height == resumeHeight, self.round >= round, self.round < UInt32.max, step != .proposal else {
            return RestartPlan(round: round, resend: logged)
        }
        let isLogged = logged.contains { message in
            guard message.round == self.round, case .vote(let vote) = message else { return false }
            return vote.step == step
        }
        if isLogged { return RestartPlan(round: round, resend: logged) }
        if let vote, vote.height == height, vote.round == self.round, vote.step == step {
            return RestartPlan(round: round, resend: logged + [.vote(vote)])
        }
        return RestartPlan(round: self.round + 1, resend: logged)
    }

    /// May this validator sign `signBytes` at (height, round, step)?
    public func check(height: UInt64, round: UInt32, step: VoteStep, signBytes: [UInt8]) -> Decision {
        let new = (height, round, step.rawValue)
        let last = (self.height, self.round, self.step.rawValue)
        if new > last { return .allow }
        if new < last {
            return .refuse("height/round/step \(height)/\(round)/\(step) is before the last signed \(self.height)/\(self.round)/\(self.step)")
        }
        if Hash.sha256(signBytes) == signBytesHash, let signature {
            return .allowIdenticalResign(signature)
        }
        return .refuse("already signed different bytes at height/round/step \(height)/\(round)/\(step)")
    }

    public func encode(to encoder: inout Encoder) {
        encoder.encode(height, round, step, signBytesHash, signature, vote)
    }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        height = try decoder.decodeUInt64()
        round = try decoder.decodeUInt32()
        step = try decoder.decode(VoteStep.self)
        signBytesHash = try decoder.decodeHash()
        signature = try decoder.decodeOptional(Signature.self)
        // A record written before the vote was kept ends here.
        vote = decoder.remaining > 0 ? try decoder.decodeOptional(Vote.self) : nil
    }
}

/// Signs consensus messages, never two different things for one (height, round, step):
/// check the record, persist the new record durably through the journal — in the same write as
/// the signed message and, for a precommit of a value, the lock — and only then release the
/// signature (`docs/consensus.md` §7).
public struct SafeSigner: Sendable {
    public let key: any ConsensusKey
    public private(set) var record: SignerSafetyRecord

    public init(key: any ConsensusKey, record: SignerSafetyRecord) {
        self.key = key
        self.record = record
    }

    /// Signs what the state machine asked for; the returned message may be broadcast.
    /// - Parameter lock: persisted in the same write (a precommit of a value: its block).
    public mutating func sign<Journal: ConsensusJournal>(_ request: SigningRequest, chainId: String, lock: ConsensusLock? = nil, journal: inout Journal) throws(SignerError) -> ConsensusMessage {
        let signBytes = request.signingBytes(chainId: chainId)
        switch record.check(height: request.height, round: request.round, step: request.step, signBytes: signBytes) {
        case .refuse(let reason):
            throw SignerError(.refused, reason)
        case .allowIdenticalResign(let signature):
            return request.signed(signature)
        case .allow:
            let signature = key.sign(signBytes)
            let message = request.signed(signature)
            var vote: Vote?
            if case .vote(let signedVote) = message { vote = signedVote }
            let next = SignerSafetyRecord(height: request.height, round: request.round, step: request.step, signBytesHash: Hash.sha256(signBytes), signature: signature, vote: vote)
            // Persist first: a signature that left the node must survive a crash in the record.
            try journal.persistSignature(next, message: message, lock: lock)
            record = next
            return message
        }
    }

    /// Signs raw vote bytes through the journal (the signer's crash test, `kizuna signer sign-votes`).
    public mutating func signVote<Journal: ConsensusJournal>(_ vote: UnsignedVote, chainId: String, journal: inout Journal) throws(SignerError) -> Vote {
        guard case .vote(let signed) = try sign(.vote(vote), chainId: chainId, journal: &journal) else {
            preconditionFailure("a vote request signs a vote")
        }
        return signed
    }
}
