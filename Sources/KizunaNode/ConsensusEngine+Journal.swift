public import KizunaCore
import KizunaStorage
import KizunaChain
import KizunaConsensus
import Logging

/// The consensus journal the engine keeps in the store's `consensus` column family: the keys of
/// the own-message log and of the peers' votes of the height being decided, and the vote
/// journal itself (`docs/consensus.md` §7).
extension ConsensusEngine {
    /// A journal key: `prefix ‖ height ‖ sequence` (big-endian, so keys sort by sequence), or
    /// without the sequence the prefix of one height's entries.
    static func journalKey(_ prefix: [UInt8], height: UInt64, sequence: UInt32? = nil) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(height)
        if let sequence { encoder.encode(sequence) }
        return prefix + encoder.bytes
    }

    static func receivedVoteKey(height: UInt64, sequence: UInt32) -> [UInt8] { journalKey(receivedVotePrefix, height: height, sequence: sequence) }
    static func receivedVotePrefix(height: UInt64) -> [UInt8] { journalKey(receivedVotePrefix, height: height) }
    static func ownMessageKey(height: UInt64, sequence: UInt32) -> [UInt8] { journalKey(ownMessagePrefix, height: height, sequence: sequence) }
    static func ownMessagePrefix(height: UInt64) -> [UInt8] { journalKey(ownMessagePrefix, height: height) }
    /// Journals a peer's vote of the height being decided (a write without fsync: it survives
    /// a killed process, as RocksDB's log is in the operating system's hands; a power cut may
    /// lose the last ones, which peers re-send anyway).
    func journalReceived(_ vote: Vote) {
        // The height moved on (a commit, or block sync): the old height's votes are not needed.
        if journalHeight != machine.height { clearReceivedJournal() }
        guard vote.height == machine.height, vote.validator != key.publicKey, !receivedVoteSignatures.contains(vote.signature) else { return }
        guard receivedVotesWritten < Self.receivedVotesPerHeightMax else {
            node.metrics.add("kizuna_consensus_journal_votes_dropped_total")
            return
        }
        var batch = WriteBatch()
        batch.put(vote.canonicalBytes, for: Self.receivedVoteKey(height: vote.height, sequence: receivedVotesWritten), in: .consensus)
        do {
            try blocks.store.write(batch, sync: false)
            receivedVotesWritten += 1
            receivedVoteSignatures.insert(vote.signature)
        } catch {
            logger.warning("could not journal a received vote", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes the journaled votes of `journalHeight` and starts the journal of the current height.
    func clearReceivedJournal() {
        if receivedVotesWritten > 0, let entries = try? blocks.store.entries(withPrefix: Self.receivedVotePrefix(height: journalHeight), in: .consensus) {
            var batch = WriteBatch()
            for entry in entries { batch.delete(entry.key, in: .consensus) }
            try? blocks.store.write(batch, sync: false)
        }
        receivedVotesWritten = 0
        receivedVoteSignatures = []
        journalHeight = machine.height
    }

}
