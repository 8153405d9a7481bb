public import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaStateTree
import KizunaRocksDB
import KizunaStorage
import Foundation
import Dispatch

/// Measures the ledger state machine alone — payments applied per second with signatures
/// excluded (they are verified before the clock starts) — on a RocksDB state that already
/// holds `accounts` residents, each with coins and a live point lot. Shows whether the cost
/// of a payment grows with the size of the state.
///
/// The set-up builds that state through the ledger itself: every resident is registered,
/// charged and granted by signed and verified transactions executed by `Ledger.execute`, so
/// the state (values, indexes, state tree) is exactly what a chain would hold. It executes
/// them in large blocks (`setupBlockResidents` residents, three transactions each, one write
/// batch per block), which shares the upper levels of the state tree among many keys, and
/// it signs and verifies the next block on the other cores while the current one executes.
public struct LedgerBenchmark: Sendable {
    public var accounts: Int
    public var payments: Int
    public var folder: String
    /// Residents per set-up block (three transactions each). The measured phase always uses
    /// blocks of 2,000 transactions.
    public var setupBlockResidents: Int
    /// Fully compact the store after the set-up, before measuring (so the measurement does
    /// not run against the bulk load's pending compactions).
    public var compactBeforeMeasuring: Bool
    /// Issue 18's mix (LedgerBenchmark+Town.swift): 1,000 live programs, and payments to a
    /// public body, premium charges and standing-order instalments among the payments.
    public var townMix: Bool = false
    /// With `townMix`: the town state, but only payments measured (the overhead of the new
    /// rules and programs on today's mix).
    public var townPaysOnly: Bool = false
    /// With `townMix`: two of the programs give event bonuses (first payment, first charge),
    /// so a resident's first payment and first charge are also grants.
    public var townEventBonuses: Bool = true
    /// Levels of the state tree the ledger keeps in memory (a node's `stateTreeCacheLevels`).
    public var treeCacheLevels: Int = 16
    /// MiB of RocksDB's block cache (a node's `blockCacheMiB`).
    public var blockCacheMiB: Int = RocksDBConfiguration.default.blockCacheBytes >> 20
    /// MiB of state values the store keeps in memory (a node's `stateValueCacheMiB`).
    public var stateValueCacheMiB: Int = RocksDBConfiguration.default.stateValueCacheBytes >> 20

    public init(accounts: Int, payments: Int, folder: String, setupBlockResidents: Int = 50_000, compactBeforeMeasuring: Bool = true, townMix: Bool = false) {
        self.townMix = townMix
        self.accounts = accounts
        self.payments = payments
        self.folder = folder
        self.setupBlockResidents = max(1, setupBlockResidents)
        self.compactBeforeMeasuring = compactBeforeMeasuring
    }

