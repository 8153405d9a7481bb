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
            .blocks([UnverifiedCertifiedBlock(block: block, certificate: certificate)]),
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
        if case .failure(let error) = load(text) { return error.code.rawValue }
        return nil
    }

    static let peerKey = PrivateKey(seed: [UInt8](repeating: 7, count: 32))!.publicKey.address.description
    static let base = """
    dataDirectory = "data"
    genesisFile = "genesis.json"
    validatorKeyFile = "key.json"

    """

    /// A field left out or set to null takes its default, in every section; a partial section
    /// keeps the defaults of the fields it leaves out; the three paths stay required.
    @Test func leftOutFieldsTakeTheirDefaults() throws {
        let configuration = try load("""
        {"dataDirectory": "data", "genesisFile": "genesis.json", "validatorKeyFile": "key.json", "logLevel": null,
         "api": {"port": 9000, "pageSizeMax": null}, "console": {"sessionsMax": 7}, "admission": {},
         "network": {"listen": "127.0.0.1:26601", "frameBytesMax": null}, "metrics": null}
        """, name: "node.json").get()
        let defaults = NodeConfiguration.defaults
        #expect(configuration.logLevel == defaults.logLevel)
        #expect(configuration.api == NodeConfiguration.API(host: defaults.api.host, port: 9000))
        #expect(configuration.console == NodeConfiguration.Console(sessionsMax: 7))
        #expect(configuration.admission == AdmissionControl.Settings())
        #expect(configuration.consensus == NodeConfiguration.Consensus())
        #expect(configuration.network == NodeConfiguration.Network(listen: "127.0.0.1:26601", peers: []))
        #expect(configuration.metrics == nil)
        #expect(configuration.commitWaitersMax == NodeConfiguration.commitWaitersMaxDefault)
        for path in ["dataDirectory", "genesisFile", "validatorKeyFile"] {
            let json = ["dataDirectory", "genesisFile", "validatorKeyFile"].filter { $0 != path }.map { "\"\($0)\": \"x\"" }.joined(separator: ", ")
            if case .failure(let error) = load("{\(json)}", name: "node.json") {
                #expect(error.code == .missingField, "\(path): \(error)")
            } else {
                Issue.record("a configuration without \(path) loaded")
            }
        }
    }

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
