import Testing
import KizunaCore
@testable import KizunaNode

/// Block sync's decisions: whom to ask for blocks from which height, and when (`BlockSyncPlan`).
@Suite struct BlockSyncPlanTests {
    let keys = [PrivateKey(), PrivateKey(), PrivateKey()].map(\.publicKey).sorted()
    let retry = BlockSyncPlan.retryMilliseconds

    @Test func twoBehindAsksThePeerFurthestAheadAtOnceTiesByKey() {
        var plan = BlockSyncPlan()
        let request = plan.next(ourHeight: 10, peerHeights: [keys[2]: 14, keys[1]: 14, keys[0]: 12], now: 1_000)
        #expect(request == BlockSyncPlan.Request(peer: keys[1], fromHeight: 11))
        // Out and not yet due: nothing more.
        #expect(plan.next(ourHeight: 10, peerHeights: [keys[1]: 14], now: 1_000 + retry - 1) == nil)
    }

    @Test func oneBehindWaitsForConsensusThenAsksForTheLastBlock() {
        var plan = BlockSyncPlan()
        let peers = [keys[0]: UInt64(21)]
        // A height being decided: consensus brings it.
        #expect(plan.next(ourHeight: 20, peerHeights: peers, now: 5_000) == nil)
        #expect(plan.next(ourHeight: 20, peerHeights: peers, now: 5_000 + retry - 1) == nil)
        // Still one behind a retry interval later: nothing is deciding it here (a network that
        // stopped, a peer serving a finished chain), so the block is asked for.
        #expect(plan.next(ourHeight: 20, peerHeights: peers, now: 5_000 + retry) == BlockSyncPlan.Request(peer: keys[0], fromHeight: 21))
    }

    @Test func theWaitRestartsWhenThisNodeCommitsMeanwhile() {
        var plan = BlockSyncPlan()
        #expect(plan.next(ourHeight: 20, peerHeights: [keys[0]: 21], now: 0) == nil)
        // Consensus committed 21; the peer is one ahead again at 22: a new wait.
        #expect(plan.next(ourHeight: 21, peerHeights: [keys[0]: 22], now: retry) == nil)
        #expect(plan.next(ourHeight: 21, peerHeights: [keys[0]: 22], now: 2 * retry) == BlockSyncPlan.Request(peer: keys[0], fromHeight: 22))
        // Caught up: nothing to ask.
        var caughtUp = BlockSyncPlan()
        #expect(caughtUp.next(ourHeight: 22, peerHeights: [keys[0]: 22, keys[1]: 3], now: 0) == nil)
    }

    @Test func anUnansweredRequestGoesToTheNextPeerAhead() {
        var plan = BlockSyncPlan()
        let peers = [keys[0]: UInt64(50), keys[1]: 50, keys[2]: 40]
        #expect(plan.next(ourHeight: 10, peerHeights: peers, now: 0)?.peer == keys[0])
        #expect(plan.next(ourHeight: 10, peerHeights: peers, now: retry)?.peer == keys[1])
        #expect(plan.next(ourHeight: 10, peerHeights: peers, now: 2 * retry)?.peer == keys[2])
        #expect(plan.next(ourHeight: 10, peerHeights: peers, now: 3 * retry)?.peer == keys[0])
    }

    @Test func aBatchAsksForTheBlocksAfterItWhileAPeerIsAhead() {
        var plan = BlockSyncPlan()
        let peers = [keys[0]: UInt64(300), keys[1]: 257]
        _ = plan.next(ourHeight: 0, peerHeights: peers, now: 0)
        #expect(plan.askAhead(after: 256, from: keys[1], peerHeights: peers, now: 10) == BlockSyncPlan.Request(peer: keys[1], fromHeight: 257))
        // That request is out: applying the batch (tip 256) asks nothing more.
        #expect(plan.next(ourHeight: 256, peerHeights: peers, now: 20) == nil)
        // The last batch: nothing ahead, nothing out.
        #expect(plan.askAhead(after: 300, from: keys[0], peerHeights: peers, now: 30) == nil)
        #expect(plan.outstanding == nil)
    }

    @Test func aRefusedBlockIsAskedAgainOfAnotherPeerOnceDue() {
        var plan = BlockSyncPlan()
        let peers = [keys[0]: UInt64(100), keys[1]: 100]
        _ = plan.askAhead(after: 40, from: keys[0], peerHeights: peers, now: 0)
        // Block 31 of the batch from keys[0] did not verify; this node stays at 30.
        plan.refused(at: 31, from: keys[0], now: 5)
        #expect(plan.next(ourHeight: 30, peerHeights: peers, now: 5 + retry - 1) == nil)
        #expect(plan.next(ourHeight: 30, peerHeights: peers, now: 5 + retry) == BlockSyncPlan.Request(peer: keys[1], fromHeight: 31))
    }
}
