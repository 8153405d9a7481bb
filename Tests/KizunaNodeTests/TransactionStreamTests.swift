import Foundation
import Testing
import KizunaCore
import KizunaWallet

/// One account's chain as a fake network holds it: a transaction commits as soon as an
/// up-to-date node admits it with the account's next nonce.
actor FakeAccountChain {
    private(set) var nextNonce: UInt64 = 0
    private var committed: [Hash: UInt64] = [:]
    /// How many more answers each lagging node gives from the view one block behind.
    var lagging: [String: Int]
    /// How many more answers each node gives none (down, timing out).
    var silent: [String: Int]

    init(lagging: [String: Int] = [:], silent: [String: Int] = [:]) {
        self.lagging = lagging
        self.silent = silent
    }

    /// True (and counted) if `node` gives no answer this time.
    func isSilent(_ node: String) -> Bool {
        guard let left = silent[node], left > 0 else { return false }
        silent[node] = left - 1
        return true
    }

    func submit(_ transaction: SignedTransaction, at node: String) -> StreamAnswer {
        if isSilent(node) { return .none }
        if let height = committed[transaction.id] { return .committed(height: height, blockHash: "block-\(height)") }
        let nonce = transaction.transaction.nonce
        if let left = lagging[node], left > 0 {
            // A block behind: the account's last committed nonce is still its next one here, and
            // the network's next nonce leaves a gap.
            lagging[node] = left - 1
            let seenNext = nextNonce == 0 ? 0 : nextNonce - 1
            if nonce < seenNext { return .refused("tx.bad_nonce") }
            return nonce == seenNext ? .pending : .refused("tx.nonce_gap")
        }
        guard nonce == nextNonce else { return .refused(nonce < nextNonce ? "tx.bad_nonce" : "tx.nonce_gap") }
        nextNonce += 1
        committed[transaction.id] = nextNonce
        return .committed(height: nextNonce, blockHash: "block-\(nextNonce)")
    }

    func status(of id: Hash, at node: String) -> StreamAnswer {
        if let left = lagging[node], left > 0 { return .none }
        return committed[id].map { .committed(height: $0, blockHash: "block-\($0)") } ?? .none
    }

    /// A lagging or silent node's nonce read fails (as an unsigned read of the account does:
    /// 401).
    func pendingNonce(at node: String) -> UInt64? {
        if let left = lagging[node], left > 0 { return nil }
        if let left = silent[node], left > 0 { return nil }
        return nextNonce
    }
}

struct FakeStreamNode: StreamNode {
    let name: String
    let chain: FakeAccountChain
    func isUp() async -> Bool { true }
    func submit(_ transaction: SignedTransaction) async -> StreamAnswer { await chain.submit(transaction, at: name) }
    func status(of id: Hash) async -> StreamAnswer { await chain.status(of: id, at: name) }
    func pendingNonce(of key: PrivateKey) async -> UInt64? { await chain.pendingNonce(at: name) }
}

/// The network process tests' sender (`TransactionStream`) against a fake network: a node's
/// refusal is that node's view, and a nonce is never skipped. The process test's senders once
/// stalled for good after a restart: a restarted validator still a block behind answered
/// `tx.nonce_gap` to the next nonce, the sender gave the transaction up, its nonce read was
/// refused (unsigned: 401) and ignored, and every later nonce was a gap on every node.
@Suite("A transaction stream over several nodes", .serialized)
struct TransactionStreamTests {
    /// Runs one stream until `count` transactions are acknowledged (bounded polls).
    func stream(over chain: FakeAccountChain, nodes names: [String], count: Int, attempts: Int = 200) async -> AcknowledgementLog {
        let log = AcknowledgementLog()
        let stop = StopFlag()
        var stream = TransactionStream(nodes: names.map { FakeStreamNode(name: $0, chain: chain) }, chainId: "local-test-stream", log: log, counts: StreamCounts())
        stream.attemptsPerTransaction = attempts
        stream.pauseNanoseconds = 1_000_000
        let task = Task { await stream.run(from: PrivateKey(), to: PrivateKey().publicKey, stop: stop) }
        for _ in 0..<2_000 where await log.count < count {
            try? await Task.sleep(nanoseconds: 1_000_000)
        }
        await stop.set()
        await task.value
        return log
    }

    @Test func aNonceGapFromALaggingNodeKeepsTheTransactionForTheOthers() async {
        // "b" and "c" are a block behind for their first 30 answers, and cannot say a nonce.
        let chain = FakeAccountChain(lagging: ["b": 30, "c": 30])
        let log = await stream(over: chain, nodes: ["a", "b", "c", "d"], count: 20)
        #expect(await log.count >= 20, "the stream stalled after a lagging node's tx.nonce_gap")
        // Every nonce committed is one the stream acknowledged: none was skipped or lost.
        #expect(await chain.nextNonce == UInt64(await log.count))
    }

    @Test func aTransactionGivenUpUnadmittedIsSignedAgainAtItsNonce() async {
        // Every node is silent for a while: the first transaction runs out of attempts without
        // being admitted anywhere. Its nonce must be used again, not skipped.
        let chain = FakeAccountChain(silent: ["a": 6, "b": 6])
        let log = await stream(over: chain, nodes: ["a", "b"], count: 5, attempts: 4)
        #expect(await log.count >= 5, "the stream skipped the nonce of a transaction no node admitted")
        #expect(await chain.nextNonce == UInt64(await log.count))
    }

    @Test func pendingWithACodeIsStillPending() {
        // A proposal left it out (`deferred`): not final, another validator may commit it.
        #expect(StreamAnswer(["status": "pending", "code": "ledger.insufficient_balance"]) == .pending)
        #expect(StreamAnswer(["status": "rejected", "code": "tx.replaced"]) == .refused("tx.replaced"))
        #expect(StreamAnswer(["code": "tx.nonce_gap", "message": "gap"]) == .refused("tx.nonce_gap"))
        #expect(StreamAnswer(["status": "committed", "height": 7, "blockHash": "ab"]) == .committed(height: 7, blockHash: "ab"))
        #expect(StreamAnswer(nil) == .none)
    }
}
