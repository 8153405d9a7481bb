import KizunaCore
import KizunaConsensus
import KizunaNetwork
import NIOCore
import Foundation
import Dispatch

/// The kinds of transaction the network benchmark submits.
public enum BenchKind: String, Codable, Sendable, CaseIterable {
    case register, charge, createProgram = "create_program", grant, pay, send, thank, redeem
}

/// One pre-signed submission: the HTTP request bytes, ready to send to any node.
struct BenchJob: Sendable {
    var kind: BenchKind
    /// Index into `BenchWorkload.signers`.
    var signer: Int
    var nonce: UInt64
    var id: Hash
    var request: ByteBuffer
    /// The node it is first sent to (retries go to the next node).
    var node: Int
}

/// Builds valid, pre-signed workloads for the benchmark's accounts.
///
/// Every transaction must commit whatever order the four nodes put them in (different
/// signers' transactions commute only within the ledger's limits), so the generator keeps, per
/// resident, a **lower** bound of what it can spend (its balance minus everything generated
/// out of it, never counting what it may receive) and an **upper** bound of what it may hold
/// (its balance plus everything generated into it, never counting what it spends). A
/// transaction is generated only if it is valid at both bounds: payments and sends within the
/// lower bound, charges, sends, grants and thanks within the recipient's holder cap at the
/// upper bound, sends and thanks within the monthly limits counted over the whole run.
/// Between phases the bounds are reset from the accounts the nodes report
/// (`refresh`), once every accepted transaction has committed.
final class BenchWorkload {
    enum SignerRole: Sendable { case authority, merchant, resident }

    struct Signer {
        var key: PrivateKey
        var role: SignerRole
        var nextNonce: UInt64
        /// Submissions of this signer that may be unanswered at once: residents and merchants
        /// (one phone or terminal) 1; authorities (a back office) more, below the node's
        /// per-account mempool limit (64 by default).
        var window: Int
        /// A later transaction of this signer may be stuck behind one that never got in.
        var poisoned = false
    }

    struct ResidentBounds {
        /// Lower bound of points + coins.
        var spendLow: Int64 = 0
        /// Lower bound of coins (every payment counted as if it were all coins).
        var coinLow: Int64 = 0
        var coinHigh: Int64 = 0
        var pointHigh: Int64 = 0
        var thanksLow: Int64 = 0
        var thanksHigh: Int64 = 0
        /// Coins sent and thanks given over the whole run (at most the monthly limits).
        var coinsSent: Int64 = 0
        var thanksGiven: Int64 = 0
    }

    /// What the nodes report of an account between phases.
    struct Snapshot: Sendable {
        var nonce: UInt64
        var coin: Int64
        var point: Int64
        var thanks: Int64
    }

    static let issuerIndex = 0
    static let registrarIndex = 1
    static let cityIndex = 2
    static let merchantCategories = ["supermarket", "drugstore", "restaurant", "electronics", "bakery", "cafe", "bookstore", "clothing"]
    /// Program ids: 0 is the charge bonus (genesis); the set-up creates 1, 2 and 3 in order.
    static let pointProgram: UInt64 = 1
    static let thanksProgram: UInt64 = 2
    static let initialChargeYen: Int64 = 40_000
    static let initialThanks: Int64 = 3_000
    static let rebateMonthlyCapYen: Int64 = 1_000
    static let authorityWindow = 48

    let genesis: Genesis
    let nodeCount: Int
    var signers: [Signer] = []
    let merchants: Range<Int>
    let residents: Range<Int>
    var bounds: [ResidentBounds]
    var merchantRedeemable: [Bool]
    var random: SplitMix64
    var receiptCounter = 0
    var redeemCounter = 0

    init(genesis: Genesis, residents residentCount: Int, merchants merchantCount: Int, nodeCount: Int, seed: UInt64) {
        self.genesis = genesis
        self.nodeCount = nodeCount
        random = SplitMix64(seed: seed)
        signers.append(Signer(key: DevelopmentKeys.privateKey("coin-issuer"), role: .authority, nextNonce: 0, window: Self.authorityWindow))
        signers.append(Signer(key: DevelopmentKeys.privateKey("registrar"), role: .authority, nextNonce: 0, window: Self.authorityWindow))
        signers.append(Signer(key: DevelopmentKeys.privateKey("city"), role: .authority, nextNonce: 0, window: Self.authorityWindow))
        let merchantStart = signers.count
        for _ in 0..<merchantCount { signers.append(Signer(key: PrivateKey(), role: .merchant, nextNonce: 0, window: 1)) }
        merchants = merchantStart..<signers.count
        let residentStart = signers.count
        for _ in 0..<residentCount { signers.append(Signer(key: PrivateKey(), role: .resident, nextNonce: 0, window: 1)) }
        residents = residentStart..<signers.count
        bounds = Array(repeating: ResidentBounds(), count: residentCount)
        merchantRedeemable = Array(repeating: false, count: merchantCount)
    }