    public struct Result: Codable, Sendable {
        public var accounts: Int
        /// Lots in the state the payments run on (each resident holds the charge-bonus lot
        /// and the granted lot of the benchmark program, in one lot list).
        public var liveLots: Int
        public var lotLists: Int
        /// State entries the payments run on.
        public var stateEntries: Int
        public var payments: Int
        public var executeSeconds: Double
        public var commitSeconds: Double
        public var paymentsPerSecondExecute: Double
        public var paymentsPerSecondWithCommit: Double
        /// CPU time of the executing thread during the measured execution (not the commits).
        public var executeCPUSeconds: Double
        /// Payments per CPU-second of the executing thread: the one-core rate without the
        /// time the thread waited for a core taken by other processes.
        public var paymentsPerCPUSecondExecute: Double
        /// State keys the measured blocks changed, per transaction (each one a leaf and a path
        /// of the state tree to update: what a block's tree work grows with).
        public var stateKeysChangedPerTransaction: Double
        /// Whole set-up: keys, signing, execution, commits (compaction not included).
        public var setupSeconds: Double
        public var setupTransactions: Int
        public var setupBlockResidents: Int
        /// Of the set-up: `Ledger.execute` (with the state-tree update) on the main thread.
        public var setupExecuteSeconds: Double
        /// CPU time of the executing thread during the set-up's `Ledger.execute` calls.
        public var setupExecuteCPUSeconds: Double
        /// Of the set-up: the synced write of each block's batch.
        public var setupCommitSeconds: Double
        /// Of the set-up: waiting for the next block's keys and signatures.
        public var setupSignWaitSeconds: Double
        /// The full compaction between set-up and measurement (0 when skipped).
        public var compactSeconds: Double
        /// Bytes under the store's folder after the set-up (and compaction, if any).
        public var storeBytesAfterSetup: UInt64
        /// The caches the run had: RocksDB's block cache and the state tree's kept levels.
        public var blockCacheMiB = 0
        public var stateValueCacheMiB = 0
        /// Reads the state value cache answered and the ones it passed to RocksDB, measured
        /// phase only.
        public var stateValueCacheHits = 0
        public var stateValueCacheMisses = 0
        /// What the state value cache held at the end: entries and the bytes charged for them.
        public var stateValueCacheEntries = 0
        public var stateValueCacheBytes = 0
        public var treeCacheLevels = 0
        /// Bytes under the store's folder after the measured payments.
        public var storeBytesAfterMeasure: UInt64
        /// What a clean close does after the payments (ADR 0030): the state's and tree's table
        /// files before it, whether it compacted them, how long the flush and that took, and
        /// the folder's bytes after.
        public var stateTableFileBytesBeforeClose: UInt64 = 0
        public var closeCompactedState = false
        public var stateCompactionAtCloseBytesMax: UInt64 = 0
        public var closeSeconds = 0.0
        public var storeBytesAfterClose: UInt64 = 0
        /// `payments` (the plain mix) or `town` (issue 18's mix: `payments` counts its transactions).
        public var mix: String = "payments"
        /// Programs in the state besides the charge bonus.
        public var programs: Int = 1
    }

    func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// CPU time of the calling thread (user + system), in seconds: on a machine shared with
    /// other work this is what the thread itself spent, whatever it waited for the core.
    static func threadCPUSeconds() -> Double {
        // `struct timespec` is two machine words on 64-bit Linux and macOS: seconds, nanoseconds.
        var words: (Int, Int) = (0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            _ = clock_gettime(CLOCK_THREAD_CPUTIME_ID, raw.baseAddress!.bindMemory(to: timespec.self, capacity: 1))
        }
        return Double(words.0) + Double(words.1) / 1e9
    }

    /// Signs on all cores, verifies on all cores.
    func signAndVerify(_ transactions: [Transaction], keys: [PrivateKey], chainId: String) -> [VerifiedTransaction] {
        parallelMap(transactions.indices, parts: ProcessInfo.processInfo.activeProcessorCount) { index in
            try! transactions[index].signed(by: keys[index]).verified(chainId: chainId)
        }
    }

    /// The set-up transactions of residents `range`, signed and verified, in block order:
    /// all registrations, then each resident's charge and grant. Nonces follow from the
    /// resident index (the registrar and the city each sent one transaction before).
    func setupBlock(_ range: Range<Int>, seeds: ResidentSeeds, authorities: SetupAuthorities, chainId: String) -> (transactions: [VerifiedTransaction], residents: [PublicKey]) {
        let made = parallelMap(range, parts: ProcessInfo.processInfo.activeProcessorCount * 4) { index in
            let resident = seeds.key(index).publicKey
            let i = UInt64(index)
            let register = Transaction(chainId: chainId, signer: authorities.registrar.publicKey, nonce: 1 + i, body: .register(Register(account: resident, role: .resident)))
            let charge = Transaction(chainId: chainId, signer: authorities.issuer.publicKey, nonce: i, body: .charge(Charge(to: resident, amount: 10_000, channel: .app, receiptId: "b\(i)")))
            let grant = Transaction(chainId: chainId, signer: authorities.city.publicKey, nonce: 1 + i, body: .grant(Grant(program: 1, to: resident, amount: 500)))
            return (
                resident: resident,
                register: try! register.signed(by: authorities.registrar).verified(chainId: chainId),
                charge: try! charge.signed(by: authorities.issuer).verified(chainId: chainId),
                grant: try! grant.signed(by: authorities.city).verified(chainId: chainId)
            )
        }
        return (made.map(\.register) + made.flatMap { [$0.charge, $0.grant] }, made.map(\.resident))
    }

