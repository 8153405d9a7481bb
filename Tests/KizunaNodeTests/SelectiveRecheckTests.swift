import Foundation
import Logging
import Testing
import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import KizunaWallet
@testable import KizunaNode

/// After a commit the node checks again only the pending chains the block could have changed
/// (ADR 0020); `AdmissionPropertyTests` shows the outcome equals checking all of them. Here:
/// which chains are checked, counted by the node's metrics.
@Suite("Selective re-check after a commit")
struct SelectiveRecheckTests {
    static let payer = PrivateKey(seed: Hash.sha256([0xE0, 1]).bytes)!
    static let sender = PrivateKey(seed: Hash.sha256([0xE0, 2]).bytes)!
    static let receiver = PrivateKey(seed: Hash.sha256([0xE0, 3]).bytes)!
    static let merchant = PrivateKey(seed: Hash.sha256([0xE0, 4]).bytes)!
    static let newcomer = PrivateKey(seed: Hash.sha256([0xE0, 5]).bytes)!

    /// Commits `transactions` as a block decided elsewhere, at `timestamp`.
    static func commitDecided(_ transactions: [VerifiedTransaction], node: Node, blocks: BlockStore, timestamp: UInt64) async throws {
        let height = try blocks.tipHeight()
        let proposal = try BlockValidator(blocks: blocks).propose(candidates: transactions, timestamp: timestamp, proposer: APIFixture.validatorKey.publicKey,
                                                                  lastCommit: height == 0 ? nil : try blocks.certificate(at: height))
        #expect(proposal.execution.rejected.isEmpty)
        try await node.commitDecided(try proposal.committedBySingleValidator(APIFixture.validatorKey, genesis: blocks.genesis))
    }

    static func counts(_ node: Node) -> (rechecked: Double, skipped: Double) {
        (node.metrics.value("kizuna_admission_rechecked_accounts_total") ?? 0, node.metrics.value("kizuna_admission_recheck_skipped_accounts_total") ?? 0)
    }

    @Test("a block checks again the chains it wrote under, not the others; a new Japan day checks the date's users")
    func onlyWhatTheBlockCouldChange() async throws {
        let (node, blocks) = try AdmissionPropertyTests.makeNode()
        let chainId = blocks.genesis.chainId
        // 2026-06-15 10:00 Japan time: the next days' blocks stay in June.
        var clock: UInt64 = 1_781_485_200_000
        var registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: APIFixture.coinIssuer, nextNonce: 0)
        var setUp: [VerifiedTransaction] = []
        for resident in [Self.payer, Self.sender, Self.receiver] { setUp.append(try registrar.register(resident.publicKey, role: .resident).verified(chainId: chainId)) }
        setUp.append(try registrar.register(Self.merchant.publicKey, role: .merchant, merchantCategory: "drugstore").verified(chainId: chainId))
        try await Self.commitDecided(setUp, node: node, blocks: blocks, timestamp: clock)
        clock += 1_000
        let charges = try [Self.payer, Self.sender].enumerated().map { try issuer.charge(to: $0.element.publicKey, amount: 10_000, receiptId: "selective-\($0.offset)").verified(chainId: chainId) }
        try await Self.commitDecided(charges, node: node, blocks: blocks, timestamp: clock)

        // Pending: a payment, a send (its monthly limit reads the date), a registration.
        var payer = TransactionBuilder(chainId: chainId, key: Self.payer, nextNonce: 0)
        var sender = TransactionBuilder(chainId: chainId, key: Self.sender, nextNonce: 0)
        let payment = try payer.pay(merchant: Self.merchant.publicKey, amount: 500).verified(chainId: chainId)
        let send = try sender.send(to: Self.receiver.publicKey, amount: 700).verified(chainId: chainId)
        let registration = try registrar.register(Self.newcomer.publicKey, role: .resident).verified(chainId: chainId)
        for transaction in [payment, send, registration] { try await node.submit(transaction) }
        #expect(await node.mempool.count == 3)

        // A block of the payment alone, the same day: it wrote nothing the send or the
        // registration read, so neither is checked again.
        var before = Self.counts(node)
        clock += 1_000
        try await Self.commitDecided([payment], node: node, blocks: blocks, timestamp: clock)
        var after = Self.counts(node)
        #expect(after.skipped - before.skipped == 2)
        #expect(after.rechecked - before.rechecked == 0)
        #expect(await node.status(of: send.id) == .pending)

        // The next Japan day: the send used the date (its month's total), the registration did
        // not; a block of another payment checks the send again, not the registration.
        let nextPayment = try payer.pay(merchant: Self.merchant.publicKey, amount: 300).verified(chainId: chainId)
        try await node.submit(nextPayment)
        before = Self.counts(node)
        clock += 86_400_000
        try await Self.commitDecided([nextPayment], node: node, blocks: blocks, timestamp: clock)
        after = Self.counts(node)
        #expect(after.rechecked - before.rechecked == 1)
        #expect(after.skipped - before.skipped == 1)
        #expect(await node.status(of: send.id) == .pending)

        // A block that freezes the sender, decided elsewhere with the registrar's pending
        // nonce: the send read the sender's account and is rejected; the registrar's queue
        // changed (its registration lost its nonce) and is checked again too.
        var elsewhere = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: registration.transaction.nonce)
        let freeze = try elsewhere.freeze(Self.sender.publicKey).verified(chainId: chainId)
        before = Self.counts(node)
        clock += 1_000
        try await Self.commitDecided([freeze], node: node, blocks: blocks, timestamp: clock)
        after = Self.counts(node)
        #expect(after.rechecked - before.rechecked == 2)
        guard case .rejected(let error) = await node.status(of: send.id) else {
            Issue.record("the send to a frozen account's sender is still \(await node.status(of: send.id))")
            return
        }
        #expect(error.code == .frozen)
        guard case .rejected(let replaced) = await node.status(of: registration.id) else {
            Issue.record("the registration whose nonce was used is still \(await node.status(of: registration.id))")
            return
        }
        #expect(replaced.code == .badNonce)
        #expect(await node.mempool.count == 0)
    }
}
