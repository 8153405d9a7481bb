import Foundation
import Logging
import Testing
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
@testable import KizunaNode

/// A node in consensus mode does not report a transaction its proposal left out as rejected at
/// once: the proposal may not be decided. It is `deferred` (pending with a reason) until the
/// next commit, when it is checked again on the committed state: rejected for good if it can
/// no longer apply, back in the mempool if it can.
///
/// Admission refuses what cannot apply, so a proposal leaves a transaction out only when
/// another account's transaction in the same block gets in its way — here the registrar's
/// freeze, which the operations lane puts first.
@Suite struct DeferredTransactionTests {
    /// A consensus-mode node on an in-memory store with a registered, charged resident and a
    /// merchant, and the helpers to build, decide and commit blocks by hand.
    struct Harness {
        let node: Node
        let blocks: BlockStore
        let chainId: String
        var clock: UInt64
        var registrar: TransactionBuilder
        var issuer: TransactionBuilder
        var resident: TransactionBuilder

        init(mempoolTransactionsMax: Int = 20_000, deferredTransactionsMax: Int = NodeConfiguration.deferredTransactionsMaxDefault) async throws {
            let genesis = APIFixture.makeGenesis()
            blocks = try BlockStore(store: MemoryStore(), genesis: genesis)
            var logger = Logger(label: "deferred-test")
            logger.logLevel = .warning
            var configuration = APIFixture.defaultConfiguration()
            configuration.mempoolTransactionsMax = mempoolTransactionsMax
            configuration.deferredTransactionsMax = deferredTransactionsMax
            node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: APIFixture.validatorKey, mode: .consensus, logger: logger)
            chainId = genesis.chainId
            clock = genesis.genesisTime + 1000
            registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
            issuer = TransactionBuilder(chainId: chainId, key: APIFixture.coinIssuer, nextNonce: 0)
            resident = TransactionBuilder(chainId: chainId, key: APIFixture.resident1, nextNonce: 0)
            try await submit(registrar.register(APIFixture.resident1.publicKey, role: .resident))
            try await submit(registrar.register(APIFixture.merchant.publicKey, role: .merchant, merchantCategory: "food"))
            try await commit(try await build())
            try await submit(issuer.charge(to: APIFixture.resident1.publicKey, amount: 5000, receiptId: "deferred-1"))
            try await commit(try await build())
        }

        func submit(_ transaction: SignedTransaction) async throws {
            try await node.submit(try transaction.verified(chainId: chainId))
        }

        mutating func build() async throws -> ValidatedBlock {
            clock += 1000
            let tip = try blocks.tipHeight()
            return try await node.buildProposal(timestamp: clock, proposer: APIFixture.validatorKey.publicKey,
                                                lastCommit: tip == 0 ? nil : try blocks.certificate(at: tip))
        }

        /// An empty block, as another validator's proposal that was decided instead.
        mutating func emptyBlock() throws -> ValidatedBlock {
            clock += 1000
            let tip = try blocks.tipHeight()
            let proposed = try BlockValidator(blocks: blocks).propose(candidates: [], timestamp: clock, proposer: APIFixture.validatorKey.publicKey,
                                                                      lastCommit: tip == 0 ? nil : try blocks.certificate(at: tip))
            return proposed
        }

