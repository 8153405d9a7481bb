public import KizunaCore

/// The lock a validator holds at a height: the block it precommitted and the round. Persisted
/// before that precommit leaves the node, so a restarted validator cannot prevote another value
/// in a later round (line 22 of the algorithm; `docs/consensus.md` §7).
public struct ConsensusLock: Sendable, Hashable {
    public var round: UInt32
    public var block: Block
    /// The height locked at: the block's.
    public var height: UInt64 { block.height }

    public init(round: UInt32, block: Block) {
        self.round = round
        self.block = block
    }

    /// `height ‖ round ‖ block` in the canonical encoding (the journal's `lock` entry).
    public var encoded: [UInt8] {
        var encoder = Encoder()
        encoder.encode(height)
        encoder.encode(round)
        encoder.encode(block)
        return encoder.bytes
    }

    /// nil for bytes that do not decode (a lock is an optimisation of liveness and safety
    /// across restarts; one that cannot be read is treated as absent, and the signer record
    /// still prevents any double signature).
    public init?(encoded bytes: [UInt8]) {
        var decoder = Decoder(bytes, keysAlreadyValidated: true)
        guard let height = try? decoder.decodeUInt64(), let round = try? decoder.decodeUInt32(),
              let block = try? decoder.decode(Block.self), (try? decoder.finish()) != nil, block.height == height else { return nil }
        self.init(round: round, block: block)
    }
}

/// What a validator's journal gives back when it resumes deciding a height.
public struct JournalRecovery: Sendable {
    /// What the key signed last; nil when the journal has none (a new validator whose record
    /// was never initialised, or a lost journal).
    public var record: SignerSafetyRecord?
    /// The lock held at the height being resumed, if any.
    public var lock: ConsensusLock?
    /// This node's own signed messages of the height, in signing order.
    public var ownMessages: [ConsensusMessage]
    /// Peers' votes of the height, in arrival order.
    public var receivedVotes: [Vote]

    public init(record: SignerSafetyRecord?, lock: ConsensusLock? = nil, ownMessages: [ConsensusMessage] = [], receivedVotes: [Vote] = []) {
        self.record = record
        self.lock = lock
        self.ownMessages = ownMessages
        self.receivedVotes = receivedVotes
    }
}

/// Everything a replica must find again after a crash, written through one mechanism: the signer
/// record, the lock, the node's own signed messages and the peers' votes of the height being
/// decided (`docs/consensus.md` §7). The node's journal lives in the store layer
/// (`StoreConsensusJournal`, the RocksDB `consensus` column family); the simulator's is a model of
/// a disk that crashes and fails (`SimulatedJournal`). Both serve the same `ConsensusReplica`.
public protocol ConsensusJournal: Sendable {
    /// What the journal holds for a replica that resumes deciding `height`.
    mutating func restore(height: UInt64) throws(SignerError) -> JournalRecovery
    /// Makes a signature durable before it is released: the new signer record, the signed
    /// message and (a precommit of a value) the lock, in one synced write — all or nothing.
    mutating func persistSignature(_ record: SignerSafetyRecord, message: ConsensusMessage, lock: ConsensusLock?) throws(SignerError)
    /// Journals a peer's vote of the height being decided. Need not be synced: peers re-send.
    mutating func appendReceivedVote(_ vote: Vote) throws(SignerError)
    /// The height is committed: its own messages and received votes are no longer needed.
    mutating func forget(height: UInt64)
}

extension SignerSafetyRecord {
    /// The record as the journal keeps it: domain tag, record, SHA-256 of both (a torn or
    /// corrupted record is recognised, never misread).
    public var journalBytes: [UInt8] {
        let body = ConsensusDomain.signerRecord + canonicalBytes
        return body + Hash.sha256(body).bytes
    }

    /// Reads `journalBytes`; `source` names where they came from in the error.
    public init(journalBytes bytes: [UInt8], source: String) throws(SignerError) {
        let prefix = ConsensusDomain.signerRecord
        guard bytes.count > prefix.count + Hash.byteCount, Array(bytes.prefix(prefix.count)) == prefix else {
            throw SignerError(.recordCorrupt, "\(source) is not a signer record")
        }
        let body = Array(bytes.dropLast(Hash.byteCount))
        guard Hash.sha256(body).bytes == Array(bytes.suffix(Hash.byteCount)) else {
            throw SignerError(.recordCorrupt, "\(source) fails its checksum (torn or corrupted write)")
        }
        do {
            self = try SignerSafetyRecord(canonicalBytes: Array(body.dropFirst(prefix.count)))
        } catch {
            throw SignerError(.recordCorrupt, "\(source): \(error)")
        }
    }
}
