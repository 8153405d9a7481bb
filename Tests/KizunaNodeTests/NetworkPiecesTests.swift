import Foundation
import Testing
import KizunaConsensus
import KizunaCore
import KizunaNetwork
import KizunaChain
import KizunaStorage
import KizunaLedger
import KizunaWallet
import Logging
@testable import KizunaNode

/// The node-side pieces of the network: peer messages, the mempool's time-to-live, the
/// network configuration (TOML), the metrics text.
@Suite struct NetworkPiecesTests {
    static let key = PrivateKey(seed: [UInt8](repeating: 5, count: 32))!

    static func transaction(nonce: UInt64, key: PrivateKey = key) -> SignedTransaction {
        let body = TransactionBody.send(Send(to: PrivateKey(seed: [UInt8](repeating: 6, count: 32))!.publicKey, amount: 10))
        return Transaction(chainId: "local-x", signer: key.publicKey, nonce: nonce, body: body).signed(by: key)
    }

    static func block() -> Block {
        let header = BlockHeader(chainId: "local-x", height: 3, previousBlockHash: Hash.sha256([1]), timestamp: 1_800_000_000_000,
                                 transactionsRoot: Hash.sha256([2]), stateRoot: Hash.sha256([3]), proposer: key.publicKey,
                                 validatorSetHash: Hash.sha256([4]), lastCommitHash: .zero)
        return Block(header: header, transactions: [transaction(nonce: 0)], lastCommit: nil)
    }

    @Test func everyPeerMessageRoundTripsThroughItsFrame() throws {
        let block = Self.block()
        let vote = Vote(UnsignedVote(step: .precommit, height: 3, round: 1, blockHash: block.hash, validator: Self.key.publicKey), signature: Self.key.sign([9]))
        let certificate = CommitCertificate(height: 3, round: 1, blockHash: block.hash, signatures: [CommitSignature(validator: Self.key.publicKey, signature: Self.key.sign([8]))])
        let messages: [PeerMessage] = [
            .consensus(.vote(vote)),
            .transactions([Self.transaction(nonce: 0), Self.transaction(nonce: 1)]),
            .status(height: 42, tipHash: block.hash),
            .blocksRequest(fromHeight: 7),
            .blocks([CertifiedBlock(block: block, certificate: certificate)]),
            .blockRequest(hash: block.hash),
            .block(block),
        ]
        var kinds = Set<UInt8>()
        for message in messages {
            let frame = message.frame
            kinds.insert(frame.kind.rawValue)
            #expect(try PeerMessage(frame: frame) == message)
        }
        #expect(kinds == Set(16...22))
    }

    @Test func malformedPeerMessagesAreRefused() {
        let good = PeerMessage.status(height: 1, tipHash: .zero).frame
        // Trailing byte, truncation, unknown kind, handshake kind.
        #expect(throws: DecodingError.self) { try PeerMessage(frame: Frame(kind: good.kind, payload: good.payload + [0])) }
        #expect(throws: DecodingError.self) { try PeerMessage(frame: Frame(kind: good.kind, payload: Array(good.payload.dropLast()))) }
        #expect(throws: DecodingError.self) { try PeerMessage(frame: Frame(kind: FrameKind(rawValue: 99), payload: good.payload)) }
        #expect(throws: DecodingError.self) { try PeerMessage(frame: Frame(kind: .hello, payload: good.payload)) }
        // A list count above the limit is refused before anything is decoded.
        var encoder = Encoder()
        encoder.encode(UInt32(PeerMessage.transactionsPerFrameMax + 1))
        #expect(throws: DecodingError.self) { try PeerMessage(frame: Frame(kind: FrameKind(rawValue: 17), payload: encoder.bytes)) }
    }

