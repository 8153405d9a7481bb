import KizunaCore

/// The kinds of fault the simulator injects.
public enum FaultKind: String, Sendable, Hashable, CaseIterable {
    case none
    case loss
    case delay
    case reorder
    case duplication
    case partition
    case crashRestart
    case clockSkew
    case byzantineEquivocate
    case byzantineSilent
    case mixed
}

/// What a byzantine validator does.
public enum ByzantineBehavior: String, Sendable, Hashable {
    /// Double proposals (a different block for each peer) and double votes (each peer gets a
    /// vote for the block it was shown; sometimes a conflicting nil vote too).
    case equivocate
    /// Never sends anything.
    case silent
}

/// A network partition between `startMilliseconds` and `endMilliseconds`: nodes with
/// different group numbers cannot reach each other.
public struct PartitionFault: Sendable, Hashable {
    public var startMilliseconds: UInt64
    public var endMilliseconds: UInt64
    public var groupOfNode: [Int]
}

/// A crash at `atMilliseconds` and a restart `downMilliseconds` later.
public struct CrashFault: Sendable, Hashable {
    public var node: Int
    public var atMilliseconds: UInt64
    public var downMilliseconds: UInt64
}

/// A crash at one of a node's journal writes, with what of that write reached the disk, and a
/// restart `downMilliseconds` later.
public struct JournalCrashFault: Sendable, Hashable {
    /// Which write, counted from the node's first boot across restarts.
    public enum Point: Sendable, Hashable, CustomStringConvertible {
        /// The n-th write of any kind (signatures with their message and lock, peers' votes).
        case write(Int)
        /// The n-th signature's write.
        case signature(Int)

        public var description: String {
            switch self {
            case .write(let number): "journal write \(number)"
            case .signature(let number): "the write of signature \(number)"
            }
        }
    }

    /// What of the write in progress survives the crash.
    public enum Landing: String, Sendable, Hashable, CaseIterable {
        /// Nothing: the crash came before the write.
        case nothing
        /// All of it: the crash came after the write, before anything was sent.
        case everything
        /// Only the signer record, not the message or the lock: a journal that writes them in
        /// two steps (as Kizuna did before the journal became one write). The shipped journal
        /// cannot tear like this; the simulator keeps the case so the restart rule for such a
        /// record (`SignerSafetyRecord.restartPlan`) stays tested.
        case recordOnly = "record only"
    }

    public var node: Int
    public var at: Point
    public var landing: Landing
    public var downMilliseconds: UInt64

    public init(node: Int, at: Point, landing: Landing, downMilliseconds: UInt64) {
        self.node = node
        self.at = at
        self.landing = landing
        self.downMilliseconds = downMilliseconds
    }
}

/// Everything one simulation does, derived from its seed (or built by hand in tests).
public struct SimulationScenario: Sendable, Hashable, CustomStringConvertible {
    public var seed: UInt64
    public var kind: FaultKind
    public var powers: [UInt64]
    public var lossPerMille: UInt64 = 0
    public var duplicatePerMille: UInt64 = 0
    public var delayMilliseconds: ClosedRange<UInt64> = 5...40
    public var partitions: [PartitionFault] = []
    public var crashes: [CrashFault] = []
    public var journalCrashes: [JournalCrashFault] = []
    /// Journal writes that fail (an I/O error: nothing lands, the node goes on), per mille.
    public var journalFailurePerMille: UInt64 = 0
    /// Per node, added to the simulated time to give its local clock.
    public var clockSkewMilliseconds: [Int64]
    public var byzantine: [Int: ByzantineBehavior] = [:]
    /// Every honest node must commit at least this many blocks…
    public var heightsTarget: UInt64 = 8
    /// …and at least this many more after the last fault heals.
    public var heightsAfterHeal: UInt64 = 3
    /// Liveness: the targets must be met within this much simulated time after the heal.
    public var livenessBoundMilliseconds: UInt64 = 120_000
    public var faultInjection: ConsensusFaultInjection = .none
    /// False breaks the signer on purpose: its record is only synced at commit.
    public var signerSyncs = true

    public init(seed: UInt64, kind: FaultKind, powers: [UInt64]) {
        self.seed = seed
        self.kind = kind
        self.powers = powers
        self.clockSkewMilliseconds = Array(repeating: 0, count: powers.count)
    }

