public import KizunaCore

/// Visitors and changing consent (issue 21, docs/ledger-rules.md "Visitors" and "Consent
/// that changes").
extension Ledger {
    /// A visitor registration: the chain must have a visitor policy, and a visitor carries
    /// no attribute (no resident ID, district, age band or category).
    func checkVisitorRegistration(_ body: Register) throws(TransactionError) {
        guard genesis.visitorPolicy != nil else {
            throw TransactionError(.visitorsNotEnabled, "this chain's genesis has no visitorPolicy, so it registers no visitors")
        }
        guard body.merchantCategory == nil, body.residentIdHash == nil, body.district == nil, body.ageBand == nil else {
            throw TransactionError(.invalidAttribute, "a visitor is registered without attributes (no resident ID, district, age band or category)")
        }
    }

    /// Refuses a visitor account at or past its expiry.
    func requireUnexpiredVisitor(_ key: PublicKey, context: BlockContext, overlay: StateOverlay) throws {
        let expiry = try overlay.amount(StateKey.visitorExpiry(key))
        guard expiry > 0, context.timestamp >= expiry else { return }
        throw TransactionError(.accountExpired, "visitor account \(key.address) expired at \(CivilTime.formatJapan(milliseconds: expiry)); its coins can still be refunded by the coin issuer")
    }

    /// The most coins `account` may hold and the code past it: the visitor cap (for an
    /// unexpired visitor), else the card's or the coin cap (`coinHolderCap`).
    func holderCap(of account: AccountState, _ key: PublicKey, context: BlockContext, overlay: StateOverlay) throws -> (cap: Amount, code: TransactionErrorCode) {
        guard account.role == .visitor else { return coinHolderCap(account.role) }
        try requireUnexpiredVisitor(key, context: context, overlay: overlay)
        return (genesis.visitorPolicy?.holderCapYen ?? 0, .holderCapExceeded)
    }

    /// A visitor's payment within the per-payment limit.
    func checkVisitorPayment(_ amount: Amount) throws(TransactionError) {
        let limit = genesis.visitorPolicy?.paymentLimitPerTransactionYen ?? 0
        guard amount <= limit else {
            throw TransactionError(.visitorLimitExceeded, "¥\(amount) is over a visitor's per-payment limit of ¥\(limit)")
        }
    }

    /// `update_consent`: a resident replaces their district, age band and analytics consent.
    /// The attributes in force before are kept under the block's height (the first change of
    /// a block keeps them), so the aggregates of earlier payments never change; a withdrawal
    /// records its height, and the resident's payments from that height on leave every
    /// aggregate.
    func updateConsent(_ body: UpdateConsent, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard var account = try overlay.account(signer), account.role == .resident else {
            throw TransactionError(.wrongRole, "only residents hold opt-in attributes")
        }
        if let band = body.ageBand, band > 6 { throw TransactionError(.invalidAttribute, "age band \(band) is out of range 0–6") }
        if let district = body.district, district.isEmpty { throw TransactionError(.invalidAttribute, "district, when given, must not be empty") }
        guard body.analytics || (body.district == nil && body.ageBand == nil) else {
            throw TransactionError(.invalidAttribute, "withdrawing analytics consent shares no attributes: leave district and age band out")
        }
        let withdrawnKey = StateKey.consentWithdrawn(signer)
        let consenting = try overlay.get(withdrawnKey) == nil
        guard body.district != account.district || body.ageBand != account.ageBand || body.analytics != consenting else {
            throw TransactionError(.consentUnchanged, "the resident's attributes and consent are already as given")
        }
        let changeKey = StateKey.consentChange(signer, height: context.height)
        if try overlay.get(changeKey) == nil {
            overlay.set(changeKey, ConsentChange(district: account.district, ageBand: account.ageBand, analytics: consenting).canonicalBytes)
        }
        if body.analytics {
            overlay.set(withdrawnKey, nil)
        } else if consenting {
            overlay.setAmount(withdrawnKey, context.height)
        }
        account.district = body.district
        account.ageBand = body.ageBand
        overlay.setAccount(signer, account)
    }
}
