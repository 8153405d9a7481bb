public import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaRocksDB
import KizunaStorage
import Foundation
import Dispatch

/// Measures the ledger state machine alone — payments applied per second with signatures
/// excluded (they are verified before the clock starts) — on a RocksDB state that already
/// holds `accounts` residents, each with coins and a live point lot. Shows whether the cost
/// of a payment grows with the size of the state.
public struct LedgerBenchmark: Sendable {
    public var accounts: Int
    public var payments: Int
    public var folder: String

    public init(accounts: Int, payments: Int, folder: String) {
        self.accounts = accounts
        self.payments = payments
        self.folder = folder
    }

    public struct Result: Codable, Sendable {
        public var accounts: Int
        public var liveLots: Int
        public var stateEntries: Int
        public var payments: Int
        public var executeSeconds: Double
        public var commitSeconds: Double
        public var paymentsPerSecondExecute: Double
        public var paymentsPerSecondWithCommit: Double
        public var setupSeconds: Double
    }

    func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// Signs on all cores, verifies on all cores.
    func signAndVerify(_ transactions: [Transaction], keys: [PrivateKey], chainId: String) -> [VerifiedTransaction] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let output = UnsafeMutableBufferPointer<VerifiedTransaction?>.allocate(capacity: transactions.count)
        defer { output.deallocate() }
        output.initialize(repeating: nil)
        let box = BenchmarkBuffer(buffer: output)
        let chunk = (transactions.count + cores - 1) / cores
        DispatchQueue.concurrentPerform(iterations: cores) { part in
            for index in (part * chunk)..<min(transactions.count, (part + 1) * chunk) {
                box.buffer[index] = try? transactions[index].signed(by: keys[index]).verified(chainId: chainId)
            }
        }
        return output.map { $0! }
    }

    public func run(progress: (String) -> Void) throws -> Result {
        try? FileManager.default.removeItem(atPath: folder)
        let registrar = PrivateKey()
        let city = PrivateKey()
        let issuer = PrivateKey()
        let genesis = Genesis(
            chainId: "bench-ledger", genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "bench", organisation: "benchmark", publicKey: PrivateKey().publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: issuer.publicKey, registrar: registrar.publicKey, city: city.publicKey, auditor: PrivateKey().publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        )
        let store = try RocksDBStore(path: folder + "/state")
        defer { store.close() }
        let ledger = Ledger(genesis: genesis)
        try store.write(try ledger.genesisExecution(store: store).batch, sync: true)
        var time = genesis.genesisTime + 60_000
        var height: UInt64 = 0
        func apply(_ transactions: [VerifiedTransaction]) throws -> (execute: Double, commit: Double) {
            var executeSeconds = 0.0
            var commitSeconds = 0.0
            for start in stride(from: 0, to: transactions.count, by: 2000) {
                height += 1
                time += 1000
                let slice = Array(transactions[start..<min(transactions.count, start + 2000)])
                let clock = DispatchTime.now()
                let execution = try ledger.execute(slice, context: BlockContext(height: height, timestamp: time), store: store, mode: .validate)
                executeSeconds += seconds(since: clock)
                let writeClock = DispatchTime.now()
                try store.write(execution.batch, sync: true)
                commitSeconds += seconds(since: writeClock)
            }
            return (executeSeconds, commitSeconds)
        }

        // Set up: a merchant, a program, and `accounts` residents with coins and a lot each.
        let setupClock = DispatchTime.now()
        let merchant = PrivateKey()
        var registrarNonce: UInt64 = 0
        var cityNonce: UInt64 = 0
        var issuerNonce: UInt64 = 0
        let program = CreateProgram(asset: .point, name: "benchmark subsidy", funder: city.publicKey, budgetYen: UInt64(accounts) * 1000 + 1000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 10_000)
        _ = try apply(signAndVerify([
            Transaction(chainId: genesis.chainId, signer: registrar.publicKey, nonce: 0, body: .register(Register(account: merchant.publicKey, role: .merchant, merchantCategory: "supermarket"))),
            Transaction(chainId: genesis.chainId, signer: city.publicKey, nonce: 0, body: .createProgram(program)),
        ], keys: [registrar, city], chainId: genesis.chainId))
        registrarNonce = 1
        cityNonce = 1
        var residents: [PrivateKey] = []
        residents.reserveCapacity(accounts)
        let chunkSize = 20_000
        while residents.count < accounts {
            let count = min(chunkSize, accounts - residents.count)
            let fresh = (0..<count).map { _ in PrivateKey() }
            var transactions: [Transaction] = []
            var keys: [PrivateKey] = []
            for resident in fresh {
                transactions.append(Transaction(chainId: genesis.chainId, signer: registrar.publicKey, nonce: registrarNonce, body: .register(Register(account: resident.publicKey, role: .resident))))
                keys.append(registrar)
                registrarNonce += 1
            }
            for resident in fresh {
                transactions.append(Transaction(chainId: genesis.chainId, signer: issuer.publicKey, nonce: issuerNonce, body: .charge(Charge(to: resident.publicKey, amount: 10_000, channel: .app, receiptId: "b\(issuerNonce)"))))
                keys.append(issuer)
                issuerNonce += 1
                transactions.append(Transaction(chainId: genesis.chainId, signer: city.publicKey, nonce: cityNonce, body: .grant(Grant(program: 1, to: resident.publicKey, amount: 500))))
                keys.append(city)
                cityNonce += 1
            }
            _ = try apply(signAndVerify(transactions, keys: keys, chainId: genesis.chainId))
            residents.append(contentsOf: fresh)
            progress("set up \(residents.count)/\(accounts) residents (\(Int(seconds(since: setupClock))) s)")
        }
        let setupSeconds = seconds(since: setupClock)

        // Measured: payments by distinct residents (points first, then coins).
        let payers = (0..<payments).map { residents[($0 * 7919) % residents.count] }
        var nonces: [PublicKey: UInt64] = [:]
        var transactions: [Transaction] = []
        for payer in payers {
            let nonce = nonces[payer.publicKey, default: 0]
            nonces[payer.publicKey] = nonce + 1
            transactions.append(Transaction(chainId: genesis.chainId, signer: payer.publicKey, nonce: nonce, body: .pay(Pay(merchant: merchant.publicKey, amount: 300))))
        }
        let verified = signAndVerify(transactions, keys: payers, chainId: genesis.chainId)
        progress("pre-signed and verified \(payments) payments; measuring")
        let (executeSeconds, commitSeconds) = try apply(verified)
        var entries = 0
        try store.scan(.state, from: [], prefix: []) { _, _ in
            entries += 1
            return true
        }
        return Result(
            accounts: accounts, liveLots: accounts, stateEntries: entries, payments: payments,
            executeSeconds: executeSeconds, commitSeconds: commitSeconds,
            paymentsPerSecondExecute: Double(payments) / executeSeconds,
            paymentsPerSecondWithCommit: Double(payments) / (executeSeconds + commitSeconds),
            setupSeconds: setupSeconds
        )
    }
}

private struct BenchmarkBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<VerifiedTransaction?>
}
