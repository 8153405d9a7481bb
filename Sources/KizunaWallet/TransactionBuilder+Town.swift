public import KizunaCore

/// The builders of issue 18's premium sales, event bonuses, public payments and standing
/// orders (docs/ledger-rules.md).
extension TransactionBuilder {
    /// Program issuer: make a point program a premium sale (a fixed premium per unit, or a rate).
    public mutating func setPremium(program: UInt64, rule: PremiumRule) -> SignedTransaction {
        sign(.setPremium(SetPremium(program: program, rule: rule)))
    }

    /// Coin issuer: charge on a channel defined in genesis, optionally buying into a premium sale.
    public mutating func chargeExtended(to account: PublicKey, amount: Amount, channel: UInt8, receiptId: String, premiumProgram: UInt64? = nil) -> SignedTransaction {
        sign(.chargeExtended(ChargeExtended(to: account, amount: amount, channel: channel, receiptId: receiptId, premiumProgram: premiumProgram)))
    }

    /// Program issuer: grant `amount` automatically on each resident's first charge or
    /// payment while the program applies (0 turns it off).
    public mutating func setEventBonus(program: UInt64, event: BonusEvent, amount: Amount) -> SignedTransaction {
        sign(.setEventBonus(SetEventBonus(program: program, event: event, amountYen: amount)))
    }

    /// Program issuer: rebate by the resident's monthly coin spend at merchants, at the rate
    /// of the highest tier reached (no tiers: the program's category rates again).
    public mutating func setRebateTiers(program: UInt64, tiers: [RebateTier]) -> SignedTransaction {
        sign(.setRebateTiers(SetRebateTiers(program: program, tiers: tiers)))
    }

    /// Resident: pay a public body or club (a tax, a fee, a donation) in coins.
    public mutating func payPublic(to organisation: PublicKey, amount: Amount, purpose: PaymentPurpose, reference: String) -> SignedTransaction {
        sign(.payPublic(PayPublic(to: organisation, amount: amount, purpose: purpose, reference: reference)))
    }

    /// Resident: let a payee collect instalments of at most `cap` on a schedule. The order's
    /// id is the returned transaction's id.
    public mutating func authoriseStandingOrder(_ order: AuthoriseStandingOrder) -> SignedTransaction {
        sign(.authoriseStandingOrder(order))
    }

    /// Anyone (usually the payee): collect the next due instalment of a standing order.
    public mutating func payInstalment(order: Hash, payer: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.payInstalment(PayInstalment(order: order, payer: payer, amount: amount)))
    }

    /// Resident (the payer): cancel a standing order.
    public mutating func cancelStandingOrder(_ order: Hash, payee: PublicKey) -> SignedTransaction {
        sign(.cancelStandingOrder(CancelStandingOrder(order: order, payee: payee)))
    }
}
