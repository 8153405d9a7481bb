import Testing
import KizunaCore
import KizunaWallet
@testable import KizunaNode

/// The consensus engine's inbox (issue 22: every queue has a named bound, a metric for what it
/// drops, and a test that fills it).
@Suite struct BoundedInboxTests {
    @Test func peerInputsPastTheBoundAreDroppedAndCountedButTimeoutsAlwaysQueue() async {
        let inbox = BoundedInbox<Int>(peerInputsMax: 3)
        for value in 0..<5 { inbox.offer(value, .peer) }
        #expect(inbox.peerQueued == 3)
        #expect(inbox.dropped == 2)
        // Full of peer inputs: the engine's own timeouts still go in.
        #expect(inbox.offer(100, .own))
        #expect(inbox.offer(101, .own))
        // Ticks coalesce: one waits at most.
        #expect(inbox.offer(200, .tick))
        #expect(!inbox.offer(201, .tick))
        inbox.finish()
        var taken: [Int] = []
        for await (value, kind) in inbox.stream {
            inbox.taken(kind)
            taken.append(value)
        }
        #expect(taken == [0, 1, 2, 100, 101, 200])
        #expect(inbox.peerQueued == 0)
        // Taking frees the room and the tick slot.
        let second = BoundedInbox<Int>(peerInputsMax: 1)
        #expect(second.offer(1, .peer))
        #expect(!second.offer(2, .peer))
        second.taken(.peer)
        #expect(second.offer(3, .peer))
        #expect(second.dropped == 1)
    }
}

/// `Node.waiters` (the `?wait=commit` requests) has a named bound: past
/// `commitWaitersMax` a submission answers `pending` at once, and the metric counts it.
@Suite struct CommitWaitersBoundTests {
    @Test func pastTheBoundAWaitAnswersPendingAtOnce() async throws {
        let fixture = try APIFixture { $0.commitWaitersMax = 2 }
        let node = fixture.node
        let chainId = APIFixture.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
        var ids: [Hash] = []
        for index in 0..<3 {
            let transaction = try registrar.register(PrivateKey(seed: Hash.sha256([9, UInt8(index)]).bytes)!.publicKey, role: .resident).verified(chainId: chainId)
            try await node.submit(transaction)
            ids.append(transaction.id)
        }
        // Two requests wait (for a long time: nothing produces blocks here)…
        let (firstId, secondId) = (ids[0], ids[1])
        let first = Task { @Sendable in await node.waitForOutcome(of: firstId, milliseconds: 600_000) }
        let second = Task { @Sendable in await node.waitForOutcome(of: secondId, milliseconds: 600_000) }
        #expect(try await node.waiterCount(reaching: 2) == 2)
        // …the third is answered at once, pending, and counted.
        #expect(await node.waitForOutcome(of: ids[2], milliseconds: 5_000) == .pending)
        #expect(node.metrics.value("kizuna_commit_waiters_refused_total") == 1)
        // A commit resolves the two waiting ones.
        try await fixture.commit([])
        #expect(await first.value != .pending)
        #expect(await second.value != .pending)
        #expect(await node.waiterCount == 0)
    }
}

extension Node {
    /// How many `?wait=commit` requests wait, once `count` do (or after 1,000 short sleeps):
    /// a request started in a `Task` reaches the actor a moment later.
    func waiterCount(reaching count: Int) async throws -> Int {
        var waiting = 0
        for _ in 0..<1000 where waiting < count {
            waiting = waiterCount
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        return waiting
    }
}

/// The engine's gossip buffer: its bound and what it drops.
@Suite struct GossipBufferTests {
    @Test func theGossipBufferKeepsItsBoundAndEmptiesOnTake() throws {
        let buffer = GossipBuffer(transactionsMax: 3)
        let key = PrivateKey(seed: [UInt8](repeating: 9, count: 32))!
        let transactions = (0..<5).map { nonce in
            Transaction(chainId: "gossip-test", signer: key.publicKey, nonce: UInt64(nonce), body: .send(Send(to: key.publicKey, amount: 1))).signed(by: key)
        }
        let kept = transactions.map { buffer.offer($0) }
        #expect(kept == [true, true, true, false, false])
        #expect(buffer.count == 3)
        #expect(buffer.takeAll() == Array(transactions.prefix(3)))
        #expect(buffer.count == 0)
        #expect(buffer.offer(transactions[4]))
    }
}