    /// When the last partition heals and the last crashed node is back.
    public var faultsEndMilliseconds: UInt64 {
        var end: UInt64 = 0
        for partition in partitions { end = max(end, partition.endMilliseconds) }
        for crash in crashes { end = max(end, crash.atMilliseconds + crash.downMilliseconds) }
        // A crash after a signature happens when the node gets there; allow the fault window.
        for crash in journalCrashes { end = max(end, 20_000 + crash.downMilliseconds) }
        return end
    }

    public var description: String {
        var parts = ["seed \(seed)", "kind \(kind.rawValue)", "powers \(powers)"]
        if lossPerMille > 0 { parts.append("loss \(lossPerMille)‰") }
        if duplicatePerMille > 0 { parts.append("duplication \(duplicatePerMille)‰") }
        parts.append("delay \(delayMilliseconds.lowerBound)–\(delayMilliseconds.upperBound) ms")
        for partition in partitions { parts.append("partition \(partition.groupOfNode) \(partition.startMilliseconds)–\(partition.endMilliseconds) ms") }
        for crash in crashes { parts.append("crash node \(crash.node) at \(crash.atMilliseconds) ms for \(crash.downMilliseconds) ms") }
        for crash in journalCrashes { parts.append("crash node \(crash.node) at \(crash.at) (landed: \(crash.landing.rawValue)) for \(crash.downMilliseconds) ms") }
        if journalFailurePerMille > 0 { parts.append("journal writes failing \(journalFailurePerMille)‰") }
        if clockSkewMilliseconds.contains(where: { $0 != 0 }) { parts.append("skew \(clockSkewMilliseconds) ms") }
        for node in byzantine.keys.sorted() { parts.append("node \(node) \(byzantine[node]!.rawValue)") }
        if faultInjection != .none { parts.append("MUTATION \(faultInjection)") }
        if !signerSyncs { parts.append("MUTATION signer without fsync") }
        return parts.joined(separator: ", ")
    }

    /// The scenario of a seed: the fault kind cycles with the seed, the rest is drawn from
    /// `SplitMix64(seed)`.
    public static func generate(seed: UInt64) -> SimulationScenario {
        let kinds = FaultKind.allCases
        let kind = kinds[Int(seed % UInt64(kinds.count))]
        let weighted = (seed / UInt64(kinds.count)) % 3 == 2
        return generate(seed: seed, kind: kind, powers: weighted ? [5, 3, 2, 2, 1] : [1, 1, 1, 1])
    }

