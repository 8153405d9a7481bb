import KizunaCore
import KizunaNode
public import KizunaChain
import KizunaLedger
import KizunaRocksDB
import KizunaStorage
import Logging
import Foundation
import Dispatch

/// Measures the auditor's tool (`kizuna audit --data`) on a chain of N transactions, and in
/// the same run the machine's Ed25519 verifications per second on all cores (just before and
/// just after the audit), so the audit's transactions per second can be read as a ratio.
///
/// The chain is produced the honest way, by a real single-validator `Node` committing into
/// RocksDB: residents are registered and charged, then they send coins to each other in
/// rounds (every resident sends once per round, to the resident a fixed shift away, the same
/// amount, so every balance is unchanged after each round and no send can fail). The data
/// folder holds `chain/` (the node's store), `genesis.json` and `chain-info.json` (written
/// last; a folder without it is rebuilt), so `kizuna audit --genesis F/genesis.json --data F`
/// audits the same chain.
public struct AuditBenchmark: Sendable {
    /// The chain has at least this many transactions (set-up included).
    public var transactions: Int
    public var residents: Int
    public var blockTransactionsMax: Int
    public var folder: String
    /// Rebuild the chain even if the folder holds one of this size.
    public var fresh: Bool
    public var invariantsEveryBlocks: UInt64
    /// After the audit, time a pass that only reads the blocks and one that reads and verifies
    /// every signature, to separate verification from replay.
    public var breakdown: Bool
    /// Sends signed, then submitted and committed, per set-up batch.
    public var sendBatch = 50_000

    /// Residents for a chain of `transactions` when not given: 1 per 100 transactions,
    /// between 2 and 10,000.
    public static func defaultResidents(transactions: Int) -> Int {
        min(10_000, max(2, transactions / 100))
    }

    public init(transactions: Int, residents: Int, blockTransactionsMax: Int, folder: String, fresh: Bool, invariantsEveryBlocks: UInt64, breakdown: Bool) {
        self.transactions = transactions
        self.residents = residents
        self.blockTransactionsMax = blockTransactionsMax
        self.folder = folder
        self.fresh = fresh
        self.invariantsEveryBlocks = invariantsEveryBlocks
        self.breakdown = breakdown
    }

    public var genesisPath: String { BenchChainFolder(path: folder).genesisPath }
    public var chainPath: String { BenchChainFolder(path: folder).chainPath }

    /// What the folder holds; written once the chain is complete.
    public struct ChainInfo: BenchChainInfo, Equatable {
        public var genesisHash: String
        public var requestedTransactions: Int
        public var residents: Int
        public var blockTransactionsMax: Int
        public var blocks: UInt64
        public var transactions: Int
        public var setupSeconds: Double

        static func spec(transactions: Int, residents: Int, blockTransactionsMax: Int) -> String {
            "a chain of \(transactions) transactions, \(residents) residents, blocks of ≤\(blockTransactionsMax)"
        }

        public var spec: String { Self.spec(transactions: requestedTransactions, residents: residents, blockTransactionsMax: blockTransactionsMax) }
    }

    public struct Breakdown: Codable, Sendable {
        /// Reading and decoding every block and certificate from the store, nothing else.
        public var readSeconds: Double
        /// Reading, then verifying every transaction's signature on all cores, in windows of
        /// blocks as the audit does.
        public var readAndVerifySeconds: Double
        /// Transactions verified per second on all cores (decode excluded): the audit's
        /// bound if the replay cost nothing.
        public var transactionVerifyPerSecondAllCores: Double
        /// The audit's time minus read-and-verify: execution, state roots, certificates, the
        /// replica's commits, invariants and the final comparison with the stored state.
        public var replaySecondsEstimate: Double
        /// Transactions per second of that remainder, on one core.
        public var replayTransactionsPerSecondEstimate: Double
    }

    public struct Result: Codable, Sendable {
        public var cores: Int
        public var residents: Int
        public var blockTransactionsMax: Int
        public var blocks: UInt64
        public var transactions: Int
        public var chainReused: Bool
        public var chainSetupSeconds: Double
        public var chainBytesOnDisk: UInt64
        public var invariantsEveryBlocks: UInt64
        public var auditSeconds: Double
        /// CPU seconds of the whole process (all threads) during the audit.
        public var auditCPUSeconds: Double
        /// CPU seconds of the thread that ran the audit: the replay, plus its share of the
        /// signature verification (it is one of `concurrentPerform`'s workers).
        public var auditThreadCPUSeconds: Double
        public var transactionsPerSecond: Double
        public var blocksPerSecond: Double
        public var reportsSeconds: Double
        public var ed25519VerifyPerSecondOneCoreBefore: Double
        public var ed25519VerifyPerSecondAllCoresBefore: Double
        public var ed25519VerifyPerSecondOneCoreAfter: Double
        public var ed25519VerifyPerSecondAllCoresAfter: Double
        /// Audit transactions per second ÷ the mean of the all-cores verify rates before
        /// and after.
        public var ratioToVerifyAllCores: Double
        public var ratioToVerifyAllCoresBefore: Double
        public var ratioToVerifyAllCoresAfter: Double
        public var tipHash: String
        public var stateRoot: String
        public var breakdown: Breakdown?
    }

