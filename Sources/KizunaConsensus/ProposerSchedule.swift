public import KizunaCore

/// Weighted round-robin proposer selection: a smooth weighted round-robin over one period,
/// computed once, so `proposer(height:round:)` is a pure function (see `docs/consensus.md`, §5).
public struct ProposerSchedule: Sendable, Hashable {
    /// The longest period built; larger sets of powers are scaled down first.
    public static let periodSlotsMax: UInt64 = 65_536

    /// Indexes into `ValidatorSet.validators`, one per slot of the period.
    public let slots: [Int]
    public let validators: [Validator]

    public init(_ set: ValidatorSet) {
        precondition(!set.validators.isEmpty, "a validator set is never empty")
        validators = set.validators
        var weights = set.validators.map(\.votingPower)
        var divisor: UInt64 = 0
        for weight in weights { divisor = Self.gcd(divisor, weight) }
        weights = weights.map { $0 / max(divisor, 1) }
        var total = weights.reduce(UInt64(0)) { $0.addingReportingOverflow($1).partialValue }
        if total > Self.periodSlotsMax || total == 0 {
            let original = set.validators.map(\.votingPower)
            let originalTotal = set.totalVotingPower
            weights = original.map { power in
                let (high, low) = power.multipliedFullWidth(by: Self.periodSlotsMax / UInt64(original.count))
                let scaled = originalTotal.dividingFullWidth((high, low)).quotient
                return max(scaled, 1)
            }
            total = weights.reduce(0, +)
        }
        // Smooth weighted round-robin: priority += weight; pick the highest (ties: lowest key,
        // i.e. lowest index since the set is sorted by key); the picked one loses `total`.
        var priorities = [Int64](repeating: 0, count: weights.count)
        var slots: [Int] = []
        slots.reserveCapacity(Int(total))
        for _ in 0..<total {
            for index in weights.indices { priorities[index] += Int64(weights[index]) }
            var best = 0
            for index in weights.indices.dropFirst() where priorities[index] > priorities[best] { best = index }
            priorities[best] -= Int64(total)
            slots.append(best)
        }
        self.slots = slots
    }

    /// The validator that proposes in `round` at `height`.
    public func proposer(height: UInt64, round: UInt32) -> Validator {
        let slot = (height % UInt64(slots.count) + UInt64(round) % UInt64(slots.count)) % UInt64(slots.count)
        return validators[slots[Int(slot)]]
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