    public func run(progress: (String) -> Void) throws -> Result {
        try? FileManager.default.removeItem(atPath: folder)
        let chain = BenchChain(chainId: "bench-ledger")
        let (registrar, city, issuer, genesis) = (chain.registrar, chain.city, chain.issuer, chain.genesis)
        var storeOptions = RocksDBConfiguration.default
        storeOptions.blockCacheBytes = blockCacheMiB << 20
        storeOptions.stateValueCacheBytes = stateValueCacheMiB << 20
        let store = try RocksDBStore(path: folder + "/state", configuration: storeOptions)
        defer { store.close() }
        let ledger = Ledger(genesis: genesis, treeCache: StateTreeCache(levels: treeCacheLevels))
        try store.write(try ledger.genesisExecution(store: store).batch, sync: true)
        var time = genesis.genesisTime + 60_000
        var height: UInt64 = 0
        /// Executes `transactions` in blocks of `blockSize`, each committed with a synced write.
        func apply(_ transactions: [VerifiedTransaction], blockSize: Int = 2000) throws -> (execute: Double, commit: Double, executeCPU: Double, changedKeys: Int) {
            var executeSeconds = 0.0
            var changedKeys = 0
            var commitSeconds = 0.0
            var executeCPUSeconds = 0.0
            for start in stride(from: 0, to: transactions.count, by: blockSize) {
                height += 1
                time += 1000
                let slice = Array(transactions[start..<min(transactions.count, start + blockSize)])
                let clock = DispatchTime.now()
                let cpuClock = LedgerBenchmark.threadCPUSeconds()
                let execution = try ledger.execute(slice, context: BlockContext(height: height, timestamp: time), store: store, mode: .validate)
                executeCPUSeconds += LedgerBenchmark.threadCPUSeconds() - cpuClock
                executeSeconds += seconds(since: clock)
                changedKeys += execution.changes.count
                let writeClock = DispatchTime.now()
                try store.write(execution.batch, sync: true)
                commitSeconds += seconds(since: writeClock)
            }
            return (executeSeconds, commitSeconds, executeCPUSeconds, changedKeys)
        }

        // Set up: a merchant, a program, and `accounts` residents with coins and a lot each.
        let setupClock = DispatchTime.now()
        let merchant = PrivateKey()
        let program = CreateProgram(asset: .point, name: "benchmark subsidy", funder: city.publicKey, budgetYen: UInt64(accounts) * 1000 + 1000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 10_000)
        _ = try apply(signAndVerify([
            Transaction(chainId: genesis.chainId, signer: registrar.publicKey, nonce: 0, body: .register(Register(account: merchant.publicKey, role: .merchant, merchantCategory: "supermarket"))),
            Transaction(chainId: genesis.chainId, signer: city.publicKey, nonce: 0, body: .createProgram(program)),
        ], keys: [registrar, city], chainId: genesis.chainId))

        let seeds = ResidentSeeds()
        let authorities = SetupAuthorities(registrar: registrar, issuer: issuer, city: city)
        let blockResidents = setupBlockResidents
        var residents: [PublicKey] = []
        residents.reserveCapacity(accounts)
        var setupExecute = 0.0
        var setupExecuteCPU = 0.0
        var setupCommit = 0.0
        var setupWait = 0.0
        // The next block is prepared (keys, signatures, verification) on a background queue
        // while the current one executes on this thread.
        func prepare(_ first: Int) -> PendingBlock? {
            guard first < accounts else { return nil }
            let range = first..<min(accounts, first + blockResidents)
            let pending = PendingBlock()
            let chainId = genesis.chainId
            let benchmark = self
            DispatchQueue.global().async {
                pending.fulfil(benchmark.setupBlock(range, seeds: seeds, authorities: authorities, chainId: chainId))
            }
            return pending
        }
        var next = prepare(0)
        while let pending = next {
            let waitClock = DispatchTime.now()
            let block = pending.wait()
            setupWait += seconds(since: waitClock)
            next = prepare(residents.count + block.residents.count)
            let timing = try apply(block.transactions, blockSize: block.transactions.count)
            setupExecute += timing.execute
            setupExecuteCPU += timing.executeCPU
            setupCommit += timing.commit
            residents.append(contentsOf: block.residents)
            let elapsed = seconds(since: setupClock)
            let rate = Double(residents.count) / elapsed
            let left = Double(accounts - residents.count) / rate
            progress("set up \(residents.count)/\(accounts) residents, \(Int(elapsed)) s, \(Int(rate)) residents/s (\(Int(3 * rate)) tx/s), ≈\(Int(left)) s left; so far execute \(Int(setupExecute)) s (\(Int(setupExecuteCPU)) s CPU), commit \(Int(setupCommit)) s, waiting for signatures \(Int(setupWait)) s")
        }
        // The measured payers, chosen now so the town mix can set up their standing orders.
        let payerIndices = (0..<payments).map { ($0 * 7919) % residents.count }
        var town: TownFixture?
        if townMix {
            progress("town mix: \(LedgerBenchmark.townLivePrograms) live programs and the instalment payers' standing orders")
            town = try townSetup(accounts: accounts, time: time, seeds: seeds, authorities: authorities, instalments: LedgerBenchmark.townInstalments(payerIndices), chainId: genesis.chainId) { _ = try apply($0) }
        }
        let setupSeconds = seconds(since: setupClock)
        var compactSeconds = 0.0
        if compactBeforeMeasuring {
            progress("set-up done in \(Int(setupSeconds)) s (\(store.diskUsageBytes() >> 20) MiB on disk); compacting")
            let compactClock = DispatchTime.now()
            store.compact()
            compactSeconds = seconds(since: compactClock)
        }
        let storeBytesAfterSetup = store.diskUsageBytes()
        progress("store: \(storeBytesAfterSetup >> 20) MiB on disk (compaction \(Int(compactSeconds)) s); counting the state")
        // The state the payments run on: entries, and lots in the residents' lot lists.
        var entries = 0
        var lotLists = 0
        var lots = 0
        let lotsPrefix = StateKey.lots(merchant.publicKey, .point)[0]
        try store.scan(.state, from: [], prefix: []) { key, value in
            entries += 1
            if key.first == lotsPrefix {
                lotLists += 1
                lots += try LotList(storedBytes: value).lots.count
            }
            return true
        }
        progress("\(entries) state entries, \(lots) live lots in \(lotLists) lot lists")

        // Measured: payments by distinct residents (points first, then coins).
        var nonces: [Int: UInt64] = [:]
        var transactions: [Transaction] = []
        var payers: [PrivateKey] = []
        if let town {
            (transactions, payers) = townMeasured(payerIndices: payerIndices, fixture: town, merchant: merchant.publicKey, seeds: seeds, authorities: authorities, accounts: accounts, chainId: genesis.chainId, paysOnly: townPaysOnly)
        }
        for index in payerIndices where town == nil {
            let payer = seeds.key(index)
            let nonce = nonces[index, default: 0]
            nonces[index] = nonce + 1
            payers.append(payer)
            transactions.append(Transaction(chainId: genesis.chainId, signer: payer.publicKey, nonce: nonce, body: .pay(Pay(merchant: merchant.publicKey, amount: 300))))
        }
        let verified = signAndVerify(transactions, keys: payers, chainId: genesis.chainId)
        progress("pre-signed and verified \(payments) payments; measuring")
        let cacheBefore = store.stateValueCacheStatistics
        let (executeSeconds, commitSeconds, executeCPUSeconds, changedKeys) = try apply(verified)
        let cacheAfter = store.stateValueCacheStatistics
        progress("measured: \(Int(Double(payments) / executeSeconds)) payments/s execute (\(Int(Double(payments) / executeCPUSeconds)) per CPU-second), \(Int(Double(payments) / (executeSeconds + commitSeconds))) with commits")
        var result = Result(
            accounts: accounts, liveLots: lots, lotLists: lotLists, stateEntries: entries, payments: payments,
            executeSeconds: executeSeconds, commitSeconds: commitSeconds,
            paymentsPerSecondExecute: Double(payments) / executeSeconds,
            paymentsPerSecondWithCommit: Double(payments) / (executeSeconds + commitSeconds),
            executeCPUSeconds: executeCPUSeconds, paymentsPerCPUSecondExecute: Double(payments) / executeCPUSeconds,
            stateKeysChangedPerTransaction: Double(changedKeys) / Double(max(1, payments)),
            setupSeconds: setupSeconds, setupTransactions: 2 + 3 * accounts, setupBlockResidents: blockResidents,
            setupExecuteSeconds: setupExecute, setupExecuteCPUSeconds: setupExecuteCPU, setupCommitSeconds: setupCommit, setupSignWaitSeconds: setupWait,
            compactSeconds: compactSeconds,
            storeBytesAfterSetup: storeBytesAfterSetup, storeBytesAfterMeasure: store.diskUsageBytes()
        )
        // What `close()` will do, timed here (it runs again at the end, with nothing left to do).
        store.flushMemtables()
        result.stateTableFileBytesBeforeClose = store.stateFamiliesTableFileBytes()
        let closeClock = DispatchTime.now()
        result.stateCompactionAtCloseBytesMax = store.configuration.stateCompactionAtCloseBytesMax
        result.closeCompactedState = store.compactStateFamilies(ifAtMost: store.configuration.stateCompactionAtCloseBytesMax)
        result.closeSeconds = seconds(since: closeClock)
        result.storeBytesAfterClose = store.diskUsageBytes()
        result.blockCacheMiB = blockCacheMiB
        result.stateValueCacheMiB = stateValueCacheMiB
        result.stateValueCacheHits = (cacheAfter?.hits ?? 0) - (cacheBefore?.hits ?? 0)
        result.stateValueCacheMisses = (cacheAfter?.misses ?? 0) - (cacheBefore?.misses ?? 0)
        result.stateValueCacheEntries = cacheAfter?.entries ?? 0
        result.stateValueCacheBytes = cacheAfter?.bytes ?? 0
        result.treeCacheLevels = treeCacheLevels
        if townMix {
            result.mix = (townPaysOnly ? "payments on the town state" : "town") + (townEventBonuses ? "" : ", no event bonuses")
            result.programs = 1 + LedgerBenchmark.townLivePrograms
        }
        return result
    }
}

/// Residents' keys from a per-run random prefix and the resident's index, so only the
/// public keys are kept and a payer's private key is derived again when needed.
struct ResidentSeeds: Sendable {
    let prefix: [UInt8] = (0..<24).map { _ in UInt8.random(in: 0...255) }

    func key(_ index: Int) -> PrivateKey {
        var seed = prefix
        withUnsafeBytes(of: UInt64(index).bigEndian) { seed.append(contentsOf: $0) }
        return PrivateKey(seed: seed)!
    }
}

struct SetupAuthorities: Sendable {
    let registrar: PrivateKey
    let issuer: PrivateKey
    let city: PrivateKey
}

/// A set-up block being prepared on another thread.
private final class PendingBlock: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: (transactions: [VerifiedTransaction], residents: [PublicKey])?

    func fulfil(_ value: (transactions: [VerifiedTransaction], residents: [PublicKey])) {
        result = value
        done.signal()
    }

    func wait() -> (transactions: [VerifiedTransaction], residents: [PublicKey]) {
        done.wait()
        return result!
    }
}
