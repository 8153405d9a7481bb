import Foundation
import KizunaNode
import NIOConcurrencyHelpers
public import Prometheus

/// The custodian's Prometheus metrics (`docs/cards.md` §7), rendered at `GET /metrics` on the
/// operator's metrics address. Never labelled with a card id, a PIN or a key.
public final class CardServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let cardsIssued: Counter
    let signed: Counter
    let replays: Counter
    let pinFailures: Counter
    let locks: Counter
    let paymentSeconds: DurationHistogram
    let pinSeconds: DurationHistogram
    private let outcomes: NIOLockedValueBox<[String: Counter]> = NIOLockedValueBox([:])

    public init() {
        cardsIssued = registry.makeCounter(name: "kizuna_card_cards_issued_total", help: "Cards issued (keys generated and sealed).")
        signed = registry.makeCounter(name: "kizuna_card_payments_signed_total", help: "Card payments the custodian signed and submitted.")
        replays = registry.makeCounter(name: "kizuna_card_requests_repeated_total", help: "Terminal requests answered from the stored outcome of an earlier identical request (nothing paid again).")
        pinFailures = registry.makeCounter(name: "kizuna_card_pin_failures_total", help: "Wrong PINs.")
        locks = registry.makeCounter(name: "kizuna_card_locks_total", help: "Cards locked after too many wrong PINs.")
        let buckets = NodeMetrics.durations([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30])
        paymentSeconds = registry.makeDurationHistogram(name: "kizuna_card_payment_seconds", buckets: buckets, help: "Time from a terminal's payment request to the answer (PIN check, signing, commit).")
        pinSeconds = registry.makeDurationHistogram(name: "kizuna_card_pin_check_seconds", buckets: buckets, help: "Time of one PIN check (the slow salted hash).")
    }

    /// Settled payments by outcome: committed or refused.
    func payments(outcome: String) -> Counter {
        outcomes.withLockedValue { counters in
            if let counter = counters[outcome] { return counter }
            let counter = registry.makeCounter(name: "kizuna_card_payments_total", labels: [("outcome", outcome)], help: "Card payments settled, by outcome (committed or refused by the custodian or the ledger).")
            counters[outcome] = counter
            return counter
        }
    }

    public func render() -> String { registry.emitToString() }
}
