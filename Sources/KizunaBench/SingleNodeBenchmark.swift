import KizunaNode
public import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaRocksDB
import KizunaStorage
public import Logging
import Foundation
import Dispatch

/// Measures a single validator committing transfers into RocksDB, and in the same run the
/// machine's own limits (Ed25519 verifications per second, synced RocksDB batches per
/// second), so the figures can be read as ratios on a noisy machine.
public struct SingleNodeBenchmark: Sendable {
    public var residents: Int
    public var transfers: Int
    public var blockTransactionsMax: Int
    public var folder: String

    public init(residents: Int, transfers: Int, blockTransactionsMax: Int, folder: String) {
        self.residents = residents
        self.transfers = transfers
        self.blockTransactionsMax = blockTransactionsMax
        self.folder = folder
    }

    public struct Result: Codable, Sendable {
        public var cores: Int
        public var ed25519VerifyPerSecondOneCore: Double
        public var ed25519VerifyPerSecondAllCores: Double
        public var syncedBatchesPerSecond: Double
        public var transactions: Int
        public var blocks: Int
        public var seconds: Double
        public var transactionsPerSecond: Double
        public var blocksPerSecond: Double
        public var verifyBoundTransactionsPerSecond: Double
        public var ratioToVerifyBound: Double
        public var bytesOnDisk: UInt64
        public var bytesOnDiskPerTransaction: Double
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    func seconds(since start: DispatchTime) -> Double { Self.seconds(since: start) }

    /// Ed25519 verifications per second (swift-crypto, 200-byte messages): `perCore` on one
    /// core, then `perCore` on each of `cores` threads at once.
    public static func measureEd25519Verify(cores: Int, perCore: Int = 20_000) -> (oneCore: Double, allCores: Double) {
        let key = PrivateKey()
        let message = [UInt8](repeating: 7, count: 200)
        let signature = key.sign(message)
        let publicKey = key.publicKey
        var start = DispatchTime.now()
        for _ in 0..<perCore { precondition(publicKey.isValidSignature(signature, for: message)) }
        let verifyOne = Double(perCore) / seconds(since: start)
        start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: cores) { _ in
            for _ in 0..<perCore { precondition(publicKey.isValidSignature(signature, for: message)) }
        }
        let verifyAll = Double(perCore * cores) / seconds(since: start)
        return (verifyOne, verifyAll)
    }

    /// Synced RocksDB write batches per second (one 512-byte put per batch, `sync = true`), in
    /// a new store at `path`.
    public static func measureSyncedBatches(path: String, writes: Int = 300) throws -> Double {
        let probe = try RocksDBStore(path: path)
        defer { probe.close() }
        let start = DispatchTime.now()
        for index in 0..<writes {
            var batch = WriteBatch()
            batch.put([UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 512), for: Array("probe-\(index)".utf8), in: .meta)
            try probe.write(batch, sync: true)
        }
        return Double(writes) / seconds(since: start)
    }

