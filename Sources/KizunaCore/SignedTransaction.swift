/// An additional signature, for authority actions that need more than one signer.
public struct Cosignature: Sendable, Hashable, CanonicalCodable {
    public var signer: PublicKey
    public var signature: Signature

    public init(signer: PublicKey, signature: Signature) {
        self.signer = signer
        self.signature = signature
    }

    public func encode(to encoder: inout Encoder) { encoder.encode(signer, signature) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        signer = try decoder.decode(PublicKey.self)
        signature = try decoder.decode(Signature.self)
    }
}

/// The transaction envelope: the transaction, its signer's signature and any co-signatures
/// (sorted by key, no duplicates, none by the signer). Decoding does not check signatures;
/// `verified(chainId:)` does, and returns a `VerifiedTransaction`.
public struct SignedTransaction: Sendable, Hashable, CanonicalCodable {
    public var transaction: Transaction
    public var signature: Signature
    public var cosignatures: [Cosignature]

    public init(transaction: Transaction, signature: Signature, cosignatures: [Cosignature] = []) {
        self.transaction = transaction
        self.signature = signature
        self.cosignatures = cosignatures
    }

    public var id: Hash { transaction.id }

    public func encode(to encoder: inout Encoder) { encoder.encode(transaction, signature, cosignatures) }

    public init(from decoder: inout Decoder) throws(DecodingError) {
        transaction = try decoder.decode(Transaction.self)
        signature = try decoder.decode(Signature.self)
        let listStart = decoder.offset
        cosignatures = try decoder.decodeList(Cosignature.self, maxCount: TransactionLimits.cosignaturesMax)
        for (index, cosignature) in cosignatures.enumerated() {
            if cosignature.signer == transaction.signer {
                throw decoder.invalid("a co-signature by the transaction's own signer", at: listStart)
            }
            if index > 0 && !(cosignatures[index - 1].signer < cosignature.signer) {
                throw decoder.invalid("co-signatures must be sorted by key without duplicates", at: listStart)
            }
        }
    }

    /// Decodes an envelope from untrusted bytes, refusing anything over the size limit.
    public init(untrusted bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count <= TransactionLimits.transactionBytesMax else {
            throw DecodingError(.lengthTooLarge, "transaction of \(bytes.count) bytes exceeds the maximum of \(TransactionLimits.transactionBytesMax)", offset: 0)
        }
        try self.init(canonicalBytes: bytes)
    }

    /// Checks the chain id and every signature.
    public func verified(chainId: String) throws(TransactionError) -> VerifiedTransaction {
        guard transaction.chainId == chainId else {
            throw TransactionError(.wrongChain, "transaction is for chain '\(transaction.chainId)', this chain is '\(chainId)'")
        }
        let message = transaction.signingBytes
        guard transaction.signer.isValidSignature(signature, for: message) else {
            throw TransactionError(.badSignature, "the signer's signature does not verify")
        }
        for cosignature in cosignatures where !cosignature.signer.isValidSignature(cosignature.signature, for: message) {
            throw TransactionError(.badSignature, "the co-signature of \(cosignature.signer.address) does not verify")
        }
        return VerifiedTransaction(checked: self)
    }
}

/// A transaction whose chain id and signatures were checked. Only `SignedTransaction.verified`
/// makes one, so holding one proves the check happened.
public struct VerifiedTransaction: Sendable, Hashable {
    public let signed: SignedTransaction
    public let id: Hash

    init(checked signed: SignedTransaction) {
        self.signed = signed
        self.id = signed.id
    }

    public var transaction: Transaction { signed.transaction }
    /// Every key that signed: the signer and the co-signers.
    public var signers: [PublicKey] { [signed.transaction.signer] + signed.cosignatures.map(\.signer) }
}