    func resident(_ signer: Int) -> Int { signer - residents.lowerBound }

    // MARK: - Set-up

    /// The city's programs: 1 points (grants), 2 thanks allowance, 3 a restaurant and café
    /// rebate campaign (10% / 5% of the coin part, at most ¥1,000 a month per resident).
    func createPrograms() -> [(Int, TransactionBody)] {
        let city = signers[Self.cityIndex].key.publicKey
        let huge: UInt64 = 1_000_000_000_000
        return [
            (Self.cityIndex, .createProgram(CreateProgram(asset: .point, name: "bench city points", funder: city, budgetYen: huge, expiry: ExpiryRule(kind: .never, months: 0), perResidentCapYen: 1_000_000_000))),
            (Self.cityIndex, .createProgram(CreateProgram(asset: .thanks, name: "bench thanks allowance", funder: city, budgetYen: huge, expiry: ExpiryRule(kind: .never, months: 0), perResidentCapYen: 1_000_000_000))),
            (Self.cityIndex, .createProgram(CreateProgram(asset: .point, name: "bench dining campaign", funder: city, budgetYen: huge, expiry: ExpiryRule(kind: .never, months: 0), perResidentCapYen: 1_000_000_000,
                                                          rebate: RebateRule(rates: [.init(merchantCategory: "restaurant", basisPoints: 1000), .init(merchantCategory: "cafe", basisPoints: 500)], monthlyCapPerResidentYen: UInt64(Self.rebateMonthlyCapYen))))),
        ]
    }

    /// Registrations of every merchant and resident (opt-in district and age band).
    func registrations() -> [(Int, TransactionBody)] {
        var bodies: [(Int, TransactionBody)] = []
        for (offset, index) in merchants.enumerated() {
            bodies.append((Self.registrarIndex, .register(Register(account: signers[index].key.publicKey, role: .merchant, merchantCategory: Self.merchantCategories[offset % Self.merchantCategories.count], district: "district-\(offset % 8)"))))
        }
        for (offset, index) in residents.enumerated() {
            bodies.append((Self.registrarIndex, .register(Register(account: signers[index].key.publicKey, role: .resident, district: "district-\(offset % 8)", ageBand: UInt8(offset % 7)))))
        }
        return bodies
    }

    /// A first charge and a thanks allowance for every resident.
    func funding() -> [(Int, TransactionBody)] {
        var bodies: [(Int, TransactionBody)] = []
        for index in residents {
            bodies.append((Self.issuerIndex, .charge(Charge(to: signers[index].key.publicKey, amount: UInt64(Self.initialChargeYen), channel: .app, receiptId: nextReceipt()))))
            bodies.append((Self.cityIndex, .grant(Grant(program: Self.thanksProgram, to: signers[index].key.publicKey, amount: UInt64(Self.initialThanks)))))
        }
        return bodies
    }

    func nextReceipt() -> String {
        receiptCounter += 1
        return "bench-\(receiptCounter)"
    }

    // MARK: - Bounds

    /// Resets nonces and bounds from what the nodes report (every accepted transaction has
    /// committed). Signers with no snapshot keep their local nonce.
    func refresh(_ snapshots: [Int: Snapshot]) {
        for (index, snapshot) in snapshots {
            signers[index].nextNonce = snapshot.nonce
            switch signers[index].role {
            case .resident:
                var bound = bounds[resident(index)]
                bound.spendLow = snapshot.coin + snapshot.point
                bound.coinLow = snapshot.coin
                bound.coinHigh = snapshot.coin
                // Rebates are minted by payments (never refused, trimmed to the cap): leave
                // room for two months' worth in case the run crosses a month end.
                bound.pointHigh = snapshot.point + 2 * Self.rebateMonthlyCapYen
                bound.thanksLow = snapshot.thanks
                bound.thanksHigh = snapshot.thanks
                bounds[resident(index)] = bound
            case .merchant:
                merchantRedeemable[index - merchants.lowerBound] = snapshot.coin + snapshot.point > 0
            case .authority:
                break
            }
        }
    }

    // MARK: - Generating