    public func run(progress: (String) -> Void) async throws -> Result {
        try? FileManager.default.removeItem(atPath: folder)
        let cores = ProcessInfo.processInfo.activeProcessorCount

        // 1. Ed25519 verifications per second, one core and all cores.
        let (verifyOne, verifyAll) = Self.measureEd25519Verify(cores: cores)
        progress(String(format: "ed25519 verify: %.0f/s on one core, %.0f/s on %d cores", verifyOne, verifyAll, cores))

        // 2. Synced RocksDB write batches per second.
        let syncedPerSecond = try Self.measureSyncedBatches(path: folder + "/sync-probe")
        progress(String(format: "synced RocksDB batches: %.0f/s", syncedPerSecond))

        // 3. A chain: register and charge residents, then time a stream of sends.
        let chain = BenchChain(chainId: "bench-kizuna")
        let (validatorKey, registrar, issuer, genesis) = (chain.validatorKey, chain.registrar, chain.issuer, chain.genesis)
        let store = try RocksDBStore(path: folder + "/chain")
        defer { store.close() }
        let blocks = try BlockStore(store: store, genesis: genesis)
        var configuration = NodeConfiguration.defaults
        configuration.blockTransactionsMax = blockTransactionsMax
        configuration.mempoolTransactionsMax = max(transfers, residents * 2) + 10
        configuration.mempoolTransactionsPerAccountMax = 10_000
        // The whole load is submitted at once on purpose (throughput of one node): no admission control.
        configuration.admission.enabled = false
        var logger = Logger(label: "kizuna.bench")
        logger.logLevel = .warning
        let node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: validatorKey, logger: logger)
        var clock = genesis.genesisTime + 1000
        let accounts = (0..<residents).map { _ in PrivateKey() }
        var registrarBuilder = KizunaCore.Transaction(chainId: genesis.chainId, signer: registrar.publicKey, nonce: 0, body: .send(Send(to: registrar.publicKey, amount: 0)))
        var issuerNonce: UInt64 = 0
        for account in accounts {
            registrarBuilder.body = .register(Register(account: account.publicKey, role: .resident))
            try await node.submit(registrarBuilder.signed(by: registrar).verified(chainId: genesis.chainId))
            registrarBuilder.nonce += 1
        }
        // Registrations commit before the charges: admission checks a charge on committed state.
        while await node.pendingCount > 0 {
            clock += 1000
            try await node.produceBlock(nowMilliseconds: clock)
        }
        for account in accounts {
            let charge = KizunaCore.Transaction(chainId: genesis.chainId, signer: issuer.publicKey, nonce: issuerNonce, body: .charge(Charge(to: account.publicKey, amount: 50_000, channel: .app, receiptId: "bench-\(issuerNonce)")))
            issuerNonce += 1
            try await node.submit(charge.signed(by: issuer).verified(chainId: genesis.chainId))
        }
        while await node.pendingCount > 0 {
            clock += 1000
            try await node.produceBlock(nowMilliseconds: clock)
        }
        progress("set up \(residents) residents")

        // Pre-sign the sends (signing is the wallet's cost, not the node's).
        var nonces = [UInt64](repeating: 0, count: residents)
        var signed: [SignedTransaction] = []
        signed.reserveCapacity(transfers)
        for index in 0..<transfers {
            let from = index % residents
            let to = (index * 7 + 1) % residents == from ? (from + 1) % residents : (index * 7 + 1) % residents
            let transaction = KizunaCore.Transaction(chainId: genesis.chainId, signer: accounts[from].publicKey, nonce: nonces[from], body: .send(Send(to: accounts[to].publicKey, amount: 1 + UInt64(index % 100))))
            nonces[from] += 1
            signed.append(transaction.signed(by: accounts[from]))
        }
        let heightBefore = try blocks.tipHeight()
        progress("pre-signed \(transfers) sends; measuring")

        // Measured: signature verification on all cores, admission, block building,
        // execution, state commitment and the synced commit.
        let start = DispatchTime.now()
        let chainId = genesis.chainId
        let toVerify = signed
        let verified = parallelMap(toVerify.indices, parts: cores) { index in try! toVerify[index].verified(chainId: chainId) }
        for transaction in verified {
            try await node.submit(transaction)
        }
        while await node.pendingCount > 0 {
            clock += 1000
            try await node.produceBlock(nowMilliseconds: clock)
        }
        let elapsed = seconds(since: start)
        let committedBlocks = Int(try blocks.tipHeight() - heightBefore)
        let perSecond = Double(transfers) / elapsed
        progress(String(format: "%d sends in %d blocks in %.2f s: %.0f tx/s, %.1f blocks/s", transfers, committedBlocks, elapsed, perSecond, Double(committedBlocks) / elapsed))

        store.compact()
        let bytes = store.diskUsageBytes()
        let totalTransactions = transfers + residents * 2
        let verifyBound = verifyAll / 1 // one validator verifies every transaction once
        return Result(
            cores: cores, ed25519VerifyPerSecondOneCore: verifyOne, ed25519VerifyPerSecondAllCores: verifyAll,
            syncedBatchesPerSecond: syncedPerSecond, transactions: transfers, blocks: committedBlocks, seconds: elapsed,
            transactionsPerSecond: perSecond, blocksPerSecond: Double(committedBlocks) / elapsed,
            verifyBoundTransactionsPerSecond: verifyBound, ratioToVerifyBound: perSecond / verifyBound,
            bytesOnDisk: bytes, bytesOnDiskPerTransaction: Double(bytes) / Double(totalTransactions)
        )
    }
}
