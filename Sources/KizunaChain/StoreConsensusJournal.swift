public import KizunaCore
public import KizunaConsensus
public import KizunaStorage

/// A validator's consensus journal in the node's store (the `consensus` column family): the
/// signer record, the lock, its own signed messages and the peers' votes of the height being
/// decided (`docs/consensus.md` §7, `docs/storage.md`). A signature's record, message and lock
/// go in one synced write batch, so a crash leaves all of them or none.
///
/// Keys: `signer` (the record, `SignerSafetyRecord.journalBytes`), `lock` (`ConsensusLock`),
/// `own ‖ height ‖ sequence` and `recv ‖ height ‖ sequence` (big-endian, so one height's entries
/// come back in the order they were written).
public struct StoreConsensusJournal: ConsensusJournal {
    public let store: any KeyValueStore
    /// Entries written at `height` so far (the next sequence numbers).
    var height: UInt64 = 0
    var ownMessagesWritten: UInt32 = 0
    var receivedVotesWritten: UInt32 = 0

    static let signerKey = Array("signer".utf8)
    static let lockKey = Array("lock".utf8)
    static let ownMessagePrefix = Array("own".utf8)
    static let receivedVotePrefix = Array("recv".utf8)

    public init(store: any KeyValueStore) {
        self.store = store
    }

    /// The signer record, or nil if the journal has none.
    public func signerRecord() throws(SignerError) -> SignerSafetyRecord? {
        let bytes: [UInt8]?
        do {
            bytes = try store.get(Self.signerKey, in: .consensus)
        } catch {
            throw SignerError(.ioFailure, "reading the signer record: \(error)")
        }
        guard let bytes else { return nil }
        return try SignerSafetyRecord(journalBytes: bytes, source: "the signer record in the consensus journal")
    }

    /// Writes the record of a key that has signed nothing; refuses if the journal has a record.
    public mutating func createInitialRecord() throws(SignerError) {
        if try signerRecord() != nil {
            throw SignerError(.refused, "the consensus journal already holds a signer record; not overwriting it")
        }
        try write(putting: [(Self.signerKey, SignerSafetyRecord.initial.journalBytes)], sync: true)
    }

    /// Imports a record kept by an earlier version in its own file, once, into an empty journal.
    public mutating func importRecord(_ record: SignerSafetyRecord) throws(SignerError) {
        if try signerRecord() != nil {
            throw SignerError(.refused, "the consensus journal already holds a signer record; not importing another")
        }
        try write(putting: [(Self.signerKey, record.journalBytes)], sync: true)
    }

    public mutating func restore(height: UInt64) throws(SignerError) -> JournalRecovery {
        let record = try signerRecord()
        var lock: ConsensusLock?
        var own: [(key: [UInt8], value: [UInt8])] = []
        var received: [(key: [UInt8], value: [UInt8])] = []
        do {
            if let bytes = try store.get(Self.lockKey, in: .consensus) { lock = ConsensusLock(encoded: bytes) }
            own = try store.entries(withPrefix: Self.key(Self.ownMessagePrefix, height: height), in: .consensus)
            received = try store.entries(withPrefix: Self.key(Self.receivedVotePrefix, height: height), in: .consensus)
        } catch {
            throw SignerError(.ioFailure, "reading the consensus journal: \(error)")
        }
        self.height = height
        // Sequences continue after what is there, readable or not, so nothing is overwritten.
        ownMessagesWritten = UInt32(own.count)
        receivedVotesWritten = UInt32(received.count)
        return JournalRecovery(record: record, lock: lock.flatMap { $0.height == height ? $0 : nil },
                               ownMessages: own.compactMap { try? ConsensusMessage(canonicalBytes: $0.value) },
                               receivedVotes: received.compactMap { try? Vote(canonicalBytes: $0.value) })
    }

    public mutating func persistSignature(_ record: SignerSafetyRecord, message: ConsensusMessage, lock: ConsensusLock?) throws(SignerError) {
        moveTo(height: message.height)
        var entries = [(Self.signerKey, record.journalBytes),
                       (Self.key(Self.ownMessagePrefix, height: message.height, sequence: ownMessagesWritten), message.canonicalBytes)]
        if let lock { entries.append((Self.lockKey, lock.encoded)) }
        try write(putting: entries, sync: true)
        ownMessagesWritten += 1
    }

    /// Not synced: it survives a killed process (RocksDB's log is in the operating system's
    /// hands); a power cut may lose the last ones, which peers re-send anyway.
    public mutating func appendReceivedVote(_ vote: Vote) throws(SignerError) {
        moveTo(height: vote.height)
        try write(putting: [(Self.key(Self.receivedVotePrefix, height: vote.height, sequence: receivedVotesWritten), vote.canonicalBytes)], sync: false)
        receivedVotesWritten += 1
    }

    public mutating func forget(height decided: UInt64) {
        var batch = WriteBatch()
        for prefix in [Self.ownMessagePrefix, Self.receivedVotePrefix] {
            guard let entries = try? store.entries(withPrefix: Self.key(prefix, height: decided), in: .consensus) else { continue }
            for entry in entries { batch.delete(entry.key, in: .consensus) }
        }
        // Best effort: a leftover entry of a decided height is never read again (restore reads
        // the height being decided) and goes at the next forget of that height or never matters.
        if !batch.isEmpty { try? store.write(batch, sync: false) }
        // The next height starts empty: entries there could only come from an earlier process
        // that had committed `decided` already, and that one would have restored at the next
        // height. No scan on the commit path.
        if height <= decided {
            height = decided + 1
            ownMessagesWritten = 0
            receivedVotesWritten = 0
        }
    }

    // MARK: - Keys and writes

    /// `prefix ‖ height ‖ sequence` (big-endian), or without the sequence one height's prefix.
    static func key(_ prefix: [UInt8], height: UInt64, sequence: UInt32? = nil) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(height)
        if let sequence { encoder.encode(sequence) }
        return prefix + encoder.bytes
    }

    mutating func moveTo(height newHeight: UInt64) {
        guard newHeight != height else { return }
        height = newHeight
        ownMessagesWritten = 0
        receivedVotesWritten = 0
        // Entries already at the new height (written before a restart) keep their sequences.
        if let own = try? store.entries(withPrefix: Self.key(Self.ownMessagePrefix, height: newHeight), in: .consensus) { ownMessagesWritten = UInt32(own.count) }
        if let received = try? store.entries(withPrefix: Self.key(Self.receivedVotePrefix, height: newHeight), in: .consensus) { receivedVotesWritten = UInt32(received.count) }
    }

    func write(putting entries: [([UInt8], [UInt8])], sync: Bool) throws(SignerError) {
        var batch = WriteBatch()
        for (key, value) in entries { batch.put(value, for: key, in: .consensus) }
        do {
            try store.write(batch, sync: sync)
        } catch {
            throw SignerError(.ioFailure, "writing the consensus journal: \(error)")
        }
    }
}