    /// The mix of design §1 for a phase: 85% payments, 5% charges, 4% sends, 3% thanks,
    /// 2% grants, 1% redemptions, by residents of `residentPool` (and the authorities and
    /// merchants). A kind that no account can make validly right now becomes a payment.
    func mix(count: Int, residentPool: Range<Int>) -> [(Int, TransactionBody)] {
        var bodies: [(Int, TransactionBody)] = []
        bodies.reserveCapacity(count)
        while bodies.count < count {
            let roll = Int.random(in: 0..<100, using: &random)
            let made: (Int, TransactionBody)?
            switch roll {
            case 0..<85: made = payment(residentPool)
            case 85..<90: made = charge(residentPool)
            case 90..<94: made = send(residentPool)
            case 94..<97: made = thank(residentPool)
            case 97..<99: made = grant(residentPool)
            default: made = redeem()
            }
            if let made = made ?? payment(residentPool) {
                bodies.append(made)
            } else {
                break // nobody can pay any more: the run is too long for the residents' funds
            }
        }
        return bodies
    }

    /// Payments only (a campaign spike), by residents of `residentPool`.
    func payments(count: Int, residentPool: Range<Int>) -> [(Int, TransactionBody)] {
        var bodies: [(Int, TransactionBody)] = []
        bodies.reserveCapacity(count)
        while bodies.count < count, let made = payment(residentPool) { bodies.append(made) }
        return bodies
    }

    /// A resident's signer index, from `pool` (offsets among the residents).
    func pickResident(_ pool: Range<Int>) -> Int { residents.lowerBound + Int.random(in: pool, using: &random) }

    /// ¥100–¥5,000, most of them small (design §1), in steps of ¥10.
    func paymentAmount() -> Int64 {
        let roll = Int.random(in: 0..<100, using: &random)
        let range: ClosedRange<Int64> = roll < 55 ? 10...99 : roll < 90 ? 100...299 : 300...500
        return Int64.random(in: range, using: &random) * 10
    }

    /// A merchant, the larger ones (lower index) chosen more often.
    func pickMerchant() -> Int {
        let unit = Double.random(in: 0..<1, using: &random)
        return merchants.lowerBound + min(merchants.count - 1, Int(unit * unit * Double(merchants.count)))
    }

    func payment(_ pool: Range<Int>) -> (Int, TransactionBody)? {
        guard !merchants.isEmpty, !pool.isEmpty else { return nil }
        for attempt in 0..<16 {
            let payer = pickResident(pool)
            guard !signers[payer].poisoned else { continue }
            let amount = attempt < 8 ? paymentAmount() : 100
            var bound = bounds[resident(payer)]
            guard bound.spendLow >= amount else { continue }
            bound.spendLow -= amount
            bound.coinLow -= amount
            bounds[resident(payer)] = bound
            return (payer, .pay(Pay(merchant: signers[pickMerchant()].key.publicKey, amount: UInt64(amount))))
        }
        return nil
    }

    /// ¥1,000–¥30,000 (design §1), in the app (1% bonus) or at a charge machine (1.5%).
    func charge(_ pool: Range<Int>) -> (Int, TransactionBody)? {
        guard !signers[Self.issuerIndex].poisoned else { return nil }
        let cap = Int64(genesis.coin.holderCapYen)
        let pointCap = Int64(genesis.point.holderCapYen)
        for _ in 0..<8 {
            let to = pickResident(pool)
            let amount = Int64.random(in: 1...30, using: &random) * 1000
            let machine = Int.random(in: 0..<5, using: &random) == 0
            var bound = bounds[resident(to)]
            guard bound.coinHigh + amount <= cap else { continue }
            bound.coinHigh += amount
            // The bonus is trimmed to the point cap, never refused; it only raises the bound.
            bound.pointHigh = min(pointCap, bound.pointHigh + amount * Int64(machine ? genesis.coin.chargeBonusMachineBasisPoints : genesis.coin.chargeBonusAppBasisPoints) / 10_000)
            bounds[resident(to)] = bound
            return (Self.issuerIndex, .charge(Charge(to: signers[to].key.publicKey, amount: UInt64(amount), channel: machine ? .chargeMachine : .app, receiptId: nextReceipt())))
        }
        return nil
    }

    /// ¥500–¥10,000 of coins to another resident.
    func send(_ pool: Range<Int>) -> (Int, TransactionBody)? {
        transfer(pool, genesis.coin, units: 5...100, unit: 100, from: [\.coinLow, \.spendLow], sent: \.coinsSent, to: \.coinHigh)
            .map { ($0.from, .send(Send(to: $0.to, amount: $0.amount))) }
    }

    /// 10–300 thanks to another resident.
    func thank(_ pool: Range<Int>) -> (Int, TransactionBody)? {
        transfer(pool, genesis.thanks, units: 1...30, unit: 10, from: [\.thanksLow], sent: \.thanksGiven, to: \.thanksHigh)
            .map { ($0.from, .thank(Thank(to: $0.to, amount: $0.amount))) }
    }

