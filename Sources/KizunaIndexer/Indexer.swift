import Dispatch
public import Foundation
public import Logging
public import KizunaCore
import KizunaStorage
import KizunaLedger
import KizunaChain
import KizunaAudit
import KizunaNode

/// `kizuna index`: follows a node's committed blocks over its API and writes them into
/// PostgreSQL (docs/indexer.md).
///
/// Nothing the node sends is trusted. Each block is verified as the auditor verifies it
/// (`kizuna audit --remote`, docs/audit.md): read with its certificate through
/// `RemoteChainSource`, executed by the ledger on an in-memory replica (`BlockValidator`: header,
/// parent certificate, every signature, the state root), its commit certificate checked
/// against the genesis validator set, and the ledger's invariants checked. Only then are its
/// rows written.
///
/// Resumable after a crash at any instant: a batch of blocks, the reports after it and the
/// indexed height and tip hash are written in one PostgreSQL transaction, so the database
/// holds either all of a batch or none of it. On start the indexer replays (and verifies) the
/// chain up to the indexed height into memory and checks that the node's block there is the
/// one the database holds — then continues from the next height.
public final class Indexer: @unchecked Sendable {
    public let configuration: IndexerConfiguration
    public let genesis: Genesis
    let source: RemoteChainSource
    let logger: Logger

    /// Progress after each written batch.
    public struct Progress: Sendable {
        public var height: UInt64
        public var nodeTip: UInt64
        public var blocks: Int
        public var transactions: Int
        public var blocksPerSecond: Double
        public var transactionsPerSecond: Double
        /// Where this run's time went, in seconds, summed over its batches: reading blocks and
        /// certificates from the node, verifying and replaying them (with the rows built),
        /// computing the reports, and the PostgreSQL transaction.
        public var readSeconds: Double = 0
        public var verifySeconds: Double = 0
        public var reportsSeconds: Double = 0
        public var writeSeconds: Double = 0
    }

    public init(configuration: IndexerConfiguration, logger: Logger) throws(IndexerError) {
        self.configuration = configuration
        self.logger = logger
        do {
            genesis = try Genesis.load(path: configuration.genesisFile)
        } catch {
            throw IndexerError(.badConfig, "cannot load the genesis file \(configuration.genesisFile): \(error)", cause: error)
        }
        guard let url = URL(string: configuration.nodeURL) else {
            throw IndexerError(.badConfig, "node.url \(configuration.nodeURL) is not a URL")
        }
        var source = RemoteChainSource(baseURL: url, token: try configuration.token())
        source.prefetchBlocks = max(16, min(configuration.batchBlocksMax, 256))
        self.source = source
    }

