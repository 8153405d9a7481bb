import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// Builders for issue 18's premium sales, event bonuses, channels, public payments and
/// standing orders.
extension LedgerHarness {
    func setPremium(_ program: UInt64, unit: UInt64 = 1_000, perUnit: UInt64 = 0, rate: UInt32 = 0, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .setPremium(SetPremium(program: program, rule: PremiumRule(unitYen: unit, premiumPerUnitYen: perUnit, basisPoints: rate))))
    }

    /// A `charge_extended`; the receipt defaults to one unique within the block's height and time.
    func chargeExtended(_ to: PublicKey, _ amount: Amount, channel: UInt8 = 1, premium: UInt64? = nil, receipt: String? = nil, by signer: PrivateKey = Fixture.coinIssuerKey) -> SignedTransaction {
        let receiptId = receipt ?? "x-\(to.address.description.suffix(10))-\(amount)-\(height)-\(channel)-\(premium.map(String.init) ?? "")"
        return sign(signer, .chargeExtended(ChargeExtended(to: to, amount: amount, channel: channel, receiptId: receiptId, premiumProgram: premium)))
    }

    func setEventBonus(_ program: UInt64, _ event: BonusEvent, _ amount: UInt64, by signer: PrivateKey = Fixture.cityKey) -> SignedTransaction {
        sign(signer, .setEventBonus(SetEventBonus(program: program, event: event, amountYen: amount)))
    }

    func payPublic(from: PrivateKey, to: PublicKey, _ amount: Amount, _ purpose: PaymentPurpose, reference: String = "notice-1") -> SignedTransaction {
        sign(from, .payPublic(PayPublic(to: to, amount: amount, purpose: purpose, reference: reference)))
    }

    func authoriseStandingOrder(from: PrivateKey, payee: PublicKey, cap: UInt64, purpose: PaymentPurpose = .fee, firstMonth: UInt32, day: UInt8, interval: UInt8 = 1, instalments: UInt32 = 0) -> SignedTransaction {
        sign(from, .authoriseStandingOrder(AuthoriseStandingOrder(payee: payee, capYen: cap, purpose: purpose, reference: "contract-1",
                                                                  schedule: StandingOrderSchedule(firstMonth: firstMonth, dayOfMonth: day, intervalMonths: interval, instalments: instalments))))
    }

    func payInstalment(_ order: Hash, payer: PublicKey, _ amount: Amount, by signer: PrivateKey) -> SignedTransaction {
        sign(signer, .payInstalment(PayInstalment(order: order, payer: payer, amount: amount)))
    }

    func cancelStandingOrder(_ order: Hash, payee: PublicKey, by signer: PrivateKey) -> SignedTransaction {
        sign(signer, .cancelStandingOrder(CancelStandingOrder(order: order, payee: payee)))
    }

    func premium(_ program: UInt64) throws -> PremiumState? { try overlay.premium(program) }
    func standingOrder(_ id: Hash) throws -> StandingOrderState? { try overlay.standingOrder(id) }
    /// Points held from one program.
    func points(_ key: PrivateKey, from program: UInt64) throws -> Amount {
        try lots(key.publicKey).filter { $0.program == program }.reduce(0) { $0 + $1.amount }
    }
}

extension Fixture {
    /// The default genesis with issue 18's sections.
    static func townGenesis(residentIdRequired: Bool? = nil, channels: [ChargeChannelDefinition]? = nil) -> Genesis {
        var genesis = genesis()
        genesis.registrationPolicy = residentIdRequired.map { RegistrationPolicy(residentIdRequired: $0) }
        genesis.chargeChannels = channels
        return genesis
    }

    static let bankTransferChannels = [
        ChargeChannelDefinition(id: 1, name: "app", bonusBasisPoints: 100),
        ChargeChannelDefinition(id: 2, name: "charge_machine", bonusBasisPoints: 150),
        ChargeChannelDefinition(id: 3, name: "bank_transfer", bonusBasisPoints: 300),
    ]
}