    /// A transfer between two residents of `pool` of `units` × `unit` (at most the policy's
    /// per-transaction limit), valid at both bounds: within each of the sender's `lows` and its
    /// monthly limit (`sent`), and within the recipient's holder cap (`to`, its upper bound).
    private func transfer(
        _ pool: Range<Int>, _ policy: AssetPolicy, units: ClosedRange<Int64>, unit: Int64,
        from lows: [WritableKeyPath<ResidentBounds, Int64>], sent: WritableKeyPath<ResidentBounds, Int64>, to high: WritableKeyPath<ResidentBounds, Int64>
    ) -> (from: Int, to: PublicKey, amount: UInt64)? {
        let cap = Int64(policy.holderCapYen)
        let monthly = Int64(policy.sendLimitPerMonthYen)
        let perSend = Int64(policy.sendLimitPerTransactionYen)
        for _ in 0..<8 {
            let from = pickResident(pool)
            let to = pickResident(pool)
            let amount = min(perSend, Int64.random(in: units, using: &random) * unit)
            guard from != to, !signers[from].poisoned else { continue }
            var sender = bounds[resident(from)]
            var recipient = bounds[resident(to)]
            guard lows.allSatisfy({ sender[keyPath: $0] >= amount }), sender[keyPath: sent] + amount <= monthly, recipient[keyPath: high] + amount <= cap else { continue }
            for low in lows { sender[keyPath: low] -= amount }
            sender[keyPath: sent] += amount
            recipient[keyPath: high] += amount
            bounds[resident(from)] = sender
            bounds[resident(to)] = recipient
            return (from, signers[to].key.publicKey, UInt64(amount))
        }
        return nil
    }

    /// 500–3,000 points from the city's program.
    func grant(_ pool: Range<Int>) -> (Int, TransactionBody)? {
        guard !signers[Self.cityIndex].poisoned else { return nil }
        let cap = Int64(genesis.point.holderCapYen)
        for _ in 0..<8 {
            let to = pickResident(pool)
            let amount = Int64.random(in: 5...30, using: &random) * 100
            var bound = bounds[resident(to)]
            guard bound.pointHigh + amount <= cap else { continue }
            bound.pointHigh += amount
            bounds[resident(to)] = bound
            return (Self.cityIndex, .grant(Grant(program: Self.pointProgram, to: signers[to].key.publicKey, amount: UInt64(amount))))
        }
        return nil
    }

    /// A merchant that held value at the last refresh cashes out (once per refresh).
    func redeem() -> (Int, TransactionBody)? {
        guard let offset = merchantRedeemable.indices.filter({ merchantRedeemable[$0] && !signers[merchants.lowerBound + $0].poisoned }).randomElement(using: &random) else { return nil }
        merchantRedeemable[offset] = false
        redeemCounter += 1
        return (merchants.lowerBound + offset, .redeem(Redeem(reference: "bench-redeem-\(redeemCounter)")))
    }

    // MARK: - Signing

    /// Assigns nonces in order, signs on all cores and prepares the request bytes; each
    /// signer has its node (signers are spread over the nodes).
    func sign(_ bodies: [(Int, TransactionBody)]) -> [BenchJob] {
        var transactions: [(kind: BenchKind, signer: Int, transaction: Transaction, node: Int)] = []
        transactions.reserveCapacity(bodies.count)
        for (signer, body) in bodies {
            let transaction = Transaction(chainId: genesis.chainId, signer: signers[signer].key.publicKey, nonce: signers[signer].nextNonce, body: body)
            signers[signer].nextNonce += 1
            // A wallet talks to one node: a signer's consecutive nonces go to the same node
            // (another node may not have the earlier one yet, and refuses a gap: tx.nonce_gap).
            transactions.append((Self.kind(of: body), signer, transaction, signer % nodeCount))
        }
        let keys = signers.map(\.key)
        let input = transactions
        return parallelMap(input.indices, parts: ProcessInfo.processInfo.activeProcessorCount) { index in
            let item = input[index]
            let signed = item.transaction.signed(by: keys[item.signer])
            return BenchJob(kind: item.kind, signer: item.signer, nonce: item.transaction.nonce, id: signed.id,
                            request: BenchHTTPConnection.submitRequest(signed.canonicalBytes), node: item.node)
        }
    }

    static func kind(of body: TransactionBody) -> BenchKind {
        switch body {
        case .register: .register
        case .charge: .charge
        case .createProgram: .createProgram
        case .grant: .grant
        case .pay: .pay
        case .send: .send
        case .thank: .thank
        case .redeem: .redeem
        default: .pay
        }
    }
}
