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
}