        func commit(_ decided: ValidatedBlock) async throws {
            try await node.commitDecided(try decided.committedBySingleValidator(APIFixture.validatorKey, genesis: blocks.genesis))
        }
    }

    @Test func aTransactionLeftOutOfAProposalIsDeferredThenRejectedForGoodAfterTheCommit() async throws {
        var harness = try await Harness()
        let payment = try harness.resident.pay(merchant: APIFixture.merchant.publicKey, amount: 3000).verified(chainId: harness.chainId)
        try await harness.node.submit(payment)
        try await harness.submit(harness.registrar.freeze(APIFixture.resident1.publicKey))
        let proposal = try await harness.build()
        #expect(proposal.block.transactions.count == 1, "the freeze goes in, the payment cannot follow it")
        #expect(!proposal.block.transactions.contains(payment.signed))
        guard case .deferred(let reason) = await harness.node.status(of: payment.id) else {
            Issue.record("expected deferred, got \(await harness.node.status(of: payment.id))")
            return
        }
        #expect(reason.code == .frozen)
        // The block with the freeze commits: the payment can never apply now. Final.
        try await harness.commit(proposal)
        #expect(await harness.node.status(of: payment.id) == .rejected(TransactionError(.frozen, "")))
        #expect(await harness.node.pendingCount == 0)
        #expect(await harness.node.hasProposableTransactions() == false)
    }

    @Test func aDeferredTransactionComesBackWhenAnotherBlockIsDecided() async throws {
        var harness = try await Harness()
        let payment = try harness.resident.pay(merchant: APIFixture.merchant.publicKey, amount: 3000).verified(chainId: harness.chainId)
        try await harness.node.submit(payment)
        try await harness.submit(harness.registrar.freeze(APIFixture.resident1.publicKey))
        _ = try await harness.build()
        guard case .deferred = await harness.node.status(of: payment.id) else {
            Issue.record("expected deferred, got \(await harness.node.status(of: payment.id))")
            return
        }
        // Another validator's empty block is decided: the payment still applies and is pending
        // again; it commits in the next block if it goes before the freeze.
        try await harness.commit(try harness.emptyBlock())
        #expect(await harness.node.status(of: payment.id) == .pending)
    }

    /// A deferred transaction that finds the mempool full after a commit stays deferred (its
    /// client was told it is pending) and comes back when there is room; past the
    /// time-to-live it is rejected like any pending transaction. (A spike found the first:
    /// such transactions vanished, and with them every later nonce of their accounts.)
    @Test func aDeferredTransactionSurvivesAFullMempoolAndExpiresWithItsTimeToLive() async throws {
        var harness = try await Harness(mempoolTransactionsMax: 3)
        let payment = try harness.resident.pay(merchant: APIFixture.merchant.publicKey, amount: 3000).verified(chainId: harness.chainId)
        try await harness.node.submit(payment)
        try await harness.submit(harness.registrar.freeze(APIFixture.resident1.publicKey))
        _ = try await harness.build()
        // Two more transactions fill the mempool (freeze + two registrations = 3).
        try await harness.submit(harness.registrar.register(PrivateKey(seed: Hash.sha256([7, 1]).bytes)!.publicKey, role: .resident))
        try await harness.submit(harness.registrar.register(PrivateKey(seed: Hash.sha256([7, 2]).bytes)!.publicKey, role: .resident))
        #expect(await harness.node.pendingCount == 3)
        // Another block is decided; the payment still applies but finds no room.
        try await harness.commit(try harness.emptyBlock())
        guard case .deferred = await harness.node.status(of: payment.id) else {
            Issue.record("a full mempool lost the deferred payment: \(await harness.node.status(of: payment.id))")
            return
        }
        // Past its time-to-live: rejected, final.
        await harness.node.expireMempool(nowMilliseconds: UInt64.max / 2)
        guard case .rejected(let error) = await harness.node.status(of: payment.id) else {
            Issue.record("a deferred transaction outlived its time-to-live: \(await harness.node.status(of: payment.id))")
            return
        }
        #expect(error.code.rawValue == "mempool.expired")
    }

    /// `Node.deferred` has a named bound (issue 22): past `deferredTransactionsMax` a
    /// transaction a proposal leaves out is rejected for good with `mempool.full` — its
    /// waiting client is answered, not left waiting — and the metric counts it.
    @Test func pastItsBoundALeftOutTransactionIsRejectedForGoodAndCounted() async throws {
        var harness = try await Harness(deferredTransactionsMax: 1)
        let first = try harness.resident.pay(merchant: APIFixture.merchant.publicKey, amount: 1000).verified(chainId: harness.chainId)
        let second = try harness.resident.pay(merchant: APIFixture.merchant.publicKey, amount: 1000).verified(chainId: harness.chainId)
        try await harness.node.submit(first)
        try await harness.node.submit(second)
        try await harness.submit(harness.registrar.freeze(APIFixture.resident1.publicKey))
        let node = harness.node
        let secondId = second.id
        let waiting = Task { @Sendable in await node.waitForOutcome(of: secondId, milliseconds: 600_000) }
        #expect(try await node.waiterCount(reaching: 1) == 1)
        // The freeze goes in; both payments are left out (frozen, then the nonce after it).
        let proposal = try await harness.build()
        #expect(proposal.block.transactions.count == 1)
        guard case .deferred = await node.status(of: first.id) else {
            Issue.record("expected the first deferred, got \(await node.status(of: first.id))")
            return
        }
        #expect(await node.status(of: second.id) == .rejected(TransactionError(.mempoolFull, "")))
        #expect(await waiting.value == .rejected(TransactionError(.mempoolFull, "")))
        #expect(await node.deferred.count == 1)
        #expect(node.metrics.value("kizuna_deferred_dropped_total") == 1)
        #expect(await node.pendingCount == 1, "only the freeze is pending")
    }
}