    public struct SetupError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { "bench audit: \(message)" }
    }

    /// CPU seconds (user + system) so far of the whole process (`CLOCK_PROCESS_CPUTIME_ID`)
    /// or of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
    static func cpuSeconds(_ clock: clockid_t) -> Double {
        // A 64-bit `struct timespec` is two machine words: seconds, nanoseconds.
        var time: (seconds: Int, nanoseconds: Int) = (0, 0)
        withUnsafeMutableBytes(of: &time) { raw in
            _ = clock_gettime(clock, raw.baseAddress!.assumingMemoryBound(to: timespec.self))
        }
        return Double(time.seconds) + Double(time.nanoseconds) / 1e9
    }

    public func run(progress: (String) -> Void, auditProgress: (ChainAuditor.Progress) -> Void) async throws -> Result {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard transactions >= 2 * residents + residents, residents >= 2 else {
            throw SetupError(message: "--transactions \(transactions) is too small for \(residents) residents (the set-up alone is 2 per resident, and every resident should send at least once)")
        }
        // All blocks fall in one month (one second apart): a resident's sends must stay
        // inside the monthly send limit.
        let rounds = (transactions - 2 * residents + residents - 1) / residents
        let sentPerResident = (0..<rounds).reduce(UInt64(0)) { $0 + 1 + UInt64($1 % 100) }
        guard sentPerResident <= Genesis.defaultCoinPolicy.sendLimitPerMonthYen else {
            throw SetupError(message: "\(rounds) sends per resident exceed the monthly send limit; use more --residents")
        }

        // 1. The chain: reused if the folder holds a complete one of this size, else built.
        let spec = ChainInfo.spec(transactions: transactions, residents: residents, blockTransactionsMax: blockTransactionsMax)
        let (info, reused) = try await BenchChainFolder(path: folder).chain(spec: spec, fresh: fresh, progress: progress) { try await buildChain(progress: progress) }
        // 2. The machine's verify rate just before the audit.
        let before = SingleNodeBenchmark.measureEd25519Verify(cores: cores)
        progress(String(format: "ed25519 verify before the audit: %.0f/s on one core, %.0f/s on %d cores", before.oneCore, before.allCores, cores))

        // 3. The audit, exactly as `kizuna audit --genesis … --data …` runs it.
        let genesis = try Genesis.load(path: genesisPath)
        let store = try RocksDBStore(path: chainPath, readOnly: true)
        defer { store.close() }
        let chainBytes = store.diskUsageBytes()
        progress(String(format: "chain on disk: %.1f MiB (%.0f bytes per transaction)", Double(chainBytes) / 1_048_576, Double(chainBytes) / Double(info.transactions)))
        let source = try BlockStore(store: store, genesis: genesis)
        var auditor = ChainAuditor(genesis: genesis, source: source)
        auditor.invariantsEveryBlocks = invariantsEveryBlocks
        let cpuBefore = Self.cpuSeconds(CLOCK_PROCESS_CPUTIME_ID)
        let threadCPUBefore = Self.cpuSeconds(CLOCK_THREAD_CPUTIME_ID)
        let auditStart = DispatchTime.now()
        let (summary, replica) = try auditor.run(storedState: store, progress: auditProgress)
        let auditSeconds = SingleNodeBenchmark.seconds(since: auditStart)
        let auditCPU = Self.cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpuBefore
        let auditThreadCPU = Self.cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - threadCPUBefore
        let reportsStart = DispatchTime.now()
        _ = try AuditReport(summary: summary, replica: replica)
        let reportsSeconds = SingleNodeBenchmark.seconds(since: reportsStart)
        guard summary.blocks == info.blocks, summary.transactions == info.transactions else {
            throw SetupError(message: "the audit saw \(summary.blocks) blocks and \(summary.transactions) transactions; the chain info says \(info.blocks) and \(info.transactions)")
        }
        let perSecond = Double(summary.transactions) / auditSeconds
        progress(String(format: "audit: %llu blocks, %d transactions in %.1f s (CPU: %.1f s all threads, %.1f s the auditing thread): %.0f tx/s, %.2f blocks/s; reports %.2f s; ",
                        summary.blocks, summary.transactions, auditSeconds, auditCPU, auditThreadCPU, perSecond, Double(summary.blocks) / auditSeconds, reportsSeconds) + "tip " + summary.tipHash)

        // 4. The verify rate just after.
        let after = SingleNodeBenchmark.measureEd25519Verify(cores: cores)
        progress(String(format: "ed25519 verify after the audit: %.0f/s on one core, %.0f/s on %d cores", after.oneCore, after.allCores, cores))

        // 5. Where the time goes.
        var parts: Breakdown?
        if breakdown {
            parts = try measureBreakdown(source: source, chainId: genesis.chainId, cores: cores, auditSeconds: auditSeconds, transactions: summary.transactions, progress: progress)
        }

        let meanVerify = (before.allCores + after.allCores) / 2
        return Result(
            cores: cores, residents: info.residents, blockTransactionsMax: info.blockTransactionsMax,
            blocks: summary.blocks, transactions: summary.transactions, chainReused: reused,
            chainSetupSeconds: info.setupSeconds, chainBytesOnDisk: chainBytes,
            invariantsEveryBlocks: auditor.invariantsEveryBlocks, auditSeconds: auditSeconds, auditCPUSeconds: auditCPU, auditThreadCPUSeconds: auditThreadCPU,
            transactionsPerSecond: perSecond, blocksPerSecond: Double(summary.blocks) / auditSeconds, reportsSeconds: reportsSeconds,
            ed25519VerifyPerSecondOneCoreBefore: before.oneCore, ed25519VerifyPerSecondAllCoresBefore: before.allCores,
            ed25519VerifyPerSecondOneCoreAfter: after.oneCore, ed25519VerifyPerSecondAllCoresAfter: after.allCores,
            ratioToVerifyAllCores: perSecond / meanVerify,
            ratioToVerifyAllCoresBefore: perSecond / before.allCores, ratioToVerifyAllCoresAfter: perSecond / after.allCores,
            tipHash: summary.tipHash, stateRoot: summary.stateRoot, breakdown: parts
        )
    }

    // MARK: - The chain

    /// The folder's chain if it is complete and of this size, else nil (with the reason).
    /// Builds the chain through a single-validator node into RocksDB, compacts it and writes
    /// `genesis.json` and then `chain-info.json`.
    func buildChain(progress: (String) -> Void) async throws -> ChainInfo {
        let started = DispatchTime.now()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let chain = BenchChain(chainId: "bench-audit")
        let (validatorKey, registrar, issuer) = (chain.validatorKey, chain.registrar, chain.issuer)
        // The audit reads the genesis from the folder: build from what it reads back.
        let genesis = try BenchChainFolder(path: folder).prepare(chain.genesis, validatorKey: validatorKey)
        let chainId = genesis.chainId

        let sends = transactions - 2 * residents
        let batch = max(1, sendBatch)
        let store = try RocksDBStore(path: chainPath)
        defer { store.close() }
        // All blocks one second apart: the whole chain falls in one month.
        let writer = try BenchChainWriter(
            store: store, genesis: genesis, validatorKey: validatorKey, blockTransactionsMax: blockTransactionsMax,
            pendingMax: max(batch, 2 * residents), pendingPerAccountMax: max(batch / residents + 2, residents + 2),
            blockStepMilliseconds: 1000, expectedTransactions: transactions, label: "kizuna.bench.audit"
        )
        let blocks = writer.blocks

        // Residents: registered by the registrar and charged by the coin issuer.
        let accounts = parallelMap(0..<residents, parts: cores) { _ in PrivateKey() }
        // Registrations commit before the charges: admission checks a charge on committed state.
        try await writer.commit(accounts.enumerated().map { index, account in
            (KizunaCore.Transaction(chainId: chainId, signer: registrar.publicKey, nonce: UInt64(index), body: .register(Register(account: account.publicKey, role: .resident))), registrar)
        }, progress: progress, forceLine: true)
        try await writer.commit(accounts.enumerated().map { index, account in
            (KizunaCore.Transaction(chainId: chainId, signer: issuer.publicKey, nonce: UInt64(index), body: .charge(Charge(to: account.publicKey, amount: 50_000, channel: .app, receiptId: "bench-audit-\(index)"))), issuer)
        }, progress: progress, forceLine: true)
        progress("registered and charged \(residents) residents")

        // Sends in rounds: in round r every resident sends the same amount to the resident
        // `shift(r)` places on, so balances are back where they were after every round.
        func send(_ index: Int) -> (KizunaCore.Transaction, PrivateKey) {
            let round = index / residents
            let from = index % residents
            let shift = 1 + (round &* 7_919) % (residents - 1)
            let to = (from + shift) % residents
            let body = TransactionBody.send(Send(to: accounts[to].publicKey, amount: 1 + UInt64(round % 100)))
            return (KizunaCore.Transaction(chainId: chainId, signer: accounts[from].publicKey, nonce: UInt64(round), body: body), accounts[from])
        }
        var next = 0
        while next < sends {
            let end = min(sends, next + batch)
            try await writer.commit((next..<end).map(send), progress: progress)
            next = end
        }
        let committed = writer.committed
        let tip = try blocks.tipHeight()
        guard committed == transactions else {
            throw SetupError(message: "\(committed) of \(transactions) transactions committed; the node rejected some")
        }
        progress(String(format: "chain: %d transactions in %llu blocks in %.0f s; compacting", committed, tip, SingleNodeBenchmark.seconds(since: started)))
        store.compact()
        let setupSeconds = SingleNodeBenchmark.seconds(since: started)
        let info = ChainInfo(genesisHash: genesis.hash.hex, requestedTransactions: transactions, residents: residents, blockTransactionsMax: blockTransactionsMax, blocks: tip, transactions: committed, setupSeconds: setupSeconds)
        try BenchChainFolder(path: folder).write(info)
        progress(String(format: "chain built in %.0f s: ", setupSeconds) + chainPath + ", " + genesisPath)
        return info
    }

    /// Signs (the wallets' work) and verifies (the node's admission check) on all cores.
    static func signAndVerify(_ transactions: [(KizunaCore.Transaction, PrivateKey)], chainId: String, cores: Int) throws -> [VerifiedTransaction] {
        let verified = parallelMap(0..<transactions.count, parts: cores) { index in
            try? transactions[index].0.signed(by: transactions[index].1).verified(chainId: chainId)
        }
        return try verified.map { transaction in
            guard let transaction else { throw SetupError(message: "a freshly signed transaction does not verify") }
            return transaction
        }
    }

    // MARK: - Breakdown

    /// Times a read-only pass and a read-and-verify pass over the same chain, in the audit's
    /// windows, so the audit's time splits into reading, verification and the rest (replay).
    func measureBreakdown(source: BlockStore, chainId: String, cores: Int, auditSeconds: Double, transactions: Int, progress: (String) -> Void) throws -> Breakdown {
        let tip = try source.tipHeight()
        let window = UInt64(ChainAuditor(genesis: source.genesis, source: source).verifyWindowBlocks)
        func pass(verify: Bool) throws -> Double {
            let start = DispatchTime.now()
            var height: UInt64 = 1
            var count = 0
            while height <= tip {
                let end = min(tip, height + window - 1)
                var signed: [SignedTransaction] = []
                for h in height...end {
                    let block: Block = try source.block(at: h)
                    _ = try source.certificate(at: h) as CommitCertificate
                    signed.append(contentsOf: block.transactions)
                }
                if verify {
                    let signed = signed
                    let results = parallelMap(0..<signed.count, parts: cores) { index in
                        (try? signed[index].verified(chainId: chainId)) != nil
                    }
                    guard results.allSatisfy({ $0 }) else { throw SetupError(message: "a transaction did not verify in the breakdown pass") }
                }
                count += signed.count
                height = end + 1
            }
            precondition(count == transactions)
            return SingleNodeBenchmark.seconds(since: start)
        }
        let read = try pass(verify: false)
        progress(String(format: "breakdown: reading and decoding every block and certificate: %.1f s", read))
        let readAndVerify = try pass(verify: true)
        let verifySeconds = max(readAndVerify - read, 0.001)
        let replay = max(auditSeconds - readAndVerify, 0.001)
        progress(String(format: "breakdown: reading + verifying every signature on %d cores: %.1f s (verification %.1f s, %.0f tx/s); the rest of the audit (replay): %.1f s, %.0f tx/s",
                        cores, readAndVerify, verifySeconds, Double(transactions) / verifySeconds, replay, Double(transactions) / replay))
        return Breakdown(
            readSeconds: read, readAndVerifySeconds: readAndVerify,
            transactionVerifyPerSecondAllCores: Double(transactions) / verifySeconds,
            replaySecondsEstimate: replay, replayTransactionsPerSecondEstimate: Double(transactions) / replay
        )
    }
}
