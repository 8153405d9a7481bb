/// A validator named in genesis: who runs it, its consensus key and its voting power.
public struct Validator: Sendable, Hashable, CanonicalCodable {
    public var name: String
    public var organisation: String
    public var publicKey: PublicKey
    public var votingPower: UInt64

    public init(name: String, organisation: String, publicKey: PublicKey, votingPower: UInt64) {
        self.name = name
        self.organisation = organisation
        self.publicKey = publicKey
        self.votingPower = votingPower
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(name, organisation, publicKey, votingPower) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        name = try decoder.decodeString(maxBytes: 64)
        organisation = try decoder.decodeString(maxBytes: 128)
        publicKey = try decoder.decode(PublicKey.self)
        votingPower = try decoder.decodeUInt64()
    }
}

/// The fixed validator set, sorted by public key.
public struct ValidatorSet: Sendable, Hashable {
    public let validators: [Validator]
    public let totalVotingPower: UInt64

    /// Sorts the validators by key. Preconditions (checked by genesis validation): keys are
    /// unique, powers positive, and the total fits in 64 bits.
    public init(_ validators: [Validator]) {
        self.validators = validators.sorted { $0.publicKey < $1.publicKey }
        var total: UInt64 = 0
        for validator in validators {
            total = total.adding(validator.votingPower) ?? UInt64.max
        }
        totalVotingPower = total
    }

    public func validator(for key: PublicKey) -> Validator? {
        validators.first { $0.publicKey == key }
    }

    /// More than 2/3 of the total voting power: 3 × power > 2 × total, in 128-bit arithmetic.
    public func isQuorum(_ power: UInt64) -> Bool {
        let (highLeft, lowLeft) = UInt64(3).multipliedFullWidth(by: power)
        let (highRight, lowRight) = UInt64(2).multipliedFullWidth(by: totalVotingPower)
        return highLeft > highRight || (highLeft == highRight && lowLeft > lowRight)
    }

    /// Commits to keys and powers only (names may be corrected without changing consensus).
    public var hash: Hash {
        var encoder = Encoder()
        encoder.encode(UInt32(validators.count))
        for validator in validators {
            encoder.encode(validator.publicKey)
            encoder.encode(validator.votingPower)
        }
        return Hash.tagged(.validatorSet, encoder.bytes)
    }

    /// Weighted round-robin is the consensus issue's; with one round per height the
    /// proposer of a height is chosen by height modulo the number of validators.
    public func proposer(height: UInt64, round: UInt32) -> Validator {
        let index = Int((height &+ UInt64(round)) % UInt64(validators.count))
        return validators[index]
    }
}
