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

/// A validator set, sorted by public key: genesis's, or one a governance change put in force
/// (`ValidatorSchedule`).
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

    /// What keeps `validators` from being a set (nil: nothing): 1 to `BlockLimits.validatorsMax`
    /// validators, names of 1–64 bytes and organisations of at most 128, unique names and keys,
    /// positive powers whose total stays at most a third of 2⁶⁴ (a governance proposal's check;
    /// genesis checks the same while it reads its JSON).
    public static func problem(_ validators: [Validator]) -> String? {
        guard !validators.isEmpty, validators.count <= BlockLimits.validatorsMax else {
            return "a validator set needs 1 to \(BlockLimits.validatorsMax) validators, found \(validators.count)"
        }
        var total: UInt64 = 0
        for (index, validator) in validators.enumerated() {
            guard !validator.name.isEmpty, validator.name.utf8.count <= 64, validator.organisation.utf8.count <= 128 else {
                return "validator '\(validator.name)': name must be 1–64 bytes and organisation at most 128"
            }
            guard validator.votingPower > 0 else { return "validator '\(validator.name)' has voting power 0" }
            guard let sum = total.adding(validator.votingPower), sum <= UInt64.max / 3 else { return "total voting power overflows" }
            total = sum
            guard !validators[..<index].contains(where: { $0.publicKey == validator.publicKey || $0.name == validator.name }) else {
                return "validator '\(validator.name)' repeats a name or key"
            }
        }
        return nil
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
