import Foundation
import KizunaCore
import Testing

@Suite("Validator sets, votes and commit certificates")
struct ConsensusTypesTests {
    static func set(_ powers: [UInt64]) -> ValidatorSet {
        ValidatorSet(powers.enumerated().map { index, power in
            Validator(name: "v\(index)", organisation: "org", publicKey: Fixtures.testKey("validator \(index)").publicKey, votingPower: power)
        })
    }

    @Test func quorumEdges() {
        let four = ConsensusTypesTests.set([1, 1, 1, 1])
        #expect(four.totalVotingPower == 4)
        #expect(four.isQuorum(3))
        #expect(!four.isQuorum(2))
        #expect(four.isQuorum(4))
        #expect(!four.isQuorum(0))
        // Exactly 2/3 is not more than 2/3.
        let three = ConsensusTypesTests.set([1, 1, 1])
        #expect(!three.isQuorum(2))
        #expect(three.isQuorum(3))
        let one = ConsensusTypesTests.set([10])
        #expect(one.isQuorum(10))
        #expect(!one.isQuorum(6))
        #expect(one.isQuorum(7))
        // Weighted: 100 total; 67 is a quorum, 66 is not (3·66 = 198 < 200).
        let weighted = ConsensusTypesTests.set([40, 30, 20, 10])
        #expect(weighted.isQuorum(67))
        #expect(!weighted.isQuorum(66))
    }

    @Test func hugePowersDoNotOverflow() {
        // 3 × power and 2 × total exceed 64 bits; the comparison is in 128 bits.
        let power = UInt64(1) << 61
        let big = ConsensusTypesTests.set([power, power, power, power])
        #expect(big.totalVotingPower == power * 4)
        #expect(big.isQuorum(power * 3))
        #expect(!big.isQuorum(power * 2))
        #expect(!big.isQuorum(power * 2 + power / 3 * 2))
        let third = UInt64.max / 3
        let maximal = ConsensusTypesTests.set([third, third, third])
        #expect(maximal.isQuorum(UInt64.max - 1))
        #expect(!maximal.isQuorum(third * 2))
        #expect(maximal.isQuorum(third * 2 + 1))
        #expect(ConsensusTypesTests.set([UInt64.max]).isQuorum(UInt64.max))
    }

    @Test func validatorSetIsSortedAndHashesKeysAndPowersOnly() {
        let validators = Fixtures.validators
        let set = ValidatorSet(validators)
        #expect(set.validators.map(\.publicKey) == validators.map(\.publicKey).sorted())
        #expect(ValidatorSet(validators.reversed()).hash == set.hash)
        var renamed = validators
        renamed[0].name = "renamed"
        renamed[1].organisation = "other"
        #expect(ValidatorSet(renamed).hash == set.hash)
        var repowered = validators
        repowered[0].votingPower = 2
        #expect(ValidatorSet(repowered).hash != set.hash)
        // By hand: tag, count, then key ‖ power for each validator in key order.
        var input: [UInt8] = [0, 0, 0, 4]
        for validator in set.validators {
            input += validator.publicKey.bytes + [0, 0, 0, 0, 0, 0, 0, 1]
        }
        #expect(set.hash == Fixtures.handTagged("KIZUNA/VALSET/V1", input))
        #expect(set.validator(for: validators[2].publicKey)?.name == validators[2].name)
        #expect(set.validator(for: VectorGenerator.pub("resident-1")) == nil)
        // Proposer rotation: (height + round) mod count, in key order.
        #expect(set.proposer(height: 0, round: 0) == set.validators[0])
        #expect(set.proposer(height: 1, round: 0) == set.validators[1])
        #expect(set.proposer(height: 4, round: 1) == set.validators[1])
        #expect(set.proposer(height: 7, round: 0) == set.validators[3])
    }

    @Test func validatorEncoding() throws {
        let validator = Fixtures.validators[0]
        let bytes = validator.canonicalBytes
        #expect(try Validator(canonicalBytes: bytes) == validator)
        #expect(bytes.count == 4 + validator.name.utf8.count + 4 + validator.organisation.utf8.count + 32 + 8)
    }

    @Test func voteSigningBytesLayout() {
        let hash = Fixtures.hash("block")
        let bytes = voteSigningBytes(chainId: "c", height: 0x0102, round: 3, step: .prevote, blockHash: hash)
        let expected = Array("KIZUNA/VOTE/V1".utf8) + [0] + [0, 0, 0, 1, 0x63] + [0, 0, 0, 0, 0, 0, 1, 2] + [0, 0, 0, 3] + [2] + hash.bytes
        #expect(bytes == expected)
        #expect(bytes != voteSigningBytes(chainId: "c", height: 0x0102, round: 3, step: .precommit, blockHash: hash))
    }

