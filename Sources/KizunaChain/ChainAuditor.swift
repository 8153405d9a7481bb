public import KizunaCore
public import KizunaStorage
import KizunaLedger
import Dispatch
import Foundation

/// Verifies a whole chain from genesis without trusting its source: every block's hash link
/// and header fields, every commit certificate against the validator set, every
/// transaction's signature (on all cores), and a full replay of the state machine checking
/// each block's state root and the invariants of design §2.4. Optionally compares the
/// source's stored state with the replayed one, value by value.
public struct ChainAuditor {
    public let genesis: Genesis
    public let source: any ChainSource
    /// Check the invariants every this many blocks (and always at the tip). They cost a scan
    /// of the state.
    public var invariantsEveryBlocks: UInt64 = 1
    /// Blocks whose signatures are verified together on all cores.
    public var verifyWindowBlocks = 64
    /// A chain the auditor already trusts (an earlier export, another consortium member's
    /// node): every block both have must be the same, or the audit stops at the first height
    /// where they fork — even when both branches are validly signed.
    public var reference: (any ChainSource)?
    /// Audit only up to this height (nil: the source's tip), so the reports can be set
    /// beside a running node's at the same height. Below the source's tip its stored state
    /// (which is the tip's) is not compared.
    public var throughHeight: UInt64?
    /// Levels of the replayed state tree kept in memory: a node's default depth (ADR 0022).
    /// With fewer, the replay reads and checks the lower pages from its memory store for every
    /// touched key (16 levels: the tree update was half of the replay at a million transactions).
    public var replicaTreeCacheLevels = 20
    /// The invariant check of one height's state (the first violation, or nil); nil: the
    /// invariants of design §2.4 (`LedgerReports.invariantViolation`). Tests set it to see
    /// what height and state each check is given and to make one fail.
    var invariantCheck: InvariantCheckLane.Check?

    public init(genesis: Genesis, source: any ChainSource) {
        self.genesis = genesis
        self.source = source
    }

    /// The first thing found wrong, with where it is.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var height: UInt64
        public var blockHash: String?
        public var transaction: String?
        public var check: String
        public var detail: String

