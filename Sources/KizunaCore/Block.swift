/// Limits on blocks, unit last.
public enum BlockLimits {
    public static let transactionsMax = 10_000
    public static let validatorsMax = 128
    /// The largest encoded block a node accepts.
    public static let blockBytesMax = 8 * 1024 * 1024
}

/// A block header (see `docs/wire-format.md`). The block hash is the tagged SHA-256 of its
/// encoding; the state root is the root of the state *after* this block's transactions.
public struct BlockHeader: Sendable, Hashable, CanonicalCodable {
    public var chainId: String
    public var height: UInt64
    public var previousBlockHash: Hash
    /// Milliseconds since 1970-01-01 UTC; the only time the ledger knows.
    public var timestamp: UInt64
    public var transactionsRoot: Hash
    public var stateRoot: Hash
    public var proposer: PublicKey
    public var validatorSetHash: Hash
    /// Hash of the commit certificate of the parent block carried in this block (zero at height 1).
    public var lastCommitHash: Hash

    public init(chainId: String, height: UInt64, previousBlockHash: Hash, timestamp: UInt64, transactionsRoot: Hash, stateRoot: Hash, proposer: PublicKey, validatorSetHash: Hash, lastCommitHash: Hash) {
        self.chainId = chainId
        self.height = height
        self.previousBlockHash = previousBlockHash
        self.timestamp = timestamp
        self.transactionsRoot = transactionsRoot
        self.stateRoot = stateRoot
        self.proposer = proposer
        self.validatorSetHash = validatorSetHash
        self.lastCommitHash = lastCommitHash
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(chainId, height, previousBlockHash, timestamp, transactionsRoot, stateRoot, proposer, validatorSetHash, lastCommitHash) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        chainId = try decoder.decodeString(maxBytes: TransactionLimits.chainIdBytesMax)
        height = try decoder.decodeUInt64()
        previousBlockHash = try decoder.decodeHash()
        timestamp = try decoder.decodeUInt64()
        transactionsRoot = try decoder.decodeHash()
        stateRoot = try decoder.decodeHash()
        proposer = try decoder.decode(PublicKey.self)
        validatorSetHash = try decoder.decodeHash()
        lastCommitHash = try decoder.decodeHash()
    }

    public var hash: Hash { Hash.tagged(.block, canonicalBytes) }
}

/// A block: header, transactions in execution order, and the certificate that committed
/// the parent block (absent at height 1).
public struct Block: Sendable, Hashable, CanonicalCodable {
    public var header: BlockHeader
    public var transactions: [SignedTransaction]
    public var lastCommit: CommitCertificate?

    public init(header: BlockHeader, transactions: [SignedTransaction], lastCommit: CommitCertificate?) {
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
    }

    public var hash: Hash { header.hash }
    public var height: UInt64 { header.height }

    public func encode(to encoder: inout Encoder) { encoder.encode(header, transactions, lastCommit) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        header = try decoder.decode(BlockHeader.self)
        transactions = try decoder.decodeList(SignedTransaction.self, maxCount: BlockLimits.transactionsMax)
        lastCommit = try decoder.decodeOptional(CommitCertificate.self)
    }

    /// Merkle root of the transaction ids (RFC 6962 shape, tagged leaves and nodes).
    public static func transactionsRoot(_ ids: [Hash]) -> Hash {
        guard !ids.isEmpty else { return Hash.zero }
        var level = ids.map { Hash.tagged(.transactionsLeaf, $0.bytes) }
        while level.count > 1 {
            var next: [Hash] = []
            next.reserveCapacity((level.count + 1) / 2)
            var index = 0
            while index < level.count {
                if index + 1 < level.count {
                    next.append(Hash.tagged(.transactionsNode, level[index].bytes, level[index + 1].bytes))
                } else {
                    // An odd node is promoted unchanged, as in RFC 6962.
                    next.append(level[index])
                }
                index += 2
            }
            level = next
        }
        return level[0]
    }
}

/// The step of a consensus vote. Part of what a vote signs.
public enum VoteStep: UInt8, Sendable, Hashable, CanonicalTag {
    case proposal = 1
    case prevote = 2
    case precommit = 3

    public static let tagName = "vote step"
}