    /// Runs until the index reaches `untilHeight` (if given), or — with `once` — the node's
    /// tip at the time; otherwise follows the node for ever.
    public func run(untilHeight: UInt64? = nil, once: Bool = false, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws(IndexerError) {
        let index = try await PostgresIndex.connect(configuration, logger: logger)
        do throws(IndexerError) {
            try await follow(index, untilHeight: untilHeight, once: once, progress: progress)
        } catch {
            await index.close()
            throw error
        }
        await index.close()
    }

    private func follow(_ index: PostgresIndex, untilHeight: UInt64?, once: Bool, progress: @escaping @Sendable (Progress) -> Void) async throws(IndexerError) {
        try await index.lockWriter()
        try await index.migrate(biRole: configuration.postgres.biRole)
        let replica: BlockStore
        // The invariants after every block at the cost of what it changed (`IncrementalInvariants`,
        // docs/audit.md): the genesis state is scanned once.
        var invariants: IncrementalInvariants
        do {
            replica = try BlockStore(store: MemoryStore(), genesis: genesis)
            let started = try IncrementalInvariants.start(store: replica.store, genesis: genesis)
            if let violation = started.violation {
                throw IndexerError(.verifyFailed, "the genesis state breaks an invariant of design §2.4: \(violation)")
            }
            invariants = started.invariants
        } catch let error as IndexerError {
            throw error
        } catch {
            throw IndexerError(.verifyFailed, "the genesis does not build a chain: \(error)", cause: error)
        }
        var tip: PostgresIndex.Tip
        if let stored = try await index.tip() {
            guard stored.chainId == genesis.chainId, stored.genesisHash == genesis.hash.hex else {
                throw IndexerError(.wrongChain, "the database indexes chain \(stored.chainId) (genesis \(stored.genesisHash)), not \(genesis.chainId) (genesis \(genesis.hash.hex)); use another database")
            }
            tip = stored
        } else {
            try await index.start(chainId: genesis.chainId, genesisHash: genesis.hash.hex, genesisTip: try chainTip(replica))
            guard let started = try await index.tip() else { throw IndexerError(.database, "the index's state row is missing after it was written") }
            tip = started
        }
        // Resume: replay (and verify) what is indexed, into memory only.
        if tip.height > 0 {
            _ = try? await readNodeTip()  // lets the source prefetch up to the node's tip
            logger.info("resuming: replaying blocks 1…\(tip.height) from the node to rebuild the state", metadata: ["height": "\(tip.height)"])
            var next: UInt64 = 1
            while next <= tip.height {
                let last = min(tip.height, next + UInt64(max(configuration.batchBlocksMax, 64)) - 1)
                let window = try await fetch(next...last)
                for ((block, certificate), verified) in zip(window, try verifySignatures(window)) {
                    _ = try verify(block, certificate, verified: verified, into: replica, invariants: &invariants, fullScan: block.height == tip.height)
                }
                next = last + 1
            }
            let replayed = try chainTip(replica)
            guard replayed.hash.hex == tip.tipHash else {
                throw IndexerError(.fork, "the node's block \(tip.height) is \(replayed.hash.hex) but the database indexed \(tip.tipHash); the node is on another chain or the index is from another node's fork")
            }
            logger.info("resumed at height \(tip.height), tip \(tip.tipHash)")
        }
        let started = DispatchTime.now()
        var indexedBlocks = 0
        var indexedTransactions = 0
        var phases = (read: 0, verify: 0, reports: 0, write: 0)
        var lastDay: UInt32? = tip.height > 0 ? LedgerCalendar.japanDayAndHour(try chainTip(replica).timestamp).day : nil
        var onceTarget: UInt64?
        while true {
            if let untilHeight, tip.height >= untilHeight { return }
            let nodeTip: UInt64
            do throws(IndexerError) {
                nodeTip = try await readNodeTip()
            } catch {
                if once { throw error }
                logger.warning("the node does not answer (\(error)); asking again in \(configuration.pollMilliseconds) ms")
                try? await Task.sleep(nanoseconds: UInt64(configuration.pollMilliseconds) * 1_000_000)
                continue
            }
            if once, onceTarget == nil { onceTarget = nodeTip }
            let target = min(nodeTip, untilHeight ?? .max, onceTarget ?? .max)
            if tip.height >= target {
                if let onceTarget, tip.height >= onceTarget { return }
                try? await Task.sleep(nanoseconds: UInt64(configuration.pollMilliseconds) * 1_000_000)
                continue
            }
            let last = min(target, tip.height + UInt64(configuration.batchBlocksMax))
            var clock = DispatchTime.now().uptimeNanoseconds
            func lap() -> Int {
                let now = DispatchTime.now().uptimeNanoseconds
                defer { clock = now }
                return Int((now - clock) / 1_000_000)
            }
            let records: [(Block, CommitCertificate)]
            do throws(IndexerError) {
                records = try await fetch((tip.height + 1)...last)
            } catch {
                if once { throw error }
                logger.warning("reading blocks \(tip.height + 1)…\(last) failed (\(error)); trying again in \(configuration.pollMilliseconds) ms")
                try? await Task.sleep(nanoseconds: UInt64(configuration.pollMilliseconds) * 1_000_000)
                continue
            }
            let fetchMilliseconds = lap()
            var rows: [BlockRows] = []
            var days: [UInt32] = []
            var programDays: [StateRows.ProgramDay] = []
            if let lastDay { days.append(lastDay) }
            let verified = try verifySignatures(records)
            for (offset, (block, certificate)) in records.enumerated() {
                let isLast = offset == records.count - 1
                let every = configuration.invariantsEveryBlocks
                let execution = try verify(block, certificate, verified: verified[offset], into: replica, invariants: &invariants, fullScan: every > 0 && block.height % every == 0)
                rows.append(try BlockRows(block: block, certificate: certificate, execution: execution))
                let day = LedgerCalendar.japanDayAndHour(block.header.timestamp).day
                if !days.contains(day) { days.append(day) }
                // The burn-down keeps each day's last figures: snapshot at a day's last block.
                let nextDay = isLast ? nil : LedgerCalendar.japanDayAndHour(records[offset + 1].0.header.timestamp).day
                if nextDay != day {
                    do {
                        programDays.append(StateRows.ProgramDay(day: BlockRows.dayText(day), height: Int64(block.height), programs: try LedgerReports(store: replica.store, genesis: genesis).programs()))
                    } catch {
                        throw IndexerError(.verifyFailed, "block \(block.height): the programs cannot be read from the replayed state: \(error)", cause: error)
                    }
                }
                lastDay = day
            }
            let verifyMilliseconds = lap()
            let state: StateRows
            do {
                state = try StateRows.compute(replica: replica, days: days, programDays: programDays)
            } catch {
                throw IndexerError(.verifyFailed, "block \(last): the reports cannot be computed from the replayed state: \(error)", cause: error)
            }
            let reportsMilliseconds = lap()
            let newTip = try chainTip(replica)
            try await index.write(from: tip, blocks: rows, state: state, tip: newTip)
            let writeMilliseconds = lap()
            tip = PostgresIndex.Tip(chainId: tip.chainId, genesisHash: tip.genesisHash, height: newTip.height, tipHash: newTip.hash.hex)
            indexedBlocks += rows.count
            indexedTransactions += rows.reduce(0) { $0 + $1.transactions.count }
            let seconds = max(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9, 0.001)
            phases.read += fetchMilliseconds
            phases.verify += verifyMilliseconds
            phases.reports += reportsMilliseconds
            phases.write += writeMilliseconds
            let report = Progress(height: tip.height, nodeTip: nodeTip, blocks: indexedBlocks, transactions: indexedTransactions,
                                  blocksPerSecond: Double(indexedBlocks) / seconds, transactionsPerSecond: Double(indexedTransactions) / seconds,
                                  readSeconds: Double(phases.read) / 1000, verifySeconds: Double(phases.verify) / 1000,
                                  reportsSeconds: Double(phases.reports) / 1000, writeSeconds: Double(phases.write) / 1000)
            logger.info("indexed blocks \(rows.first!.block.height)…\(tip.height) of \(nodeTip)", metadata: [
                "tip": "\(tip.tipHash)", "transactions": "\(rows.reduce(0) { $0 + $1.transactions.count })",
                "blocksPerSecond": "\(Int(report.blocksPerSecond))", "transactionsPerSecond": "\(Int(report.transactionsPerSecond))",
                "ms": "read \(fetchMilliseconds) verify \(verifyMilliseconds) reports \(reportsMilliseconds) write \(writeMilliseconds)",
            ])
            progress(report)
        }
    }

    /// Verifies the signatures of a window of blocks together, on all cores, as the auditor
    /// does (`ChainAuditor.verifyAll`); the verified transactions of each block, in order.
    func verifySignatures(_ records: [(Block, CommitCertificate)]) throws(IndexerError) -> [[VerifiedTransaction]] {
        let results = ChainAuditor.verifyAll(records.flatMap { $0.0.transactions }, chainId: genesis.chainId)
        var offset = 0
        var verified: [[VerifiedTransaction]] = []
        for (block, _) in records {
            var transactions: [VerifiedTransaction] = []
            for index in 0..<block.transactions.count {
                switch results[offset + index] {
                case .success(let transaction): transactions.append(transaction)
                case .failure(let error):
                    throw IndexerError(.verifyFailed, "block \(block.height) (\(block.hash.hex)) from \(configuration.nodeURL): transaction \(index) (\(block.transactions[index].id)) has a bad signature: \(error); nothing of the block is written", cause: error)
                }
            }
            offset += block.transactions.count
            verified.append(transactions)
        }
        return verified
    }

    /// Verifies one block as the auditor does and commits it to the replica; returns the
    /// ledger's execution of it. `verified`: its transactions with their signatures checked.
    /// The invariants of design §2.4 are checked after it at the cost of what it changed
    /// (`invariants`, moved by its writes); `fullScan` also scans the whole state.
    func verify(_ block: Block, _ certificate: CommitCertificate, verified: [VerifiedTransaction], into replica: BlockStore,
                invariants: inout IncrementalInvariants, fullScan: Bool) throws(IndexerError) -> BlockExecution {
        let height = block.height
        let execution: BlockExecution
        var changes: [IncrementalInvariants.Change] = []
        do {
            let validated = try BlockValidator(blocks: replica).validate(block, verified: verified)
            execution = validated.execution
            changes = try execution.changes.map { change in
                IncrementalInvariants.Change(key: change.key, before: try replica.store.get(change.key, in: .state), after: change.value)
            }
            try replica.commit(try replica.certify(validated, by: certificate))
        } catch {
            throw IndexerError(.verifyFailed, "block \(height) (\(block.hash.hex)) from \(configuration.nodeURL) does not verify: \(error); nothing of it is written", cause: error)
        }
        let violation: String?
        do {
            violation = try invariants.apply(changes, store: replica.store)
                ?? (fullScan ? try LedgerReports(store: replica.store, genesis: genesis).invariantViolation() : nil)
        } catch {
            throw IndexerError(.verifyFailed, "block \(height): the invariants cannot be checked: \(error)", cause: error)
        }
        if let violation {
            throw IndexerError(.verifyFailed, "block \(height): an invariant of design §2.4 is broken after it: \(violation)")
        }
        return execution
    }

    func chainTip(_ replica: BlockStore) throws(IndexerError) -> ChainTip {
        do {
            return try replica.tip()
        } catch {
            throw IndexerError(.verifyFailed, "the replayed chain's tip cannot be read: \(error)", cause: error)
        }
    }

    /// The node's height (its `RemoteChainSource` reads are blocking: off the async pool).
    func readNodeTip() async throws(IndexerError) -> UInt64 {
        let source = self.source
        return try await offPool { () throws(IndexerError) in
            do {
                return try source.tipHeight()
            } catch {
                throw IndexerError(.node, "cannot read the node's status at \(source.baseURL.absoluteString): \(error)", cause: error)
            }
        }
    }

    /// Blocks `range` with their certificates, decoded strictly.
    func fetch(_ range: ClosedRange<UInt64>) async throws(IndexerError) -> [(Block, CommitCertificate)] {
        let source = self.source
        return try await offPool { () throws(IndexerError) in
            var records: [(Block, CommitCertificate)] = []
            for height in range {
                do {
                    records.append((try source.block(at: height), try source.certificate(at: height)))
                } catch {
                    throw IndexerError(.node, "cannot read block \(height) from \(source.baseURL.absoluteString): \(error)", cause: error)
                }
            }
            return records
        }
    }

    private func offPool<T: Sendable>(_ body: @escaping @Sendable () throws(IndexerError) -> T) async throws(IndexerError) -> T {
        let result: Result<T, IndexerError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(IndexerError) in try body() })
            }
        }
        return try result.get()
    }
}
