public import KizunaCore
import KizunaLedger
import KizunaStorage

/// The town mix of `kizuna bench ledger --town-mix` (issue 18's measure): 1,000 live programs
/// in the state (each with a period; eight of them premium sales, two with event bonuses) and
/// a measured phase of which seven in ten transactions are payments as in the plain mix, one a
/// payment to a public body (`pay_public`), one a premium charge (`charge_extended`) and one a
/// standing-order instalment (`pay_instalment`). Compared per transaction with the plain mix.
extension LedgerBenchmark {
    /// Programs created by the town set-up, besides the benchmark's own program 1.
    public static let townLivePrograms = 1_000
    static let townPremiumSales: UInt64 = 8
    /// The first town program's id (program 0 is the charge bonus, 1 the benchmark subsidy).
    static let townFirstProgram: UInt64 = 2

    /// What the measured phase of the town mix needs from its set-up.
    struct TownFixture {
        let organisation: PrivateKey
        /// The standing order each instalment of the measured phase collects, by its position.
        let orders: [Int: Hash]
        /// Each resident's next nonce after its authorisations.
        let nonces: [Int: UInt64]
    }

    /// The instalments of the measured phase: every tenth transaction, (position, resident index).
    static func townInstalments(_ payerIndices: [Int]) -> [(position: Int, index: Int)] {
        stride(from: 9, to: payerIndices.count, by: 10).map { ($0, payerIndices[$0]) }
    }

    /// Registers the collection account, creates the live programs (with their periods, premium
    /// rules and event bonuses) and the payers' standing orders, through the ledger. Nonces
    /// follow the plain set-up's: the registrar and the city sent `1 + accounts` transactions.
    func townSetup(accounts: Int, time: UInt64, seeds: ResidentSeeds, authorities: SetupAuthorities, instalments: [(position: Int, index: Int)], chainId: String,
                   apply: ([VerifiedTransaction]) throws -> Void) throws -> TownFixture {
        let organisation = PrivateKey()
        let city = authorities.city
        var cityNonce = UInt64(1 + accounts)
        var transactions: [Transaction] = [
            Transaction(chainId: chainId, signer: authorities.registrar.publicKey, nonce: UInt64(1 + accounts), body: .register(Register(account: organisation.publicKey, role: .organisation, merchantCategory: OrganisationKind.publicBody))),
        ]
        var keys = [authorities.registrar]
        func byCity(_ body: TransactionBody) {
            transactions.append(Transaction(chainId: chainId, signer: city.publicKey, nonce: cityNonce, body: body))
            keys.append(city)
            cityNonce += 1
        }
        let first = LedgerBenchmark.townFirstProgram
        let programs = first..<(first + UInt64(LedgerBenchmark.townLivePrograms))
        for index in programs {
            byCity(.createProgram(CreateProgram(asset: .point, name: "live \(index)", funder: city.publicKey, budgetYen: 10_000_000, expiry: ExpiryRule(kind: .endOfMonthAfterGrant, months: 6), perResidentCapYen: 10_000)))
        }
        for index in programs {
            byCity(.setProgramTerms(SetProgramTerms(program: index, startsAt: 0, endsAt: time + 30 * 86_400_000)))
        }
        for index in first..<(first + LedgerBenchmark.townPremiumSales) {
            byCity(.setPremium(SetPremium(program: index, rule: PremiumRule(unitYen: 1_000, basisPoints: 2_000))))
        }
        if townEventBonuses {
            byCity(.setEventBonus(SetEventBonus(program: first + LedgerBenchmark.townPremiumSales, event: .firstPayment, amountYen: 100)))
            byCity(.setEventBonus(SetEventBonus(program: first + LedgerBenchmark.townPremiumSales + 1, event: .firstCharge, amountYen: 100)))
        }
        try apply(signAndVerify(transactions, keys: keys, chainId: chainId))

        // One standing order per instalment of the measured phase: the collection account may
        // take up to ¥500 a month from the genesis month on (so the first instalment is due).
        let month = CivilTime.japanYearMonth(milliseconds: time)
        var orders: [Int: Hash] = [:]
        var nonces: [Int: UInt64] = [:]
        var authorisations: [Transaction] = []
        var payers: [PrivateKey] = []
        for (position, index) in instalments {
            let payer = seeds.key(index)
            let order = AuthoriseStandingOrder(payee: organisation.publicKey, capYen: 500, purpose: .fee, reference: "bench", schedule: StandingOrderSchedule(firstMonth: month, dayOfMonth: 1))
            let transaction = Transaction(chainId: chainId, signer: payer.publicKey, nonce: nonces[index, default: 0], body: .authoriseStandingOrder(order))
            nonces[index, default: 0] += 1
            orders[position] = transaction.id
            authorisations.append(transaction)
            payers.append(payer)
        }
        try apply(signAndVerify(authorisations, keys: payers, chainId: chainId))
        return TownFixture(organisation: organisation, orders: orders, nonces: nonces)
    }

    /// The measured transactions of the town mix, with their signing keys. `nonces` holds each
    /// resident's next nonce (an instalment payer already authorised its order).
    func townMeasured(payerIndices: [Int], fixture: TownFixture, merchant: PublicKey, seeds: ResidentSeeds, authorities: SetupAuthorities, accounts: Int, chainId: String, paysOnly: Bool) -> (transactions: [Transaction], keys: [PrivateKey]) {
        var nonces = fixture.nonces
        var issuerNonce = UInt64(accounts)
        var organisationNonce: UInt64 = 0
        var transactions: [Transaction] = []
        var keys: [PrivateKey] = []
        for (position, index) in payerIndices.enumerated() {
            let resident = seeds.key(index)
            switch paysOnly ? 0 : position % 10 {
            case 7:
                transactions.append(Transaction(chainId: chainId, signer: resident.publicKey, nonce: nonces[index, default: 0], body: .payPublic(PayPublic(to: fixture.organisation.publicKey, amount: 300, purpose: .tax, reference: "bench"))))
                nonces[index, default: 0] += 1
                keys.append(resident)
            case 8:
                let premium: UInt64? = position % 20 == 8 ? LedgerBenchmark.townFirstProgram + UInt64(position / 20) % LedgerBenchmark.townPremiumSales : nil
                transactions.append(Transaction(chainId: chainId, signer: authorities.issuer.publicKey, nonce: issuerNonce, body: .chargeExtended(ChargeExtended(to: resident.publicKey, amount: 1_000, channel: 1, receiptId: "town-\(position)", premiumProgram: premium))))
                issuerNonce += 1
                keys.append(authorities.issuer)
            case 9:
                transactions.append(Transaction(chainId: chainId, signer: fixture.organisation.publicKey, nonce: organisationNonce, body: .payInstalment(PayInstalment(order: fixture.orders[position]!, payer: resident.publicKey, amount: 300))))
                organisationNonce += 1
                keys.append(fixture.organisation)
            default:
                transactions.append(Transaction(chainId: chainId, signer: resident.publicKey, nonce: nonces[index, default: 0], body: .pay(Pay(merchant: merchant, amount: 300))))
                nonces[index, default: 0] += 1
                keys.append(resident)
            }
        }
        return (transactions, keys)
    }
}
