public import KizunaCore

/// Builds and signs transactions for one signing key, counting nonces locally.
///
/// ```swift
/// var wallet = TransactionBuilder(chainId: "local-kizuna-1", key: key, nextNonce: 0)
/// let payment = wallet.send(to: friend, amount: 500)
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

    public mutating func register(_ account: PublicKey, role: Role, merchantCategory: String? = nil, residentIdHash: Hash? = nil, district: String? = nil, ageBand: UInt8? = nil) -> SignedTransaction {
        sign(.register(Register(account: account, role: role, merchantCategory: merchantCategory, residentIdHash: residentIdHash, district: district, ageBand: ageBand)))
    }

    public mutating func charge(to account: PublicKey, amount: Amount, channel: ChargeChannel = .app, receiptId: String) -> SignedTransaction {
        sign(.charge(Charge(to: account, amount: amount, channel: channel, receiptId: receiptId)))
    }

    public mutating func send(to account: PublicKey, amount: Amount) -> SignedTransaction {
        sign(.send(Send(to: account, amount: amount)))
    }

    /// The salted hash of a resident ID that the registrar puts on chain instead of the ID.
    public static func residentIdHash(residentId: String, salt: [UInt8]) -> Hash {
        Hash.sha256(salt + Array(residentId.utf8))
    }
}
