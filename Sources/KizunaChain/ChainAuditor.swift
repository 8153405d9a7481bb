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
    /// The invariants of design §2.4 are checked after every block at the cost of what it
    /// changed (`IncrementalInvariants`), and by a scan of the whole state at the tip. This adds
    /// such a scan every this many blocks as well (0: only at the tip); each costs a scan of
    /// the state, on a thread of its own.
    public var invariantsEveryBlocks: UInt64 = 0
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
    var invariantCheck: (@Sendable (_ height: UInt64, _ state: any KeyValueStore) throws -> String?)?

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
        // The invariants after every block, at the cost of what it changed, on a thread of
        // their own while the next block replays: each block's check reads the values before
        // it from the copy of the state the previous check was given, and checks what the
        // block touched on the copy of its own height's state. The genesis state is scanned
        // whole once to start the running totals; a full scan also runs every
        // `invariantsEveryBlocks` blocks and at the tip.
        let running: RunningInvariants
        do {
            let started = try IncrementalInvariants.start(store: replicaStore, genesis: genesis)
            if let violation = started.violation {
                throw Failure(height: 0, check: "invariants of design §2.4 in the genesis state", detail: violation)
            }
            running = RunningInvariants(started.invariants)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(height: 0, check: "invariants", detail: "\(error)")
        }
        var previousState = replicaStore.snapshot(of: [.state])
        let genesis = genesis
        let fullCheck = invariantCheck ?? { _, state in
            try LedgerReports(store: state, genesis: genesis).invariantViolation()
        }
        let invariants = InvariantCheckLane()
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
                    let changes: [(key: [UInt8], value: [UInt8]?)]
                    do {
                        let validated = try validator.validate(block, verified: verified)
                        changes = validated.execution.changes
                        try replica.commit(try replica.certify(validated, by: certificate))
                    } catch let error as ChainError {
                        throw Failure(height: h, blockHash: block.hash.hex, check: error.code.rawValue, detail: error.message)
                    } catch let error as CertificateError {
                        throw Failure(height: h, blockHash: block.hash.hex, check: "commit certificate (\(error.code.rawValue))", detail: error.message)
                    } catch {
                        throw Failure(height: h, blockHash: block.hash.hex, check: "replay", detail: "\(error)")
                    }
                    // The invariants read the state family alone (`LedgerReports`).
                    let state = replicaStore.snapshot(of: [.state])
                    let before = previousState
                    previousState = state
                    let fullScan = (invariantsEveryBlocks > 0 && h % invariantsEveryBlocks == 0) || h == tip
                    try invariants.submit(height: h, blockHash: block.hash.hex) {
                        let moved = try changes.map { change in
                            IncrementalInvariants.Change(key: change.key, before: try before.get(change.key, in: .state), after: change.value)
                        }
                        if let violation = try running.apply(moved, store: state) { return violation }
                        return fullScan ? try fullCheck(h, state) : nil
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

/// The running totals of `IncrementalInvariants`, moved by one check at a time on the
/// invariant lane (its checks run in height order, one after another).
final class RunningInvariants: @unchecked Sendable {
    private var invariants: IncrementalInvariants

    init(_ invariants: IncrementalInvariants) {
        self.invariants = invariants
    }

    func apply(_ changes: [IncrementalInvariants.Change], store: any KeyValueStore) throws -> String? {
        try invariants.apply(changes, store: store)
    }
}
