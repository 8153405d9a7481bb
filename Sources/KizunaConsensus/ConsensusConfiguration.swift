public import KizunaCore

/// Rules deliberately broken for the simulator's mutation tests. Never set in a node.
public struct ConsensusFaultInjection: Sendable, Hashable {
    /// Prevote for a proposal even when locked on another value (breaks lines 22/28).
    public var ignoreLock: Bool
    /// Count votes by number of validators instead of voting power.
    public var countVotesByNumber: Bool
    /// Restart in the signer record's round even when its last signature was not logged
    /// (reverts the restart fix of commit 4adb062; `SignerSafetyRecord.restartRound`).
    public var ignoreUnloggedSignature: Bool
    /// Do not journal the votes received from peers (a restarted node forgets the polkas it saw).
    public var forgetReceivedVotes: Bool

    public init(ignoreLock: Bool = false, countVotesByNumber: Bool = false, ignoreUnloggedSignature: Bool = false, forgetReceivedVotes: Bool = false) {
        self.ignoreLock = ignoreLock
        self.countVotesByNumber = countVotesByNumber
        self.ignoreUnloggedSignature = ignoreUnloggedSignature
        self.forgetReceivedVotes = forgetReceivedVotes
    }

    public static let none = ConsensusFaultInjection()
}

/// Timeouts, clock bounds and limits of the consensus state machine (units last).
public struct ConsensusConfiguration: Sendable, Hashable {
    public var chainId: String
    public var timeoutProposeMillisecondsBase: UInt64 = 3000
    public var timeoutProposeMillisecondsDelta: UInt64 = 500
    public var timeoutPrevoteMillisecondsBase: UInt64 = 1000
    public var timeoutPrevoteMillisecondsDelta: UInt64 = 500
    public var timeoutPrecommitMillisecondsBase: UInt64 = 1000
    public var timeoutPrecommitMillisecondsDelta: UInt64 = 500
    /// How often a node re-sends its own messages of the current round.
    public var rebroadcastMilliseconds: UInt64 = 1000
    /// A proposal's timestamp may be at most this far ahead of the local clock.
    public var timestampFutureBoundMilliseconds: UInt64 = 2000
    /// A fresh proposal's (polRound −1) timestamp may be at most this far behind the local clock.
    public var timestampPastBoundMilliseconds: UInt64 = 10_000
    /// Messages for the next height kept until this node gets there.
    public var futureHeightMessagesMax: Int = 256
    /// Rounds more than one ahead of ours that one validator may make us track.
    public var catchUpRoundsPerValidatorMax: Int = 2
    public var evidenceMax: Int = 1024
    /// Broken rules for mutation tests only; `.none` in a node.
    public var faultInjection: ConsensusFaultInjection = .none

    public init(chainId: String) { self.chainId = chainId }

    /// `base + delta × round`, saturating.
    public func timeoutMilliseconds(_ step: TimeoutStep, round: UInt32) -> UInt64 {
        let (base, delta): (UInt64, UInt64) = switch step {
        case .propose: (timeoutProposeMillisecondsBase, timeoutProposeMillisecondsDelta)
        case .prevote: (timeoutPrevoteMillisecondsBase, timeoutPrevoteMillisecondsDelta)
        case .precommit: (timeoutPrecommitMillisecondsBase, timeoutPrecommitMillisecondsDelta)
        case .rebroadcast: (rebroadcastMilliseconds, 0)
        }
        let (growth, overflow) = delta.multipliedReportingOverflow(by: UInt64(round))
        if overflow { return UInt64.max }
        let (sum, overflowSum) = base.addingReportingOverflow(growth)
        return overflowSum ? UInt64.max : sum
    }
}

/// Which timeout fired.
public enum TimeoutStep: UInt8, Sendable, Hashable {
    case propose = 1
    case prevote = 2
    case precommit = 3
    /// Re-send this node's own messages (gossip over a lossy network).
    case rebroadcast = 4
}

/// The committed chain as the state machine needs it: where the next block goes.
public struct ChainTip: Sendable, Hashable {
    /// The height of the next block to decide (1 on a fresh chain).
    public var nextHeight: UInt64
    /// Hash of the last committed block (zero before height 1).
    public var parentHash: Hash
    /// Timestamp of the last committed block (the genesis time before height 1).
    public var parentTimestampMilliseconds: UInt64
    /// The certificate that committed the parent (to be carried in the next block).
    public var lastCommit: CommitCertificate?

    public init(nextHeight: UInt64, parentHash: Hash, parentTimestampMilliseconds: UInt64, lastCommit: CommitCertificate?) {
        self.nextHeight = nextHeight
        self.parentHash = parentHash
        self.parentTimestampMilliseconds = parentTimestampMilliseconds
        self.lastCommit = lastCommit
    }

    /// The tip of an empty chain.
    public static func genesis(timestampMilliseconds: UInt64) -> ChainTip {
        ChainTip(nextHeight: 1, parentHash: .zero, parentTimestampMilliseconds: timestampMilliseconds, lastCommit: nil)
    }
}
