import KizunaCore
import KizunaLedger
import Testing

/// The per-block invariant of standing orders (BlockInvariants+StandingOrders.swift, ADR 0021):
/// each rule is broken once by a hand-made write and named; the writes real blocks make keep it.
@Suite("Standing-order invariant")
struct StandingOrderInvariantTests {
    static let payer = Fixture.account(0).publicKey
    static let payee = Fixture.account(9).publicKey
    static let terms = AuthoriseStandingOrder(payee: payee, capYen: 1_000, purpose: .fee, reference: "contract-1",
                                              schedule: StandingOrderSchedule(firstMonth: 202604, dayOfMonth: 10, instalments: 3))
    static let order = StandingOrderState(id: Hash.sha256([1]), payer: payer, terms: terms, authorisedAt: Fixture.genesisTime)

    static func paid(_ count: UInt32, _ yen: UInt64, at time: UInt64? = nil, cancelledAt: UInt64? = nil) -> StandingOrderState {
        var state = order
        state.paid = count
        state.paidYen = yen
        state.lastPaidAt = count == 0 ? nil : time ?? order.dueAt(count - 1)
        state.cancelledAt = cancelledAt
        return state
    }

    static func write(_ before: StandingOrderState?, _ after: StandingOrderState?) -> BlockInvariants.Change {
        BlockInvariants.Change(key: StateKey.standingOrder(order.id), before: before?.canonicalBytes, after: after?.canonicalBytes)
    }

    static let index = BlockInvariants.Change(key: StateKey.payerStandingOrder(payer, order.id), before: nil, after: [1])

    static func problems(_ changes: [BlockInvariants.Change]) -> [String] { BlockInvariants.standingOrderViolations(changes) }

    @Test("writes that keep the rules: a new order with its index entry, one instalment within the cap when due, a cancellation")
    func kept() {
        #expect(Self.problems([Self.write(nil, Self.order), Self.index]).isEmpty)
        #expect(Self.problems([Self.write(Self.order, Self.paid(1, 1_000))]).isEmpty)
        #expect(Self.problems([Self.write(Self.paid(1, 1_000), Self.paid(3, 2_500))]).isEmpty)
        #expect(Self.problems([Self.write(Self.paid(1, 1_000), Self.paid(1, 1_000, cancelledAt: Fixture.genesisTime + 1))]).isEmpty)
        // Checked with the other block invariants.
        #expect(BlockInvariants.violations([Self.write(Self.order, Self.paid(1, 1_000))]).isEmpty)
        #expect(BlockInvariants.violations([Self.write(Self.order, Self.paid(1, 1_001))]).count == 2)
        #expect(BlockInvariants.isChecked(StateKey.standingOrder(Self.order.id)) && BlockInvariants.isChecked(Self.index.key))
    }

    @Test("each rule broken is named")
    func broken() {
        let cancelled = Fixture.genesisTime + 5
        let cases: [(String, [BlockInvariants.Change])] = [
            ("was deleted", [Self.write(Self.order, nil)]),
            ("without its payer's index entry", [Self.write(nil, Self.order)]),
            ("index entry was deleted", [BlockInvariants.Change(key: Self.index.key, before: [1], after: nil)]),
            ("over 1 × the ¥1000 cap", [Self.write(Self.order, Self.paid(1, 1_001))]),
            ("outside ¥1 to the ¥1000 cap each", [Self.write(Self.paid(1, 1_000), Self.paid(2, 1_000))]),
            ("of a schedule of 3", [Self.write(Self.paid(3, 3_000), Self.paid(4, 4_000))]),
            ("before it was due", [Self.write(Self.order, Self.paid(1, 500, at: Self.order.dueAt(0) - 1))]),
            ("a counter decreased", [Self.write(Self.paid(2, 2_000), Self.paid(1, 1_000))]),
            ("collected after its cancellation", [Self.write(Self.paid(1, 1_000, cancelledAt: cancelled), Self.paid(2, 2_000, cancelledAt: cancelled))]),
            ("a cancellation was undone", [Self.write(Self.paid(1, 1_000, cancelledAt: cancelled), Self.paid(1, 1_000))]),
        ]
        for (message, changes) in cases {
            let problems = Self.problems(changes)
            #expect(problems.contains { $0.contains(message) }, "expected '\(message)': \(problems)")
        }
        var raised = Self.paid(1, 1_000)
        raised.terms.capYen = 5_000
        #expect(Self.problems([Self.write(Self.paid(1, 1_000), raised)]).contains { $0.contains("what the payer authorised changed") })
    }
}
