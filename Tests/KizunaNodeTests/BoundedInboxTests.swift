import Testing
import KizunaNode

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
