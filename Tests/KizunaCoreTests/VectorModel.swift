import Foundation
import KizunaCore

// The JSON shape of `Vectors/vectors.json` (described in docs/wire-format.md, "Test vectors").
// Byte strings are lowercase hex; amounts, heights and nonces are JSON numbers; keys are
// given both as a kz1 address and as hex.

struct VectorFile: Codable, Equatable {
    var format: String
    var description: String
    var chainId: String
    var keys: [KeyVector]
    var hashDomains: [DomainVector]
    var addresses: [AddressVector]
    var invalidAddresses: [InvalidAddressVector]
    var transactions: [TransactionVector]
    var votes: [VoteVector]
    var certificates: [CertificateVector]
    var transactionsRoots: [RootVector]
    var validatorSets: [ValidatorSetVector]
    var blockHeaders: [HeaderVector]
    var blocks: [BlockVector]
    var genesis: [GenesisVector]
    var invalid: [InvalidVector]
    var paymentAuthorisations: [PaymentAuthorisationVector]
}

/// A customer-presented payment authorisation (issue 19): its fields, canonical encoding,
/// signing bytes, the payer's signature, the signed encoding and the `kizuna-pay:` text.
struct PaymentAuthorisationVector: Codable, Equatable {
    var name: String
    var description: String
    var payerName: String
    var chainId: String
    var payer: KeyRef
    var merchant: KeyRef?
    var capYen: UInt64
    var expiresAt: UInt64
    var nonce: String
    var encoding: String
    var signingBytes: String
    var signature: String
    var signedEncoding: String
    var text: String
}

struct KeyRef: Codable, Equatable {
    var address: String
    var hex: String

    init(_ key: PublicKey) {
        address = key.address.description
        hex = key.bytes.hexString
    }
}

struct KeyVector: Codable, Equatable {
    var name: String
    /// The seed is SHA-256 of this UTF-8 phrase.
    var seedPhrase: String
    var seed: String
    var publicKey: KeyRef
}

struct DomainVector: Codable, Equatable {
    var name: String
    var tag: String
    /// The tag's ASCII bytes and a zero byte: what is hashed (or signed) first.
    var prefix: String
}

struct AddressVector: Codable, Equatable {
    var name: String
    var publicKey: String
    var checksumInput: String
    var checksum: String
    var address: String
}

struct InvalidAddressVector: Codable, Equatable {
    var name: String
    var description: String
    var text: String
    var expectedError: String
}

struct RegisterJSON: Codable, Equatable {
    var account: KeyRef
    var role: String
    var merchantCategory: String?
    var residentIdHash: String?
    var district: String?
    var ageBand: UInt8?

    enum CodingKeys: String, CodingKey {
        case account, role, merchantCategory, residentIdHash, district, ageBand
    }

    init(account: KeyRef, role: String, merchantCategory: String?, residentIdHash: String?, district: String?, ageBand: UInt8?) {
        self.account = account
        self.role = role
        self.merchantCategory = merchantCategory
        self.residentIdHash = residentIdHash
        self.district = district
        self.ageBand = ageBand
    }

    /// Absent attributes are written as explicit nulls (option byte 0).
    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(account, forKey: .account)
        try container.encode(role, forKey: .role)
        try container.encode(merchantCategory, forKey: .merchantCategory)
        try container.encode(residentIdHash, forKey: .residentIdHash)
        try container.encode(district, forKey: .district)
        try container.encode(ageBand, forKey: .ageBand)
    }
}

struct ChargeJSON: Codable, Equatable {
    var to: KeyRef
    var amount: UInt64
    var channel: String
    var receiptId: String
}

struct SendJSON: Codable, Equatable {
    var to: KeyRef
    var amount: UInt64
}

/// Exactly one of `register`, `charge`, `send` is present, matching `kind`.
struct BodyJSON: Codable, Equatable {
    var kind: String
    var tag: UInt8
    var register: RegisterJSON?
    var charge: ChargeJSON?
    var send: SendJSON?
}

struct TransactionJSON: Codable, Equatable {
    var chainId: String
    var signer: KeyRef
    var nonce: UInt64
    var body: BodyJSON
}

struct SignatureJSON: Codable, Equatable {
    var signer: KeyRef
    var signature: String
}

