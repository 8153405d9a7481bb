public import KizunaCore

/// Builds and signs transactions for one signing key, counting nonces locally: one method
/// per transaction kind of design §2.3.
///
/// ```swift
/// var wallet = TransactionBuilder(chainId: "local-kizuna-1", key: key, nextNonce: 0)
/// let payment = wallet.pay(merchant: shop, amount: 500)
/// let bytes = payment.canonicalBytes   // POST these to /v1/transactions
/// ```
public struct TransactionBuilder: Sendable {
    public let chainId: String
    public let key: PrivateKey
    public var nextNonce: UInt64

    public init(chainId: String, key: PrivateKey, nextNonce: UInt64) {
        self.chainId = chainId
        self.key = key
        self.nextNonce = nextNonce
    }

    /// Signs `body` with the next nonce (and any co-signers) and advances the nonce.
    public mutating func sign(_ body: TransactionBody, cosigners: [PrivateKey] = []) -> SignedTransaction {
        let transaction = Transaction(chainId: chainId, signer: key.publicKey, nonce: nextNonce, body: body)
        nextNonce += 1
        return transaction.signed(by: key, cosigners: cosigners)
    }

    /// Registrar: create an account, with opt-in attributes.
    public mutating func register(_ account: PublicKey, role: Role, merchantCategory: String? = nil, residentIdHash: Hash? = nil, district: String? = nil, ageBand: UInt8? = nil) -> SignedTransaction {
        sign(.register(Register(account: account, role: role, merchantCategory: merchantCategory, residentIdHash: residentIdHash, district: district, ageBand: ageBand)))
    }

    /// Coin issuer: mint coins for yen received, once per receipt id.
    public mutating func charge(to account: PublicKey, amount: Amount, channel: ChargeChannel = .app, receiptId: String) -> SignedTransaction {
        sign(.charge(Charge(to: account, amount: amount, channel: channel, receiptId: receiptId)))
    }

    /// City or issuer: create a points or thanks program.
    public mutating func createProgram(_ program: CreateProgram) -> SignedTransaction {
        sign(.createProgram(program))
    }

    /// Program issuer: grant points or thanks from a program.
    public mutating func grant(program: UInt64, to account: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.grant(Grant(program: program, to: account, amount: amount)))
    }

    /// Resident: pay a merchant (soonest-expiring points first, then coins).
    public mutating func pay(merchant: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.pay(Pay(merchant: merchant, amount: amount)))
    }

    /// Merchant: collect a payment the payer authorised (customer-presented mode): the
    /// merchant is the payee and signs with its own nonce.
    public mutating func collect(_ authorisation: SignedPaymentAuthorisation, amount: Amount) -> SignedTransaction {
        sign(.payAuthorised(PayAuthorised(authorisation: authorisation, amount: amount)))
    }

    /// Resident: send coins to another resident.
    public mutating func send(to account: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.send(Send(to: account, amount: amount)))
    }

    /// Resident: give thanks to another resident.
    public mutating func thank(_ account: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.thank(Thank(to: account, amount: amount)))
    }

    /// Merchant: cash out everything received.
    public mutating func redeem(reference: String) -> SignedTransaction {
        sign(.redeem(Redeem(reference: reference)))
    }

    /// Coin issuer: refund a resident's coins in yen.
    public mutating func refund(_ account: PublicKey, amount: Amount, reason: RefundReason) -> SignedTransaction {
        sign(.refund(Refund(account: account, amount: amount, reason: reason)))
    }

    /// Registrar: freeze an account (lost phone or card).
    public mutating func freeze(_ account: PublicKey) -> SignedTransaction {
        sign(.freeze(AccountAction(account: account)))
    }

    /// Registrar: unfreeze an account.
    public mutating func unfreeze(_ account: PublicKey) -> SignedTransaction {
        sign(.unfreeze(AccountAction(account: account)))
    }

    /// Registrar, co-signed by the city: move a frozen account's value to a new key.
    public mutating func recover(from old: PublicKey, to new: PublicKey, city: PrivateKey) -> SignedTransaction {
        sign(.recover(Recover(from: old, to: new)), cosigners: [city])
    }

    /// Program issuer: appoint (or re-appoint with new terms) a key that may grant from the
    /// program within its own budget, per-resident cap, per-day cap and expiry.
    public mutating func appointDelegate(_ appointment: AppointDelegate) -> SignedTransaction {
        sign(.appointDelegate(appointment))
    }

    /// Program issuer: end a delegate's appointment at once.
    public mutating func revokeDelegate(program: UInt64, delegate: PublicKey) -> SignedTransaction {
        sign(.revokeDelegate(RevokeDelegate(program: program, delegate: delegate)))
    }

    /// Program issuer: set the program's period and the merchants its rebate covers.
    public mutating func setProgramTerms(_ terms: SetProgramTerms) -> SignedTransaction {
        sign(.setProgramTerms(terms))
    }

    /// Program issuer: add to the program's budget.
    public mutating func topUpProgram(_ program: UInt64, amount: Amount) -> SignedTransaction {
        sign(.topUpProgram(TopUpProgram(program: program, amountYen: amount)))
    }

    /// Program issuer: close the program for good (no more grants or rebates).
    public mutating func closeProgram(_ program: UInt64) -> SignedTransaction {
        sign(.closeProgram(CloseProgram(program: program)))
    }

    /// Business: pay another business in coins, with the payer's reference.
    public mutating func payBusiness(to business: PublicKey, amount: Amount, reference: String) -> SignedTransaction {
        sign(.payBusiness(PayBusiness(to: business, amount: amount, reference: reference)))
    }

    /// Business (the payee): bill another business. The invoice's id is the returned
    /// transaction's id.
    public mutating func issueInvoice(payer: PublicKey, amount: Amount, dueAt: UInt64, reference: String) -> SignedTransaction {
        sign(.issueInvoice(IssueInvoice(payer: payer, amount: amount, dueAt: dueAt, reference: reference)))
    }

    /// Business (the invoice's payer): pay all or part of what is open on an invoice.
    public mutating func payInvoice(_ invoice: Hash, issuer: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.payInvoice(PayInvoice(invoice: invoice, issuer: issuer, amount: amount)))
    }

    /// Business (the invoice's issuer): cancel what is still open on an invoice.
    public mutating func cancelInvoice(_ invoice: Hash, payer: PublicKey) -> SignedTransaction {
        sign(.cancelInvoice(CancelInvoice(invoice: invoice, payer: payer)))
    }

    /// Resident: replace the opt-in attributes; `analytics: false` (and no attributes)
    /// withdraws consent, taking the resident's payments out of every aggregate from then on.
    public mutating func updateConsent(district: String?, ageBand: UInt8?, analytics: Bool) -> SignedTransaction {
        sign(.updateConsent(UpdateConsent(district: district, ageBand: ageBand, analytics: analytics)))
    }

    /// Authority: submit a governance change with the validators' approvals (ADR 0018;
    /// `GovernanceProposalFile.govern()` makes the body from a signed proposal file).
    public mutating func govern(_ body: Govern) -> SignedTransaction {
        sign(.govern(body))
    }

    /// The salted hash of a resident ID that the registrar puts on chain instead of the ID.
    public static func residentIdHash(residentId: String, salt: [UInt8]) -> Hash {
        Hash.sha256(salt + Array(residentId.utf8))
    }
}
