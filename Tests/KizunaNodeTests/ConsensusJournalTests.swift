import Foundation
import KizunaChain
import KizunaConsensus
import KizunaCore
import KizunaNode
import KizunaRocksDB
import KizunaStorage
import Testing

/// The validator's consensus journal in the store (`StoreConsensusJournal`): the signer record,
/// the lock and the signed message in one synced write; what a restart finds; a missing or
/// corrupt record; the import of an earlier version's record file.
@Suite struct ConsensusJournalTests {
    let key = PrivateKey(seed: [UInt8](repeating: 7, count: 32))!
    static let chainId = "journal-test"

    func prevote(round: UInt32, _ hash: Hash?) -> SigningRequest {
        .vote(UnsignedVote(step: .prevote, height: 5, round: round, blockHash: hash, validator: key.publicKey))
    }

    func temporaryFolder() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-journal-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.path
    }

    /// A store that remembers the batches written, to see what went in one write.
    final class RecordingStore: KeyValueStore, @unchecked Sendable {
        let inner = MemoryStore()
        var writes: [(batch: WriteBatch, sync: Bool)] = []
        func get(_ key: [UInt8], in family: ColumnFamily) throws(StorageError) -> [UInt8]? { try inner.get(key, in: family) }
        func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
            writes.append((batch, sync))
            try inner.write(batch, sync: sync)
        }
        func scan(_ family: ColumnFamily, from start: [UInt8], prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
            try inner.scan(family, from: start, prefix: prefix, body)
        }
    }

    @Test func aSignatureIsOneSyncedWriteOfTheRecordTheMessageAndTheLock() throws {
        let store = RecordingStore()
        var journal = StoreConsensusJournal(store: store)
        try journal.createInitialRecord()
        _ = try journal.restore(height: 5)
        store.writes = []
        var signer = SafeSigner(key: Ed25519ConsensusKey(key), record: .initial)
        let block = Block(header: BlockHeader(chainId: Self.chainId, height: 5, previousBlockHash: .zero, timestamp: 1, transactionsRoot: .zero, stateRoot: .zero,
                                              proposer: key.publicKey, validatorSetHash: .zero, lastCommitHash: .zero), transactions: [], lastCommit: nil)
        let precommit = SigningRequest.vote(UnsignedVote(step: .precommit, height: 5, round: 1, blockHash: block.hash, validator: key.publicKey))
        let message = try signer.sign(precommit, chainId: Self.chainId, lock: ConsensusLock(round: 1, block: block), journal: &journal)
        #expect(store.writes.count == 1)
        #expect(store.writes.first?.sync == true)
        #expect(store.writes.first?.batch.count == 3)
        let recovered = try journal.restore(height: 5)
        #expect(recovered.record == signer.record)
        #expect(recovered.ownMessages == [message])
        #expect(recovered.lock == ConsensusLock(round: 1, block: block))
        // The next height finds neither the lock nor the messages of height 5.
        journal.forget(height: 5)
        let next = try journal.restore(height: 6)
        #expect(next.lock == nil && next.ownMessages.isEmpty && next.record == signer.record)
    }

    @Test func aKilledSignerReopensItsJournalAndRefusesAConflictingVote() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ValidatorJournal.initialize(dataDirectory: folder)
        let blockA = Hash.sha256([0xa])
        let blockB = Hash.sha256([0xb])
        let first = try ValidatorJournal.withJournal(dataDirectory: folder) { (journal: inout StoreConsensusJournal) throws(SignerError) in
            var signer = SafeSigner(key: Ed25519ConsensusKey(key), record: try journal.signerRecord()!)
            return try signer.sign(prevote(round: 2, blockA), chainId: Self.chainId, journal: &journal)
        }
        try ValidatorJournal.withJournal(dataDirectory: folder) { (journal: inout StoreConsensusJournal) throws(SignerError) in
            let recovered = try journal.restore(height: 5)
            var restarted = SafeSigner(key: Ed25519ConsensusKey(key), record: recovered.record!)
            #expect(restarted.record.height == 5 && restarted.record.round == 2 && restarted.record.step == .prevote)
            #expect(recovered.ownMessages == [first])
            #expect(throws: SignerError(.refused, "")) { try restarted.sign(prevote(round: 2, blockB), chainId: Self.chainId, journal: &journal) }
            #expect(throws: SignerError(.refused, "")) { try restarted.sign(prevote(round: 1, blockA), chainId: Self.chainId, journal: &journal) }
            #expect(try restarted.sign(prevote(round: 2, blockA), chainId: Self.chainId, journal: &journal) == first)
        }
        #expect(try ValidatorJournal.record(dataDirectory: folder)?.step == .prevote)
    }

    @Test func aMissingRecordRefusesUntilTheOperatorOverrides() throws {
        let configuration = ConsensusConfiguration(chainId: Self.chainId)
        let validators = ValidatorSet([Validator(name: "v", organisation: "o", publicKey: key.publicKey, votingPower: 1)])
        let journal = StoreConsensusJournal(store: MemoryStore())
        #expect(throws: SignerError(.recordMissing, "")) {
            _ = try ConsensusReplica(configuration: configuration, validators: validators, key: Ed25519ConsensusKey(key), verifier: Ed25519Verifier(),
                                     tip: .genesis(timestampMilliseconds: 1), journal: journal)
        }
        let replica = try ConsensusReplica(configuration: configuration, validators: validators, key: Ed25519ConsensusKey(key), verifier: Ed25519Verifier(),
                                           tip: .genesis(timestampMilliseconds: 1), journal: journal, allowMissingSignerRecord: true)
        #expect(replica.signer?.record == .initial)
        // An observer needs no record.
        let observer = try ConsensusReplica(configuration: configuration, validators: validators, key: Ed25519ConsensusKey(PrivateKey()), verifier: Ed25519Verifier(),
                                            tip: .genesis(timestampMilliseconds: 1), journal: journal)
        #expect(observer.signer == nil)
    }

    @Test func aCorruptRecordIsRefusedAndNeverOverwrittenByInit() throws {
        let store = MemoryStore()
        var journal = StoreConsensusJournal(store: store)
        try journal.createInitialRecord()
        #expect(throws: SignerError(.refused, "")) { try journal.createInitialRecord() }
        var bytes = try #require(try store.get(Array("signer".utf8), in: .consensus))
        bytes[bytes.count / 2] ^= 0xff
        var batch = WriteBatch()
        batch.put(bytes, for: Array("signer".utf8), in: .consensus)
        try store.write(batch, sync: true)
        #expect(throws: SignerError(.recordCorrupt, "")) { _ = try journal.restore(height: 1) }
    }

    @Test func theRecordFileOfAnEarlierVersionIsImportedOnceAndRenamed() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/validator.key.json.signer-state"
        let old = SignerSafetyRecord(height: 40, round: 1, step: .precommit, signBytesHash: Hash.sha256([1]), signature: key.sign([1]))
        // The earlier version's file: domain tag, record, SHA-256 of both (its V1 layout).
        try Data(old.journalBytes).write(to: URL(fileURLWithPath: file))
        var journal = StoreConsensusJournal(store: MemoryStore())
        #expect(try ValidatorJournal.importRecordFile(at: file, into: &journal))
        #expect(try journal.signerRecord() == old)
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(FileManager.default.fileExists(atPath: file + ".imported"))
        // Never again, and never over a record the journal holds.
        try Data(SignerSafetyRecord.initial.journalBytes).write(to: URL(fileURLWithPath: file))
        #expect(try !ValidatorJournal.importRecordFile(at: file, into: &journal))
        #expect(try journal.signerRecord() == old)
    }
}
