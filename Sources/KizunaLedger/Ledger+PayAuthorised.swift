public import KizunaCore

extension Ledger {
    /// `pay_authorised`: a merchant collects a payment the payer authorised in advance
    /// (customer-presented mode, issue 19). The merchant signs the transaction and is the
    /// payee; the payer's signature is on the authorisation. Once the authorisation checks
    /// out, it is exactly a `pay` from the payer to the merchant.
    ///
    /// Why the payer's account nonce is not consumed, and why this cannot be replayed: the
    /// transaction is replay-protected by the merchant's nonce (a resubmitted transaction is
    /// `tx.bad_nonce`), and the authorisation by its one-time nonce — the ledger records
    /// (payer, nonce) when it settles, and refuses that pair again (`authorisation_used`) until
    /// the authorisation has expired, after which it is refused as expired. Using the payer's
    /// account nonce instead would make every authorisation the payer showed but no merchant
    /// collected block the payer's next transaction.
    func payAuthorised(_ body: PayAuthorised, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let authorisation = body.authorisation.authorisation
        guard let collector = try overlay.account(signer), collector.role == .merchant else {
            throw TransactionError(.wrongRole, "only a merchant collects an authorised payment, as the payee")
        }
        guard authorisation.chainId == genesis.chainId else {
            throw TransactionError(.authorisationWrongChain, "the authorisation is for chain '\(authorisation.chainId)', this chain is '\(genesis.chainId)'")
        }
        guard body.authorisation.isValidSignature else {
            throw TransactionError(.authorisationBadSignature, "the payer's signature on the authorisation does not verify")
        }
        if let merchant = authorisation.merchant, merchant != signer {
            throw TransactionError(.authorisationWrongMerchant, "the authorisation is for merchant \(merchant.address), not \(signer.address)")
        }
        guard context.timestamp < authorisation.expiresAt else {
            throw TransactionError(.authorisationExpired, "the authorisation expired at \(authorisation.expiresAt), the block time is \(context.timestamp); ask the payer to show a new code")
        }
        guard authorisation.expiresAt - context.timestamp <= PaymentAuthorisation.maxLifetimeMilliseconds else {
            throw TransactionError(.authorisationTooLong, "the authorisation expires \(authorisation.expiresAt - context.timestamp) ms after the block time; at most \(PaymentAuthorisation.maxLifetimeMilliseconds) ms is accepted")
        }
        guard body.amount <= authorisation.capYen else {
            throw TransactionError(.authorisationCapExceeded, "¥\(body.amount) is over the ¥\(authorisation.capYen) the payer authorised")
        }
        let usedKey = StateKey.usedAuthorisation(authorisation.payer, authorisation.nonce)
        guard try overlay.get(usedKey) == nil else {
            throw TransactionError(.authorisationUsed, "this authorisation was already settled; ask the payer to show a new code")
        }
        guard let payer = try overlay.account(authorisation.payer) else {
            throw TransactionError(.unknownAccount, "the payer \(authorisation.payer.address) is not registered")
        }
        guard !payer.frozen else { throw TransactionError(.frozen, "the payer's account is frozen") }
        try pay(Pay(merchant: signer, amount: body.amount), signer: authorisation.payer, context: context, overlay: &overlay)
        overlay.setAmount(usedKey, authorisation.expiresAt)
        overlay.set(StateKey.authorisationExpiry(authorisation.expiresAt, authorisation.payer, authorisation.nonce), [1])
    }
}