struct TransactionVector: Codable, Equatable {
    var name: String
    var description: String
    /// Names of the keys in `keys`: the signer first, then any co-signers.
    var signingKeys: [String]
    var transaction: TransactionJSON
    /// The canonical encoding of the Transaction (the signed part).
    var transactionEncoding: String
    /// "KIZUNA/TX/V1\0" followed by `transactionEncoding`.
    var signingBytes: String
    /// SHA-256 of `signingBytes`.
    var id: String
    var signature: String
    /// Sorted by signer key.
    var cosignatures: [SignatureJSON]
    /// The canonical encoding of the SignedTransaction: what is POSTed to /v1/transactions.
    var encoding: String
}

struct VoteVector: Codable, Equatable {
    var name: String
    var description: String
    var validatorKey: String
    var chainId: String
    var height: UInt64
    var round: UInt32
    var step: String
    var blockHash: String
    var signingBytes: String
    var signature: String
}

struct CertificateVector: Codable, Equatable {
    var name: String
    var description: String
    var chainId: String
    var signingKeys: [String]
    var height: UInt64
    var round: UInt32
    var blockHash: String
    /// The precommit signing bytes every signature covers.
    var precommitSigningBytes: String
    /// Sorted by validator key.
    var signatures: [SignatureJSON]
    var encoding: String
    var hash: String
}

struct RootVector: Codable, Equatable {
    var name: String
    var ids: [String]
    var leaves: [String]
    var root: String
}

struct ValidatorJSON: Codable, Equatable {
    var name: String
    var organisation: String
    var publicKey: KeyRef
    var votingPower: UInt64
}

struct ValidatorSetVector: Codable, Equatable {
    var name: String
    /// Sorted by public key.
    var validators: [ValidatorJSON]
    var hashInput: String
    var hash: String
}

struct HeaderJSON: Codable, Equatable {
    var chainId: String
    var height: UInt64
    var previousBlockHash: String
    var timestamp: UInt64
    var transactionsRoot: String
    var stateRoot: String
    var proposer: KeyRef
    var validatorSetHash: String
    var lastCommitHash: String
}

struct HeaderVector: Codable, Equatable {
    var name: String
    var description: String
    var header: HeaderJSON
    var encoding: String
    var hash: String
}

struct BlockVector: Codable, Equatable {
    var name: String
    var description: String
    var header: HeaderJSON
    /// Names of entries in `transactions`, in block order.
    var transactions: [String]
    /// Name of an entry in `certificates`, or null.
    var lastCommit: String?
    var encoding: String
    var hash: String

    enum CodingKeys: String, CodingKey {
        case name, description, header, transactions, lastCommit, encoding, hash
    }

    init(name: String, description: String, header: HeaderJSON, transactions: [String], lastCommit: String?, encoding: String, hash: String) {
        self.name = name
        self.description = description
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
        self.encoding = encoding
        self.hash = hash
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(header, forKey: .header)
        try container.encode(transactions, forKey: .transactions)
        try container.encode(lastCommit, forKey: .lastCommit)
        try container.encode(encoding, forKey: .encoding)
        try container.encode(hash, forKey: .hash)
    }
}

struct GenesisVector: Codable, Equatable {
    var name: String
    var description: String
    var document: GenesisJSON
    var canonicalBytes: String
    var hash: String
}

/// Mirrors `GenesisDocument` (which is not Equatable) so the file can be compared.
struct GenesisJSON: Codable, Equatable {
    struct Validator: Codable, Equatable {
        var name: String
        var organisation: String
        var publicKey: String
        var votingPower: UInt64
    }
    struct Authorities: Codable, Equatable {
        var coinIssuer: String
        var registrar: String
        var city: String
        var auditor: String
    }
    struct Assets: Codable, Equatable {
        var coin: AssetPolicy
        var point: AssetPolicy
        var thanks: AssetPolicy
    }
    var chainId: String
    var genesisTime: String
    var validators: [Validator]
    var authorities: Authorities
    var assets: Assets
}

struct InvalidVector: Codable, Equatable {
    var name: String
    var description: String
    /// SignedTransaction, BlockHeader, Block or CommitCertificate.
    var type: String
    var encoding: String
    /// For `tx.*` errors: the chain id the verifier expects.
    var verifyChainId: String?
    var expectedError: String
}