    @Test func mempoolTransactionsLeaveAfterTheirTimeToLive() throws {
        var mempool = Mempool(transactionsMax: 10, transactionsPerAccountMax: 10)
        let first = try Self.transaction(nonce: 0).verified(chainId: "local-x")
        let second = try Self.transaction(nonce: 1).verified(chainId: "local-x")
        try mempool.add(first, admittedAt: 1_000)
        try mempool.add(second, admittedAt: 2_000)
        #expect(mempool.removeAdmitted(atOrBefore: 999).isEmpty)
        #expect(mempool.removeAdmitted(atOrBefore: 1_000).map(\.id) == [first.id])
        #expect(mempool.count == 1 && mempool.contains(second.id))
        // A transaction removed (committed) and admitted again keeps only its new admission time.
        mempool.remove([second.id])
        try mempool.add(second, admittedAt: 5_000)
        #expect(mempool.removeAdmitted(atOrBefore: 4_000).isEmpty)
        #expect(mempool.contains(second.id))
        #expect(mempool.removeAdmitted(atOrBefore: 5_000).map(\.id) == [second.id])
        #expect(mempool.count == 0)
    }

    func load(_ text: String, name: String = "node.toml") -> Result<NodeConfiguration, NodeConfiguration.ConfigurationError> {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-netconfig-\(UInt64.random(in: 0...UInt64.max))")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        do { return .success(try NodeConfiguration.load(path: path)) } catch { return .failure(error) }
    }

    func code(_ text: String) -> String? {
        if case .failure(let error) = load(text) { return error.code }
        return nil
    }

    static let peerKey = PrivateKey(seed: [UInt8](repeating: 7, count: 32))!.publicKey.address.description
    static let base = """
    dataDirectory = "data"
    genesisFile = "genesis.json"
    validatorKeyFile = "key.json"

    """

    @Test func theLocalNetworkConfigurationsLoad() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["city", "chamber", "operator", "bank", "observer"] {
            let configuration = try NodeConfiguration.load(path: root.appendingPathComponent("Network/local/\(name).toml").path)
            let network = try #require(configuration.network)
            #expect(network.peers.count == (name == "observer" ? 4 : 3))
            #expect((network.listen == nil) == (name == "observer"))
            #expect(configuration.genesisFile.hasSuffix("Genesis/local-network.json"))
        }
    }

    @Test func networkSectionInTOML() throws {
        let configuration = try load(Self.base + """
        signerStateFile = "data/signer"
        mempoolTransactionTtlMilliseconds = 60000

        [network]
        listen = "127.0.0.1:26601"
        observerKeys = ["\(Self.peerKey)"]

        [[network.peers]]
        name = "chamber"
        address = "127.0.0.1:26602"
        publicKey = "\(Self.peerKey)"

        [consensus]
        timeoutProposeMilliseconds = 2000
        """).get()
        #expect(configuration.network?.peers.first?.name == "chamber")
        #expect(configuration.network?.listen == "127.0.0.1:26601")
        #expect(configuration.consensus.timeoutProposeMilliseconds == 2000)
        #expect(configuration.consensus.timeoutPrevoteMilliseconds == 1000)
        #expect(configuration.mempoolTransactionTtlMilliseconds == 60000)
        #expect(configuration.signerStateFile?.hasSuffix("/data/signer") == true)
        // No [network]: a single validator.
        #expect(try load(Self.base).get().network == nil)
    }

    @Test func badNetworkConfigurationsAreRefusedWithCodes() {
        #expect(code(Self.base + "[network]\nlisten = \"nowhere\"\n") == "config.invalid_value")
        #expect(code(Self.base + "[network]\n[[network.peers]]\nname = \"x\"\naddress = \"127.0.0.1:0\"\npublicKey = \"\(Self.peerKey)\"\n") == "config.invalid_value")
        #expect(code(Self.base + "[network]\n[[network.peers]]\nname = \"x\"\naddress = \"127.0.0.1:1\"\npublicKey = \"kz1nope\"\n") == "config.invalid_value")
        #expect(code(Self.base + "[network]\n[[network.peers]]\nname = \"x\"\naddress = \"127.0.0.1:1\"\npublicKey = \"\(Self.peerKey)\"\nkey = 1\n") == "config.unknown_field")
        #expect(code(Self.base + "[network]\nlisen = \"127.0.0.1:1\"\n") == "config.unknown_field")
        #expect(code(Self.base + "[consensus]\nemptyProposalWaitMilliseconds = 5000\n") == "config.invalid_value")
        #expect(code(Self.base + "[network]\noutboundQueueBytesMaxPerPeer = 65536\n") == "config.invalid_value")
        #expect(code(Self.base + "[network\n") == "config.invalid_toml")
        #expect(code(Self.base + "blockTransactionsMax = 1.5\n") == "config.invalid_toml")
    }

    @Test func metricsRenderInThePrometheusTextFormat() {
        let metrics = NodeMetrics()
        metrics.set("kizuna_height", 12)
        metrics.add("kizuna_peer_refusals_total", label: "peer.bad_proof")
        metrics.add("kizuna_peer_refusals_total", label: "peer.bad_proof")
        metrics.add("kizuna_missed_precommits_total", label: "we\"ird")
        let text = metrics.render()
        #expect(text.contains("# TYPE kizuna_height gauge\nkizuna_height 12\n"))
        #expect(text.contains("kizuna_peer_refusals_total{code=\"peer.bad_proof\"} 2\n"))
        #expect(text.contains("kizuna_missed_precommits_total{validator=\"we\\\"ird\"} 1\n"))
        #expect(text.contains("# HELP kizuna_peers "))
    }
}