/// The bytes a validator signs for a vote: chain id, height, round, step and block hash
/// (zero hash for a vote for no block).
public func voteSigningBytes(chainId: String, height: UInt64, round: UInt32, step: VoteStep, blockHash: Hash) -> [UInt8] {
    var encoder = Encoder()
    encoder.encodeFixed(HashDomain.vote.prefix)
    encoder.encode(chainId, height, round, step, blockHash)
    return encoder.bytes
}

/// One validator's precommit signature inside a certificate.
public struct CommitSignature: Sendable, Hashable, CanonicalCodable {
    public var validator: PublicKey
    public var signature: Signature

    public init(validator: PublicKey, signature: Signature) {
        self.validator = validator
        self.signature = signature
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(validator, signature) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        validator = try decoder.decode(PublicKey.self)
        signature = try decoder.decode(Signature.self)
    }
}

/// Precommits by more than 2/3 of the voting power for one block at one height and round.
/// Signatures are sorted by validator key with no duplicates (checked when decoding).
public struct CommitCertificate: Sendable, Hashable, CanonicalCodable {
    public var height: UInt64
    public var round: UInt32
    public var blockHash: Hash
    public var signatures: [CommitSignature]

    public init(height: UInt64, round: UInt32, blockHash: Hash, signatures: [CommitSignature]) {
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.signatures = signatures.sorted { $0.validator < $1.validator }
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(height, round, blockHash, signatures) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        height = try decoder.decodeUInt64()
        round = try decoder.decodeUInt32()
        blockHash = try decoder.decodeHash()
        let listStart = decoder.offset
        signatures = try decoder.decodeList(CommitSignature.self, maxCount: BlockLimits.validatorsMax)
        for index in signatures.indices.dropFirst() where !(signatures[index - 1].validator < signatures[index].validator) {
            throw decoder.invalid("certificate signatures must be sorted by validator key without duplicates", at: listStart)
        }
    }

    public var hash: Hash { Hash.tagged(.certificate, canonicalBytes) }

    /// Signs a precommit for `blockHash` and returns the signature entry.
    public static func precommit(chainId: String, height: UInt64, round: UInt32, blockHash: Hash, key: PrivateKey) -> CommitSignature {
        let message = voteSigningBytes(chainId: chainId, height: height, round: round, step: .precommit, blockHash: blockHash)
        return CommitSignature(validator: key.publicKey, signature: key.sign(message))
    }

    /// Checks that the certificate commits `blockHash` at `height` with valid signatures from
    /// members of `validators` holding more than 2/3 of the voting power.
    public func verify(chainId: String, height expectedHeight: UInt64, blockHash expectedHash: Hash, validators: ValidatorSet) throws(CertificateError) {
        guard height == expectedHeight else {
            throw CertificateError(.wrongHeight, "certificate is for height \(height), expected \(expectedHeight)")
        }
        guard blockHash == expectedHash else {
            throw CertificateError(.wrongBlock, "certificate commits block \(blockHash), expected \(expectedHash)")
        }
        var power: UInt64 = 0
        var previous: PublicKey?
        let message = voteSigningBytes(chainId: chainId, height: height, round: round, step: .precommit, blockHash: blockHash)
        for entry in signatures {
            if let previous, !(previous < entry.validator) {
                throw CertificateError(.duplicateVote, "validator \(entry.validator.address) appears twice or out of order")
            }
            previous = entry.validator
            guard let validator = validators.validator(for: entry.validator) else {
                throw CertificateError(.unknownValidator, "\(entry.validator.address) is not a validator")
            }
            guard entry.validator.isValidSignature(entry.signature, for: message) else {
                throw CertificateError(.badSignature, "the precommit of \(validator.name) does not verify")
            }
            power = power.adding(validator.votingPower) ?? UInt64.max
        }
        guard validators.isQuorum(power) else {
            throw CertificateError(.insufficientPower, "signed voting power \(power) of \(validators.totalVotingPower) is not more than 2/3")
        }
    }
}

/// A rejected commit certificate. Compares on the code only.
public typealias CertificateError = CodedError<CertificateErrorCode>

/// The codes of `CertificateError`.
public enum CertificateErrorCode: String, ErrorCode {
    case wrongHeight = "certificate.wrong_height"
    case wrongBlock = "certificate.wrong_block"
    case duplicateVote = "certificate.duplicate_vote"
    case unknownValidator = "certificate.unknown_validator"
    case badSignature = "certificate.bad_signature"
    case insufficientPower = "certificate.insufficient_power"
}