    public static func generate(seed: UInt64, kind: FaultKind, powers: [UInt64]) -> SimulationScenario {
        var random = SplitMix64(seed: seed ^ 0x5eed_5eed_5eed_5eed)
        var scenario = SimulationScenario(seed: seed, kind: kind, powers: powers)
        let count = powers.count
        let faultWindowMilliseconds: UInt64 = 20_000
        func apply(_ kind: FaultKind) {
            switch kind {
            case .none:
                break
            case .loss:
                scenario.lossPerMille = random.inRange(50...300)
            case .delay:
                scenario.delayMilliseconds = 5...random.inRange(300...1500)
            case .reorder:
                scenario.delayMilliseconds = 0...random.inRange(100...400)
            case .duplication:
                scenario.duplicatePerMille = random.inRange(100...500)
            case .partition:
                for _ in 0..<random.inRange(1...2) {
                    let start = random.below(faultWindowMilliseconds)
                    let length = random.inRange(1_000...8_000)
                    let groups = (0..<count).map { _ in Int(random.below(2)) }
                    scenario.partitions.append(PartitionFault(startMilliseconds: start, endMilliseconds: start + length, groupOfNode: groups))
                }
            case .crashRestart:
                for _ in 0..<random.inRange(1...3) {
                    scenario.crashes.append(CrashFault(node: Int(random.below(UInt64(count))), atMilliseconds: random.below(faultWindowMilliseconds), downMilliseconds: random.inRange(200...6_000)))
                }
            case .clockSkew:
                scenario.clockSkewMilliseconds = (0..<count).map { _ in Int64(random.inRange(0...3_000)) - 1_500 }
                // One node further off than the timeliness bounds: its proposals are refused.
                let far = Int(random.below(UInt64(count)))
                if scenario.byzantine[far] == nil, faultyPowerAllows(adding: far, to: scenario) {
                    scenario.clockSkewMilliseconds[far] = 6_000
                }
            case .byzantineEquivocate, .byzantineSilent:
                let behavior: ByzantineBehavior = kind == .byzantineSilent ? .silent : .equivocate
                var order = Array(0..<count)
                for index in order.indices.reversed() {
                    order.swapAt(index, Int(random.below(UInt64(index + 1))))
                }
                for node in order where faultyPowerAllows(adding: node, to: scenario) {
                    scenario.byzantine[node] = behavior
                    if random.chance(perMille: 500) { break }
                }
            case .mixed:
                break
            }
        }
        if kind == .mixed {
            for part in [FaultKind.loss, .reorder, .duplication, .partition, .crashRestart, .byzantineEquivocate] where random.chance(perMille: 700) {
                apply(part)
            }
            scenario.clockSkewMilliseconds = (0..<count).map { _ in Int64(random.inRange(0...1_000)) - 500 }
        } else {
            apply(kind)
        }
        // Crashes at journal writes and failing writes, from streams of their own so that the
        // draws above (and every seed's earlier scenarios) are unchanged.
        if !scenario.crashes.isEmpty {
            var journalRandom = SplitMix64(seed: seed ^ 0x5349_474E_4C4F_4721)
            for _ in 0..<journalRandom.inRange(0...2) {
                let node = Int(journalRandom.below(UInt64(count)))
                let write = Int(journalRandom.inRange(1...200))
                let landing = JournalCrashFault.Landing.allCases[Int(journalRandom.below(3))]
                scenario.journalCrashes.append(JournalCrashFault(node: node, at: .write(write), landing: landing, downMilliseconds: journalRandom.inRange(200...6_000)))
            }
            var diskRandom = SplitMix64(seed: seed ^ 0x4449_534B_4641_554C)
            if diskRandom.chance(perMille: 500) { scenario.journalFailurePerMille = diskRandom.inRange(5...50) }
        }
        // A byzantine node is never also crashed (it is faulty already).
        let byzantine = scenario.byzantine
        scenario.crashes.removeAll { byzantine[$0.node] != nil }
        scenario.journalCrashes.removeAll { byzantine[$0.node] != nil }
        return scenario
    }

    /// True if making `node` faulty keeps the faulty power below one third.
    static func faultyPowerAllows(adding node: Int, to scenario: SimulationScenario) -> Bool {
        let total = scenario.powers.reduce(0, +)
        var faulty = scenario.powers[node]
        for (index, skew) in scenario.clockSkewMilliseconds.enumerated() where index != node && abs(skew) > 2_000 {
            faulty += scenario.powers[index]
        }
        for other in scenario.byzantine.keys where other != node { faulty += scenario.powers[other] }
        return 3 * faulty < total
    }
}

/// A checker's finding.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case agreement
        case validity
        case doubleSign = "double-sign"
        case liveness
    }

    public var kind: Kind
    public var message: String
    public var atMilliseconds: UInt64

    public var description: String { "\(kind.rawValue) at \(atMilliseconds) ms: \(message)" }
}

/// The outcome of one seed.
public struct SimulationResult: Sendable, CustomStringConvertible {
    public var scenario: SimulationScenario
    public var violations: [Violation]
    /// The fewest blocks any honest validator committed.
    public var heightsCommitted: UInt64
    public var simulatedMilliseconds: UInt64
    /// Sum over decided heights of (commit round + 1).
    public var roundsTotal: UInt64
    public var decidedHeights: UInt64
    public var messagesSent: UInt64
    public var eventsProcessed: UInt64
    public var evidenceCount: Int
    public var signaturesRefused: Int
    /// A digest of every commit (node, height, hash, time): equal for equal seeds.
    public var traceDigest: UInt64

    public var passed: Bool { violations.isEmpty }
    public var roundsPerHeight: Double { decidedHeights == 0 ? 0 : Double(roundsTotal) / Double(decidedHeights) }

    public var description: String {
        let verdict = passed ? "ok" : "FAILED: " + violations.map(\.description).joined(separator: "; ")
        return "\(scenario) → \(verdict) (heights \(heightsCommitted), \(simulatedMilliseconds) ms simulated, rounds/height \(roundsPerHeight), evidence \(evidenceCount), refused signatures \(signaturesRefused), trace \(String(traceDigest, radix: 16)))"
    }
}
