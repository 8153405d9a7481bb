import KizunaCore

/// The simulator's model of a validator's journal on a disk: what is durable survives a crash,
/// a crash can come at any write (with nothing, all, or — for a journal that tore — only the
/// signer record of that write landed), and a write can fail with an I/O error. The replica
/// running on it is the node's own `ConsensusReplica`.
public struct SimulatedJournal: ConsensusJournal {
    /// What is on the disk.
    struct Contents: Sendable {
        var record: SignerSafetyRecord?
        var lock: ConsensusLock?
        var ownMessages: [ConsensusMessage] = []
        var receivedVotes: [Vote] = []
    }

    var durable: Contents
    /// The signer record written but not synced (only with the mutation `recordSyncs == false`,
    /// where the record is synced at commit: a crash loses it).
    var volatileRecord: SignerSafetyRecord?
    /// False breaks the signer on purpose (the record reaches the disk only at `sync()`).
    let recordSyncs: Bool
    /// The mutation of `ConsensusFaultInjection.forgetReceivedVotes`: peers' votes are not kept.
    let forgetsReceivedVotes: Bool
    /// Writes and signature writes so far, across restarts (crash faults name one).
    public private(set) var writes = 0
    public private(set) var signatureWrites = 0
    let crashes: [JournalCrashFault]
    /// The crash fault that fired last.
    public private(set) var firedCrash: JournalCrashFault?
    let failurePerMille: UInt64
    var random: SplitMix64
    /// Set when a crash fault fired: every later write fails, and the simulator takes the node
    /// down at the `journalFailed` output that reports it.
    public private(set) var crashed = false
    public private(set) var failedWrites = 0

    public static let crashMessage = "simulated crash"

    init(record: SignerSafetyRecord?, recordSyncs: Bool, forgetsReceivedVotes: Bool,
         crashes: [JournalCrashFault], failurePerMille: UInt64, seed: UInt64) {
        self.durable = Contents(record: record)
        self.recordSyncs = recordSyncs
        self.forgetsReceivedVotes = forgetsReceivedVotes
        self.crashes = crashes
        self.failurePerMille = failurePerMille
        self.random = SplitMix64(seed: seed)
    }

    public mutating func restore(height: UInt64) throws(SignerError) -> JournalRecovery {
        JournalRecovery(record: volatileRecord ?? durable.record, lock: durable.lock,
                        ownMessages: durable.ownMessages.filter { $0.height == height },
                        receivedVotes: durable.receivedVotes.filter { $0.height == height })
    }

    public mutating func persistSignature(_ record: SignerSafetyRecord, message: ConsensusMessage, lock: ConsensusLock?) throws(SignerError) {
        let landing = try beginWrite(signature: true)
        if landing == .nothing { throw SignerError(.ioFailure, Self.crashMessage) }
        if recordSyncs {
            durable.record = record
            volatileRecord = nil
        } else {
            volatileRecord = record
        }
        if landing == .recordOnly { throw SignerError(.ioFailure, Self.crashMessage) }
        if let lock { durable.lock = lock }
        durable.ownMessages.append(message)
        if landing == .everything, crashed { throw SignerError(.ioFailure, Self.crashMessage) }
    }

    public mutating func appendReceivedVote(_ vote: Vote) throws(SignerError) {
        let landing = try beginWrite(signature: false)
        if landing == .nothing { throw SignerError(.ioFailure, Self.crashMessage) }
        if !forgetsReceivedVotes { durable.receivedVotes.append(vote) }
        if crashed { throw SignerError(.ioFailure, Self.crashMessage) }
    }

    public mutating func forget(height: UInt64) {
        guard !crashed else { return }
        durable.ownMessages.removeAll { $0.height <= height }
        durable.receivedVotes.removeAll { $0.height <= height }
    }

    /// A commit is one synced write: a record the mutated signer left unsynced is synced too.
    mutating func sync() {
        guard !crashed else { return }
        if let volatileRecord { durable.record = volatileRecord }
        volatileRecord = nil
    }

    /// The process died: what was not synced is gone; the disk works again at the restart.
    mutating func crash() {
        volatileRecord = nil
        crashed = false
    }

    /// Counts the write and says how much of it lands: all of it normally; with a crash fault
    /// at this write its landing (and `crashed` is set); throws for a failing write or one
    /// after a crash.
    mutating func beginWrite(signature: Bool) throws(SignerError) -> JournalCrashFault.Landing {
        guard !crashed else { throw SignerError(.ioFailure, Self.crashMessage) }
        writes += 1
        if signature { signatureWrites += 1 }
        if let crash = crashes.first(where: { $0.at == .write(writes) || (signature && $0.at == .signature(signatureWrites)) }) {
            crashed = true
            firedCrash = crash
            return crash.landing
        }
        if failurePerMille > 0, random.chance(perMille: failurePerMille) {
            failedWrites += 1
            throw SignerError(.ioFailure, "simulated I/O error")
        }
        return .everything
    }
}
