import Foundation
import KizunaConsensus
import KizunaCore
import Testing

@Suite struct SignerTests {
    let key = PrivateKey(seed: [UInt8](repeating: 7, count: 32))!

    func prevote(round: UInt32, _ hash: Hash?) -> SigningRequest {
        .vote(UnsignedVote(step: .prevote, height: 5, round: round, blockHash: hash, validator: key.publicKey))
    }

    @Test func recordAllowsOnlyForwardOrIdentical() {
        let bytes: [UInt8] = [1, 2, 3]
        let signature = key.sign(bytes)
        let record = SignerSafetyRecord(height: 5, round: 2, step: .prevote, signBytesHash: Hash.sha256(bytes), signature: signature)
        #expect(record.check(height: 5, round: 2, step: .precommit, signBytes: [9]) == .allow)
        #expect(record.check(height: 5, round: 3, step: .proposal, signBytes: [9]) == .allow)
        #expect(record.check(height: 6, round: 0, step: .proposal, signBytes: [9]) == .allow)
        #expect(record.check(height: 5, round: 2, step: .prevote, signBytes: bytes) == .allowIdenticalResign(signature))
        guard case .refuse = record.check(height: 5, round: 2, step: .prevote, signBytes: [4]) else { Issue.record("conflict allowed"); return }
        guard case .refuse = record.check(height: 5, round: 2, step: .proposal, signBytes: [4]) else { Issue.record("backwards step allowed"); return }
        guard case .refuse = record.check(height: 5, round: 1, step: .precommit, signBytes: [4]) else { Issue.record("backwards round allowed"); return }
        guard case .refuse = record.check(height: 4, round: 9, step: .precommit, signBytes: [4]) else { Issue.record("backwards height allowed"); return }
    }

    /// A restarted node resumes at the record's round, or the next one after a precommit: it
    /// can sign nothing new in a round it precommitted in (seed 10405 stalled there).
    @Test func aRestartResumesAfterTheLastRoundTheSignerCanStillSignIn() {
        func record(_ height: UInt64, _ round: UInt32, _ step: VoteStep) -> SignerSafetyRecord {
            SignerSafetyRecord(height: height, round: round, step: step, signBytesHash: .zero, signature: nil)
        }
        #expect(SignerSafetyRecord.initial.resumeRound(height: 1) == 0)
        #expect(record(5, 3, .precommit).resumeRound(height: 6) == 0)
        #expect(record(5, 3, .proposal).resumeRound(height: 5) == 3)
        #expect(record(5, 3, .prevote).resumeRound(height: 5) == 3)
        #expect(record(5, 3, .precommit).resumeRound(height: 5) == 4)
        #expect(record(5, .max, .precommit).resumeRound(height: 5) == .max)
        // Everything in the resumed round is signable: its first message is not refused.
        let resumed = record(5, 3, .precommit)
        #expect(resumed.check(height: 5, round: resumed.resumeRound(height: 5), step: .proposal, signBytes: [1]) == .allow)
    }

    func temporaryKeyPath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-signer-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("validator.key").path
    }

    @Test func aCrashedSignerReloadsItsRecordAndRefusesAConflictingVote() throws {
        let keyPath = temporaryKeyPath()
        var store = FileSignerStateStore(keyPath: keyPath)
        try store.createInitialRecord()
        let blockA = Hash.sha256([0xa])
        let blockB = Hash.sha256([0xb])
        var signer: SafeSigner<FileSignerStateStore>? = try SafeSigner(key: Ed25519ConsensusKey(key), store: FileSignerStateStore(keyPath: keyPath))
        let first = try signer!.sign(prevote(round: 2, blockA), chainId: "c")
        // "Crash": drop the signer without any shutdown; only the file remains.
        signer = nil
        var restarted = try SafeSigner(key: Ed25519ConsensusKey(key), store: FileSignerStateStore(keyPath: keyPath))
        #expect(restarted.record.height == 5 && restarted.record.round == 2 && restarted.record.step == .prevote)
        #expect(throws: SignerError(.refused, "")) { try restarted.sign(prevote(round: 2, blockB), chainId: "c") }
        #expect(throws: SignerError(.refused, "")) { try restarted.sign(prevote(round: 1, blockA), chainId: "c") }
        #expect(try restarted.sign(prevote(round: 2, blockA), chainId: "c") == first)
        _ = try restarted.sign(.vote(UnsignedVote(step: .precommit, height: 5, round: 2, blockHash: blockA, validator: key.publicKey)), chainId: "c")
        let reloaded = try FileSignerStateStore(keyPath: keyPath).load()
        #expect(reloaded.step == .precommit)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".signer-state.tmp"))
    }

    @Test func aMissingRecordRefusesUntilTheOperatorOverrides() throws {
        let keyPath = temporaryKeyPath()
        #expect(throws: SignerError(.recordMissing, "")) {
            _ = try SafeSigner(key: Ed25519ConsensusKey(key), store: FileSignerStateStore(keyPath: keyPath))
        }
        var signer = try SafeSigner(key: Ed25519ConsensusKey(key), store: FileSignerStateStore(keyPath: keyPath, allowMissingRecord: true))
        #expect(signer.record == .initial)
        _ = try signer.sign(prevote(round: 0, nil), chainId: "c")
        // From now on the record exists and no override is needed.
        #expect(try FileSignerStateStore(keyPath: keyPath).load().height == 5)
    }

    @Test func aCorruptRecordIsRefusedAndNeverOverwrittenByKeygen() throws {
        let keyPath = temporaryKeyPath()
        var store = FileSignerStateStore(keyPath: keyPath)
        try store.createInitialRecord()
        #expect(throws: SignerError(.refused, "")) { try store.createInitialRecord() }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store.path)))
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: store.path))
        #expect(throws: SignerError(.recordCorrupt, "")) { _ = try store.load() }
    }
}
