import KizunaConsensus
import KizunaCore
import Testing

/// The state machine across a validator-set change (ADR 0018): it moves to the set of the new
/// height inside its commit, as it moves to the height; a removed validator stops being a
/// voter and its precommits no longer make a certificate; an added one starts.
@Suite("Validator schedule in the state machine")
struct ValidatorScheduleTests {
    let keys = Fixture(powers: [1, 1, 1, 1, 1]).keys
    var old: ValidatorSet { ValidatorSet(keys.prefix(4).enumerated().map { Validator(name: "v\($0)", organisation: "test", publicKey: $1.publicKey, votingPower: 1) }) }
    var next: ValidatorSet { ValidatorSet([0, 1, 2, 4].map { Validator(name: "v\($0)", organisation: "test", publicKey: keys[$0].publicKey, votingPower: 1) }) }

    func certificate(_ block: Block, by signers: [PrivateKey]) -> CommitCertificate {
        CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: signers.sorted { $0.publicKey < $1.publicKey }.map {
            CommitCertificate.precommit(chainId: Fixture.chainId, height: block.height, round: 0, blockHash: block.hash, key: $0)
        })
    }

    func block(_ height: UInt64, parent: Hash, proposer: PrivateKey, set: ValidatorSet, lastCommit: CommitCertificate?) -> Block {
        Block(header: BlockHeader(chainId: Fixture.chainId, height: height, previousBlockHash: parent, timestamp: Fixture.genesisTime + height * 1000,
                                  transactionsRoot: .zero, stateRoot: .zero, proposer: proposer.publicKey, validatorSetHash: set.hash, lastCommitHash: lastCommit?.hash ?? .zero),
              transactions: [], lastCommit: lastCommit)
    }

    @Test("from the effective height the newcomer votes, the removed validator does not, and only the new set's precommits commit")
    func setChangesAtItsHeight() {
        var schedule = ValidatorSchedule(genesis: old)
        schedule.schedule(ValidatorSetChange(effectiveHeight: 2, validators: next.validators))
        let configuration = ConsensusConfiguration(chainId: Fixture.chainId)
        var newcomer = ConsensusStateMachine(configuration: configuration, validators: old, validatorSchedule: schedule, ownKey: keys[4].publicKey,
                                             verifier: Ed25519Verifier(), tip: .genesis(timestampMilliseconds: Fixture.genesisTime))
        var leaving = ConsensusStateMachine(configuration: configuration, validators: old, validatorSchedule: schedule, ownKey: keys[3].publicKey,
                                            verifier: Ed25519Verifier(), tip: .genesis(timestampMilliseconds: Fixture.genesisTime))
        #expect(newcomer.ownKey == nil && newcomer.validators == old)
        #expect(leaving.ownKey == keys[3].publicKey)
        _ = newcomer.handle(.start)
        _ = leaving.handle(.start)

        // Height 1, decided by the old set (the newcomer's signature would not count).
        let one = block(1, parent: .zero, proposer: keys[0], set: old, lastCommit: nil)
        _ = newcomer.handle(.decisionReceived(one, certificate(one, by: [keys[0], keys[1], keys[4]])))
        #expect(newcomer.height == 1, "a certificate with the newcomer's signature committed a block of the old set")
        let oneCertificate = certificate(one, by: [keys[0], keys[1], keys[3]])
        _ = newcomer.handle(.decisionReceived(one, oneCertificate))
        _ = leaving.handle(.decisionReceived(one, oneCertificate))
        #expect(newcomer.height == 2 && leaving.height == 2)
        #expect(newcomer.validators == next && leaving.validators == next)
        #expect(newcomer.ownKey == keys[4].publicKey, "the newcomer votes from the effective height")
        #expect(leaving.ownKey == nil, "the removed validator no longer votes")

        // Height 2: three of the old set, the removed validator among them, is no quorum.
        let two = block(2, parent: one.hash, proposer: keys[1], set: next, lastCommit: oneCertificate)
        _ = newcomer.handle(.decisionReceived(two, certificate(two, by: [keys[0], keys[1], keys[3]])))
        #expect(newcomer.height == 2, "the removed validator's precommit counted")
        _ = newcomer.handle(.decisionReceived(two, certificate(two, by: [keys[0], keys[1], keys[4]])))
        #expect(newcomer.height == 3)
    }

    @Test("the schedule: the set in force at each height, the pending change, every key from a height on")
    func schedule() {
        var schedule = ValidatorSchedule(genesis: old)
        #expect(schedule.set(at: 1) == old && schedule.set(at: 1_000) == old && schedule.pending(at: 1) == nil)
        schedule.schedule(ValidatorSetChange(effectiveHeight: 20, validators: next.validators))
        #expect(schedule.set(at: 19) == old && schedule.set(at: 20) == next)
        #expect(schedule.pending(at: 19)?.from == 20 && schedule.pending(at: 20) == nil)
        #expect(schedule.keys(from: 5) == Set(keys.map(\.publicKey)))
        #expect(schedule.keys(from: 20) == Set(next.validators.map(\.publicKey)))
        #expect(schedule.changes == [ValidatorSetChange(effectiveHeight: 20, validators: next.validators)])
    }
}
