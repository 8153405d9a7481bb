import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Synchronization
import KizunaCore
import KizunaNode
import KizunaWallet

private typealias F = APIFixture

/// A node that is syncing blocks it is missing refuses submissions as retryable, keeps nothing,
/// and judges the same transaction normally once caught up (docs/api.md §1).
@Suite struct CatchingUpTests {
    @Test func aSyncingNodeRefusesRetryablyAndKeepsNothing() async throws {
        let fixture = try APIFixture()
        try await fixture.populate()
        var one = TransactionBuilder(chainId: F.chainId, key: F.resident1, nextNonce: 1)
        let payment = one.pay(merchant: F.merchant.publicKey, amount: 100)
        // Progress stamped an hour ahead: the refusals must not end while a loaded machine runs
        // this test (a sync without progress ends them after 10 s; tested below).
        fixture.node.catchUp.withLock { $0 = CatchUp(height: 3, target: 40, blocksPerSecond: 10, updatedAt: wallClockMilliseconds() + 3_600_000) }
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/v1/transactions", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: payment.canonicalBytes)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.code == "node.catching_up")
                // 37 blocks left at 10 a second.
                #expect(response.headers[.retryAfter] == "4")
                #expect(response.text.contains("block 3 of 40"))
            }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                let catchingUp = response.json?["catchingUp"] as? [String: Any]
                #expect(catchingUp?["height"] as? Int == 3)
                #expect(catchingUp?["target"] as? Int == 40)
            }
            // Not remembered as rejected, not pending: unknown.
            try await client.execute(uri: "/v1/transactions/\(payment.id.hex)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            fixture.node.catchUp.withLock { $0 = nil }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.json?["catchingUp"] == nil)
            }
            try await client.execute(uri: "/v1/transactions", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: payment.canonicalBytes)) { response in
                #expect(response.status == .accepted)
                #expect(response.json?["status"] as? String == "pending")
            }
        }
    }

    @Test func retryAfterFollowsTheSyncRate() {
        #expect(CatchUp(height: 0, target: 1_000, updatedAt: 0).retryAfterSeconds == 1)
        #expect(CatchUp(height: 10, target: 12, blocksPerSecond: 100, updatedAt: 0).retryAfterSeconds == 1)
        #expect(CatchUp(height: 0, target: 250, blocksPerSecond: 100, updatedAt: 0).retryAfterSeconds == 3)
        #expect(CatchUp(height: 0, target: 1_000_000, blocksPerSecond: 100, updatedAt: 0).retryAfterSeconds == CatchUp.retryAfterSecondsMax)
        #expect(CatchUp(height: 50, target: 40, blocksPerSecond: 100, updatedAt: 0).retryAfterSeconds == 1)
    }

    /// A peer that claims heights it never delivers: once the sync has made no progress for
    /// the window, the node judges submissions again.
    @Test func aSyncWithoutProgressStopsRefusing() async throws {
        let fixture = try APIFixture()
        let stale = wallClockMilliseconds() - CatchUp.progressWindowMilliseconds - 1
        fixture.node.catchUp.withLock { $0 = CatchUp(height: 3, target: 1_000_000, updatedAt: stale) }
        #expect(fixture.node.catchingUp == nil)
        #expect(fixture.node.catchingUpRefusal() == nil)
        fixture.node.catchUp.withLock { $0 = CatchUp(height: 3, target: 1_000_000, updatedAt: wallClockMilliseconds() + 3_600_000) }
        #expect(fixture.node.catchingUpRefusal()?.error.code == .catchingUp)
    }
}