    // MARK: Certificates

    let chainId = Fixtures.chainId
    let blockHash = Fixtures.hash("a block")
    let validators = Fixtures.validatorSet

    func precommits(_ names: [String], height: UInt64 = 5, round: UInt32 = 0, blockHash: Hash? = nil, chainId: String? = nil) -> [CommitSignature] {
        names.map { CommitCertificate.precommit(chainId: chainId ?? self.chainId, height: height, round: round, blockHash: blockHash ?? self.blockHash, key: Fixtures.key($0)) }
    }

    func verify(_ certificate: CommitCertificate, height: UInt64 = 5, blockHash: Hash? = nil) -> CertificateError.Code? {
        certificateErrorCode { () throws(CertificateError) in
            try certificate.verify(chainId: chainId, height: height, blockHash: blockHash ?? self.blockHash, validators: validators)
        }
    }

    @Test func certificateAccepted() throws {
        let three = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(["validator-bank", "validator-city", "validator-operator"]))
        #expect(verify(three) == nil)
        #expect(three.signatures.map(\.validator) == three.signatures.map(\.validator).sorted())
        let four = CommitCertificate(height: 5, round: 2, blockHash: blockHash, signatures: precommits(Fixtures.validatorNames, round: 2))
        #expect(verify(four) == nil)
        #expect(try CommitCertificate(canonicalBytes: four.canonicalBytes) == four)
        #expect(four.hash == Fixtures.handTagged("KIZUNA/CERT/V1", four.canonicalBytes))
    }

    @Test func certificateErrors() {
        let names = ["validator-city", "validator-chamber", "validator-operator"]
        let good = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(names))
        #expect(verify(good, height: 6) == .wrongHeight)
        #expect(verify(good, blockHash: Fixtures.hash("another block")) == .wrongBlock)

        let two = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(Array(names.prefix(2))))
        #expect(verify(two) == .insufficientPower)
        let none = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: [])
        #expect(verify(none) == .insufficientPower)

        let stranger = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(names + ["resident-1"]))
        #expect(verify(stranger) == .unknownValidator)

        let duplicate = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(["validator-city", "validator-city", "validator-bank"]))
        #expect(verify(duplicate) == .duplicateVote)
        // Two copies of one validator's vote never add up to a quorum, and decoding refuses them too.
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try CommitCertificate(canonicalBytes: duplicate.canonicalBytes) } == .invalidValue)

        var forged = good
        var raw = forged.signatures[1].signature.bytes
        raw[5] ^= 0x10
        forged.signatures[1].signature = Signature(raw)!
        #expect(verify(forged) == .badSignature)

        // Signatures over a different round, height, step, chain or block do not verify.
        let otherRound = CommitCertificate(height: 5, round: 1, blockHash: blockHash, signatures: precommits(names, round: 0))
        #expect(verify(otherRound) == .badSignature)
        let otherHeight = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(names, height: 4))
        #expect(verify(otherHeight) == .badSignature)
        let otherChain = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(names, chainId: "local-kizuna-2"))
        #expect(verify(otherChain) == .badSignature)
        let otherBlock = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(names, blockHash: Fixtures.hash("x")))
        #expect(verify(otherBlock) == .badSignature)
        let prevotes = names.map { name in
            let key = Fixtures.key(name)
            return CommitSignature(validator: key.publicKey, signature: key.sign(voteSigningBytes(chainId: chainId, height: 5, round: 0, step: .prevote, blockHash: blockHash)))
        }
        #expect(verify(CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: prevotes)) == .badSignature)
    }

    @Test func certificateDecodingRefusesUnsortedSignatures() {
        let good = CommitCertificate(height: 5, round: 0, blockHash: blockHash, signatures: precommits(Fixtures.validatorNames))
        var bytes = good.canonicalBytes
        let listStart = 8 + 4 + 32 + 4
        let entry = 32 + 64
        let first = Array(bytes[listStart..<listStart + entry])
        let second = Array(bytes[listStart + entry..<listStart + 2 * entry])
        bytes.replaceSubrange(listStart..<listStart + 2 * entry, with: second + first)
        #expect(decodingErrorCode { () throws(DecodingError) in _ = try CommitCertificate(canonicalBytes: bytes) } == .invalidValue)
    }
}