        public var description: String {
            var location = "block \(height)"
            if let blockHash { location += " (\(blockHash))" }
            if let transaction { location += ", transaction \(transaction)" }
            return "AUDIT FAILED at \(location): \(check): \(detail)"
        }
    }

    public struct Progress: Sendable {
        public var height: UInt64
        public var tip: UInt64
        public var blocksPerSecond: Double
        public var transactionsPerSecond: Double
        public var secondsLeft: Double
    }

    public struct Summary: Codable, Sendable {
        public var chainId: String
        public var genesisHash: String
        public var blocks: UInt64
        public var transactions: Int
        public var tipHash: String
        public var tipTime: String
        public var stateRoot: String
        public var invariants: String
        public var storedStateCompared: Bool
        public var seconds: Double
    }

    /// Runs the audit. `storedState`: the source's state store, compared entry by entry with
    /// the replayed state at the end (a data folder has one; an export does not).
    /// Returns the summary and the replayed chain, from which the reports are computed.
    public func run(storedState: (any KeyValueStore)? = nil, progress: (Progress) -> Void = { _ in }) throws(Failure) -> (summary: Summary, replica: BlockStore) {
        let started = DispatchTime.now()
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9 }
        let replica: BlockStore
        let replicaStore = MemoryStore()
        let tip: UInt64
        let sourceTip: UInt64
        do {
            replica = try BlockStore(store: replicaStore, genesis: genesis, treeCacheLevels: replicaTreeCacheLevels, keepsIndexes: false)
            sourceTip = try source.tipHeight()
        } catch {
            throw Failure(height: 0, check: "source", detail: "\(error)")
        }
        if let throughHeight, throughHeight > sourceTip {
            throw Failure(height: throughHeight, check: "source", detail: "the source's tip is block \(sourceTip), below the height asked for")
        }
        tip = throughHeight ?? sourceTip
        let storedState = tip == sourceTip ? storedState : nil
        let validator = BlockValidator(blocks: replica)
        let chainId = genesis.chainId
        var transactions = 0
        var height: UInt64 = 1
        var lastHash = Hash.zero
        var lastRoot = try? replica.tip().stateRoot
        var lastTime = genesis.genesisTime
        // The next windows are read and verified on another thread while this one replays.
        let pipeline = tip >= 1 ? VerifiedWindowPipeline(source: source, chainId: chainId, heights: 1...tip, windowBlocks: verifyWindowBlocks) : nil
        pipeline?.start()
        defer { pipeline?.cancel() }
        // A height's invariants are checked on a copy of its state while the next block replays.
        let genesis = genesis
        let invariants = InvariantCheckLane(check: invariantCheck ?? { _, state in
            try LedgerReports(store: state, genesis: genesis).invariantViolation()
        })
        do throws(Failure) {
            while height <= tip {
                let window: VerifiedWindowPipeline.Window
                switch pipeline?.next() {
                case .window(let next):
                    window = next
                case .readFailure(let failedHeight, let detail):
                    throw Failure(height: failedHeight, check: "read", detail: detail)
                case nil:
                    throw Failure(height: height, check: "read", detail: "the reading of blocks stopped before block \(height)")
                }
                let results = window.verified
                var offset = 0
                for (block, certificate) in window.blocks {
                    let h = block.height
                    let count = block.transactions.count
                    var verified: [VerifiedTransaction] = []
                    for index in 0..<count {
                        switch results[offset + index] {
                        case .success(let transaction): verified.append(transaction)
                        case .failure(let error):
                            throw Failure(height: h, blockHash: block.hash.hex, transaction: "\(index) (\(block.transactions[index].id))", check: "transaction signature", detail: "\(error)")
                        }
                    }
                    offset += count
                    let expectedHeight = height
                    guard h == expectedHeight else {
                        throw Failure(height: expectedHeight, blockHash: block.hash.hex, check: "height", detail: "the block stored at height \(expectedHeight) says it is block \(h)")
                    }
                    if let reference, let referenceTip = try? reference.tipHeight(), h <= referenceTip {
                        let referenceBlock: Block
                        do {
                            referenceBlock = try reference.block(at: h)
                        } catch {
                            throw Failure(height: h, check: "reference", detail: "the reference chain's block \(h) cannot be read: \(error)")
                        }
                        guard referenceBlock.hash == block.hash else {
                            throw Failure(height: h, blockHash: block.hash.hex, check: "fork", detail: "the chain forks from the reference here: expected block \(referenceBlock.hash), found \(block.hash)")
                        }
                    }
                    do {
                        let validated = try validator.validate(block, verified: verified)
                        try replica.commit(try replica.certify(validated, by: certificate))
                    } catch let error as ChainError {
                        throw Failure(height: h, blockHash: block.hash.hex, check: error.code.rawValue, detail: error.message)
                    } catch let error as CertificateError {
                        throw Failure(height: h, blockHash: block.hash.hex, check: "commit certificate (\(error.code.rawValue))", detail: error.message)
                    } catch {
                        throw Failure(height: h, blockHash: block.hash.hex, check: "replay", detail: "\(error)")
                    }
                    if h % invariantsEveryBlocks == 0 || h == tip {
                        // The invariants read the state family alone (`LedgerReports`).
                        try invariants.submit(height: h, blockHash: block.hash.hex, state: replicaStore.snapshot(of: [.state]))
                    }
                    transactions += count
                    lastHash = block.hash
                    lastRoot = block.header.stateRoot
                    lastTime = block.header.timestamp
                    height += 1
                }
                let seconds = max(elapsed(), 0.001)
                let rate = Double(height - 1) / seconds
                progress(Progress(height: height - 1, tip: tip, blocksPerSecond: rate, transactionsPerSecond: Double(transactions) / seconds, secondsLeft: rate > 0 ? Double(tip - (height - 1)) / rate : 0))
            }
            try invariants.finish()
        } catch {
            // A check still running is of a lower height than anything found since: it wins.
            try invariants.finish()
            throw error
        }
        if let storedState {
            try compareState(stored: storedState, replayed: replica.store, tip: tip, tipHash: lastHash)
        }
        let summary = Summary(
            chainId: chainId, genesisHash: genesis.hash.hex, blocks: tip, transactions: transactions,
            tipHash: lastHash.hex, tipTime: CivilTime.formatJapan(milliseconds: lastTime), stateRoot: lastRoot?.hex ?? "",
            invariants: "hold", storedStateCompared: storedState != nil, seconds: elapsed()
        )
        return (summary, replica)
    }

    /// Every key and value of the stored state must equal the replayed state's.
    func compareState(stored: any KeyValueStore, replayed: any KeyValueStore, tip: UInt64, tipHash: Hash) throws(Failure) {
        func entries(_ store: any KeyValueStore) throws -> [(key: [UInt8], value: [UInt8])] {
            var result: [(key: [UInt8], value: [UInt8])] = []
            try store.scan(.state, from: [], prefix: []) { key, value in
                result.append((key, value))
                return true
            }
            return result
        }
        do {
            let left = try entries(stored)
            let right = try entries(replayed)
            var index = 0
            while index < max(left.count, right.count) {
                let storedEntry = index < left.count ? left[index] : nil
                let replayedEntry = index < right.count ? right[index] : nil
                if storedEntry?.key != replayedEntry?.key || storedEntry?.value != replayedEntry?.value {
                    let key = (storedEntry?.key ?? replayedEntry?.key ?? []).hexString
                    throw Failure(height: tip, blockHash: tipHash.hex, check: "stored state", detail: "state key \(key): expected \(replayedEntry.map { "\($0.key.hexString)=\($0.value.hexString)" } ?? "no entry"), found \(storedEntry.map { "\($0.key.hexString)=\($0.value.hexString)" } ?? "no entry")")
                }
                index += 1
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(height: tip, check: "stored state", detail: "\(error)")
        }
    }

    /// Verifies signatures on all cores; results in input order. (Also the indexer's check.)
    public static func verifyAll(_ transactions: [SignedTransaction], chainId: String) -> [Result<VerifiedTransaction, TransactionError>] {
        parallelMap(transactions.indices, parts: ProcessInfo.processInfo.activeProcessorCount) { index in
            Result { () throws(TransactionError) in try transactions[index].verified(chainId: chainId) }
        }
    }
}