/// A node in consensus mode does not report a transaction its proposal left out as rejected:
/// it is `deferred` (pending with a reason), comes back after the next commit, and commits
/// once it can.
@Suite struct DeferredTransactionTests {
    @Test func aTransactionLeftOutOfAProposalIsDeferredThenCommits() async throws {
        let genesis = APIFixture.makeGenesis()
        let blocks = try BlockStore(store: MemoryStore(), genesis: genesis)
        var logger = Logger(label: "deferred-test")
        logger.logLevel = .warning
        let node = try Node(configuration: APIFixture.defaultConfiguration(), genesis: genesis, blocks: blocks, key: APIFixture.validatorKey, mode: .consensus, logger: logger)
        let chainId = genesis.chainId
        var clock = genesis.genesisTime + 1000
        func build() async throws -> (Block, BlockExecution) {
            clock += 1000
            let tip = try blocks.tipHeight()
            return try await node.buildProposal(timestamp: clock, proposer: APIFixture.validatorKey.publicKey,
                                                lastCommit: tip == 0 ? nil : try blocks.certificate(at: tip))
        }
        func commit(_ block: Block, _ execution: BlockExecution) async throws {
            let certificate = CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [
                CommitCertificate.precommit(chainId: chainId, height: block.height, round: 0, blockHash: block.hash, key: APIFixture.validatorKey),
            ])
            try await node.commitDecided(block, certificate: certificate, execution: execution)
        }
        func decide() async throws -> Block {
            let (block, execution) = try await build()
            let certificate = CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [
                CommitCertificate.precommit(chainId: chainId, height: block.height, round: 0, blockHash: block.hash, key: APIFixture.validatorKey),
            ])
            try await node.commitDecided(block, certificate: certificate, execution: execution)
            return block
        }
        var registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: APIFixture.coinIssuer, nextNonce: 0)
        var resident = TransactionBuilder(chainId: chainId, key: APIFixture.resident1, nextNonce: 0)
        try await node.submit(registrar.register(APIFixture.resident1.publicKey, role: .resident).verified(chainId: chainId))
        try await node.submit(registrar.register(APIFixture.merchant.publicKey, role: .merchant, merchantCategory: "food").verified(chainId: chainId))
        _ = try await decide()

        // A payment the resident cannot afford yet: left out, deferred with the ledger's code.
        let payment = try resident.pay(merchant: APIFixture.merchant.publicKey, amount: 3000).verified(chainId: chainId)
        try await node.submit(payment)
        let (first, firstExecution) = try await build()
        #expect(!first.transactions.contains(payment.signed))
        let afterFirst = await node.status(of: payment.id)
        guard case .deferred(let error) = afterFirst else {
            Issue.record("expected deferred, got \(afterFirst)")
            return
        }
        #expect(error.code.rawValue.hasPrefix("ledger."))
        // Not final: never reported rejected; back in the mempool after the commit.
        #expect(afterFirst != .rejected(error))
        try await commit(first, firstExecution)
        #expect(await node.status(of: payment.id) == .pending)

        // The coins arrive; the payment commits in a later block.
        try await node.submit(issuer.charge(to: APIFixture.resident1.publicKey, amount: 5000, receiptId: "deferred-1").verified(chainId: chainId))
        var committed = false
        for _ in 0..<4 where !committed {
            _ = try await decide()
            if case .committed = await node.status(of: payment.id) { committed = true }
        }
        let final = await node.status(of: payment.id)
        #expect(committed, "the deferred payment never committed: \(final)")
    }

    /// A deferred transaction that finds the mempool full after a commit stays deferred (its
    /// client was told it is pending) and comes back when there is room; past the
    /// time-to-live it is rejected like any pending transaction. (A spike found the first:
    /// such transactions vanished, and with them every later nonce of their accounts.)
    @Test func aDeferredTransactionSurvivesAFullMempoolAndExpiresWithItsTimeToLive() async throws {
        let genesis = APIFixture.makeGenesis()
        let blocks = try BlockStore(store: MemoryStore(), genesis: genesis)
        var logger = Logger(label: "deferred-full-test")
        logger.logLevel = .warning
        var configuration = APIFixture.defaultConfiguration()
        configuration.mempoolTransactionsMax = 2
        let node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: APIFixture.validatorKey, mode: .consensus, logger: logger)
        let chainId = genesis.chainId
        var clock = genesis.genesisTime + 1000
        func build() async throws -> (Block, BlockExecution) {
            clock += 1000
            let tip = try blocks.tipHeight()
            return try await node.buildProposal(timestamp: clock, proposer: APIFixture.validatorKey.publicKey,
                                                lastCommit: tip == 0 ? nil : try blocks.certificate(at: tip))
        }
        func commit(_ block: Block, _ execution: BlockExecution) async throws {
            let certificate = CommitCertificate(height: block.height, round: 0, blockHash: block.hash, signatures: [
                CommitCertificate.precommit(chainId: chainId, height: block.height, round: 0, blockHash: block.hash, key: APIFixture.validatorKey),
            ])
            try await node.commitDecided(block, certificate: certificate, execution: execution)
        }
        var registrar = TransactionBuilder(chainId: chainId, key: APIFixture.registrar, nextNonce: 0)
        var resident = TransactionBuilder(chainId: chainId, key: APIFixture.resident1, nextNonce: 0)
        try await node.submit(registrar.register(APIFixture.resident1.publicKey, role: .resident).verified(chainId: chainId))
        try await node.submit(registrar.register(APIFixture.merchant.publicKey, role: .merchant, merchantCategory: "food").verified(chainId: chainId))
        let (setup, setupExecution) = try await build()
        try await commit(setup, setupExecution)

        // Left out (the resident has no coins): deferred, out of the mempool.
        let payment = try resident.pay(merchant: APIFixture.merchant.publicKey, amount: 3000).verified(chainId: chainId)
        try await node.submit(payment)
        let (first, firstExecution) = try await build()
        #expect(!first.transactions.contains(payment.signed))
        // Two more transactions fill the mempool before that block commits.
        try await node.submit(registrar.register(PrivateKey(seed: Hash.sha256([7, 1]).bytes)!.publicKey, role: .resident).verified(chainId: chainId))
        try await node.submit(registrar.register(PrivateKey(seed: Hash.sha256([7, 2]).bytes)!.publicKey, role: .resident).verified(chainId: chainId))
        #expect(await node.pendingCount == 2)
        try await commit(first, firstExecution)
        guard case .deferred = await node.status(of: payment.id) else {
            Issue.record("a full mempool lost the deferred payment: \(await node.status(of: payment.id))")
            return
        }
        // The registrations commit; there is room again, and the payment is pending.
        let (second, secondExecution) = try await build()
        #expect(second.transactions.count == 2)
        try await commit(second, secondExecution)
        #expect(await node.status(of: payment.id) == .pending)

        // Deferred again (still no coins), then past its time-to-live: rejected, final.
        let (third, thirdExecution) = try await build()
        #expect(!third.transactions.contains(payment.signed))
        guard case .deferred = await node.status(of: payment.id) else {
            Issue.record("expected deferred, got \(await node.status(of: payment.id))")
            return
        }
        _ = thirdExecution
        await node.expireMempool(nowMilliseconds: UInt64.max / 2)
        guard case .rejected(let error) = await node.status(of: payment.id) else {
            Issue.record("a deferred transaction outlived its time-to-live: \(await node.status(of: payment.id))")
            return
        }
        #expect(error.code.rawValue == "mempool.expired")
    }
}
