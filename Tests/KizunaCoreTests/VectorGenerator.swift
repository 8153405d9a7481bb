import Foundation
import KizunaCore
import KizunaWallet

/// Builds every vector of `Vectors/vectors.json` from the Swift implementation. Everything
/// is deterministic: keys come from fixed phrases and Ed25519 signatures are deterministic.
enum VectorGenerator {
    static let chainId = Fixtures.chainId
    static let keyNames = DevelopmentKeys.names

    static func seedPhrase(_ name: String) -> String { "KIZUNA DEVELOPMENT KEY - NEVER USE IN PRODUCTION - \(name)" }
    static func key(_ name: String) -> PrivateKey { DevelopmentKeys.privateKey(name) }
    static func pub(_ name: String) -> PublicKey { key(name).publicKey }

    // MARK: Transactions

    struct NamedTransaction {
        var name: String
        var description: String
        var signer: String
        var cosigners: [String]
        var transaction: Transaction
        var signed: SignedTransaction { transaction.signed(by: key(signer), cosigners: cosigners.map(key)) }
    }

    static let residentIdSalt = Hash.sha256(Array("example registrar salt".utf8)).bytes

    static var namedTransactions: [NamedTransaction] {
        [
            NamedTransaction(
                name: "register-resident-minimal",
                description: "register (tag 1): the registrar registers resident-1 as a resident with no optional attributes (every option byte 0).",
                signer: "registrar", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("registrar"), nonce: 0, body: .register(Register(account: pub("resident-1"), role: .resident)))
            ),
            NamedTransaction(
                name: "register-merchant",
                description: "register: the registrar registers merchant-1 as a merchant with category 'restaurant'.",
                signer: "registrar", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("registrar"), nonce: 1, body: .register(Register(account: pub("merchant-1"), role: .merchant, merchantCategory: "restaurant")))
            ),
            NamedTransaction(
                name: "register-resident-attributes",
                description: "register: resident-2 with every opt-in attribute: a salted resident-ID hash (SHA-256 of the salt then the UTF-8 ID 'KZ-000123'), a non-ASCII district '東町' (6 UTF-8 bytes) and age band 3.",
                signer: "registrar", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("registrar"), nonce: 2, body: .register(Register(
                    account: pub("resident-2"), role: .resident,
                    residentIdHash: TransactionBuilder.residentIdHash(residentId: "KZ-000123", salt: residentIdSalt),
                    district: "東町", ageBand: 3)))
            ),
            NamedTransaction(
                name: "charge-app",
                description: "charge (tag 2): the coin issuer mints 10000 coins to resident-1 for yen received in the app (channel 1).",
                signer: "coin-issuer", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("coin-issuer"), nonce: 0, body: .charge(Charge(to: pub("resident-1"), amount: 10_000, channel: .app, receiptId: "R-2026-0001")))
            ),
            NamedTransaction(
                name: "charge-machine",
                description: "charge: 30000 coins to resident-2 at a city charge machine (channel 2).",
                signer: "coin-issuer", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("coin-issuer"), nonce: 1, body: .charge(Charge(to: pub("resident-2"), amount: 30_000, channel: .chargeMachine, receiptId: "M-07-000042")))
            ),
            NamedTransaction(
                name: "send",
                description: "send (tag 3): resident-1 sends 1500 coins to resident-2.",
                signer: "resident-1", cosigners: [],
                transaction: Transaction(chainId: chainId, signer: pub("resident-1"), nonce: 0, body: .send(Send(to: pub("resident-2"), amount: 1_500)))
            ),
            NamedTransaction(
                name: "register-cosigned",
                description: "register with two co-signatures (city and auditor) over the same signing bytes; co-signatures are sorted by signer key.",
                signer: "registrar", cosigners: ["city", "auditor"],
                transaction: Transaction(chainId: chainId, signer: pub("registrar"), nonce: 3, body: .register(Register(account: pub("resident-3"), role: .resident, district: "west", ageBand: 0)))
            ),
        ]
    }

    static func keyRef(_ key: PublicKey) -> KeyRef { KeyRef(key) }

    static func bodyJSON(_ body: TransactionBody) -> BodyJSON {
        switch body {
        case .register(let r):
            return BodyJSON(kind: "register", tag: 1, register: RegisterJSON(
                account: KeyRef(r.account), role: r.role.name, merchantCategory: r.merchantCategory,
                residentIdHash: r.residentIdHash?.hex, district: r.district, ageBand: r.ageBand))
        case .charge(let c):
            return BodyJSON(kind: "charge", tag: 2, charge: ChargeJSON(to: KeyRef(c.to), amount: c.amount, channel: c.channel.name, receiptId: c.receiptId))
        case .send(let s):
            return BodyJSON(kind: "send", tag: 3, send: SendJSON(to: KeyRef(s.to), amount: s.amount))
        default:
            // The vectors cover the kinds specified in docs/wire-format.md.
            fatalError("no vector layout for \(body.kind)")
        }
    }

    static func transactionJSON(_ t: Transaction) -> TransactionJSON {
        TransactionJSON(chainId: t.chainId, signer: KeyRef(t.signer), nonce: t.nonce, body: bodyJSON(t.body))
    }

    static func transactionVector(_ named: NamedTransaction) -> TransactionVector {
        let signed = named.signed
        return TransactionVector(
            name: named.name, description: named.description,
            signingKeys: [named.signer] + named.cosigners,
            transaction: transactionJSON(named.transaction),
            transactionEncoding: named.transaction.canonicalBytes.hexString,
            signingBytes: named.transaction.signingBytes.hexString,
            id: named.transaction.id.hex,
            signature: signed.signature.bytes.hexString,
            cosignatures: signed.cosignatures.map { SignatureJSON(signer: KeyRef($0.signer), signature: $0.signature.bytes.hexString) },
            encoding: signed.canonicalBytes.hexString)
    }

    static func signedTransaction(_ name: String) -> SignedTransaction {
        namedTransactions.first { $0.name == name }!.signed
    }

    // MARK: Blocks and certificates

    static let block1Names = ["register-resident-minimal", "register-merchant", "charge-app"]
    static let block2Names = ["register-resident-attributes", "charge-machine", "send"]

    static var header1: BlockHeader {
        let validators = Fixtures.validatorSet
        return BlockHeader(
            chainId: chainId, height: 1, previousBlockHash: .zero, timestamp: Fixtures.exampleTime,
            transactionsRoot: Block.transactionsRoot(block1Names.map { signedTransaction($0).id }),
            stateRoot: Fixtures.hash("example state root after block 1"),
            proposer: validators.proposer(height: 1, round: 0).publicKey,
            validatorSetHash: validators.hash, lastCommitHash: .zero)
    }

    static var block1: Block { Block(header: header1, transactions: block1Names.map(signedTransaction), lastCommit: nil) }

    static let certificate1Signers = ["validator-city", "validator-chamber", "validator-operator"]

    static var certificate1: CommitCertificate {
        let hash = header1.hash
        return CommitCertificate(height: 1, round: 0, blockHash: hash, signatures: certificate1Signers.map {
            CommitCertificate.precommit(chainId: chainId, height: 1, round: 0, blockHash: hash, key: key($0))
        })
    }

    static var header2: BlockHeader {
        let validators = Fixtures.validatorSet
        let certificate = certificate1
        return BlockHeader(
            chainId: chainId, height: 2, previousBlockHash: header1.hash, timestamp: Fixtures.exampleTime + 5_000,
            transactionsRoot: Block.transactionsRoot(block2Names.map { signedTransaction($0).id }),
            stateRoot: Fixtures.hash("example state root after block 2"),
            proposer: validators.proposer(height: 2, round: 0).publicKey,
            validatorSetHash: validators.hash, lastCommitHash: certificate.hash)
    }

    static var block2: Block { Block(header: header2, transactions: block2Names.map(signedTransaction), lastCommit: certificate1) }

    static let certificate2Signers = Fixtures.validatorNames

    static var certificate2: CommitCertificate {
        let hash = header2.hash
        return CommitCertificate(height: 2, round: 1, blockHash: hash, signatures: certificate2Signers.map {
            CommitCertificate.precommit(chainId: chainId, height: 2, round: 1, blockHash: hash, key: key($0))
        })
    }

    static func headerJSON(_ h: BlockHeader) -> HeaderJSON {
        HeaderJSON(chainId: h.chainId, height: h.height, previousBlockHash: h.previousBlockHash.hex, timestamp: h.timestamp,
                   transactionsRoot: h.transactionsRoot.hex, stateRoot: h.stateRoot.hex, proposer: KeyRef(h.proposer),
                   validatorSetHash: h.validatorSetHash.hex, lastCommitHash: h.lastCommitHash.hex)
    }

    static func certificateVector(name: String, description: String, signers: [String], certificate c: CommitCertificate) -> CertificateVector {
        CertificateVector(
            name: name, description: description, chainId: chainId, signingKeys: signers,
            height: c.height, round: c.round, blockHash: c.blockHash.hex,
            precommitSigningBytes: voteSigningBytes(chainId: chainId, height: c.height, round: c.round, step: .precommit, blockHash: c.blockHash).hexString,
            signatures: c.signatures.map { SignatureJSON(signer: KeyRef($0.validator), signature: $0.signature.bytes.hexString) },
            encoding: c.canonicalBytes.hexString, hash: c.hash.hex)
    }

    static func voteVector(name: String, description: String, validator: String, height: UInt64, round: UInt32, step: VoteStep, blockHash: Hash) -> VoteVector {
        let bytes = voteSigningBytes(chainId: chainId, height: height, round: round, step: step, blockHash: blockHash)
        return VoteVector(name: name, description: description, validatorKey: validator, chainId: chainId, height: height, round: round,
                          step: stepName(step), blockHash: blockHash.hex, signingBytes: bytes.hexString, signature: key(validator).sign(bytes).bytes.hexString)
    }

    static func stepName(_ step: VoteStep) -> String {
        switch step {
        case .proposal: "proposal"
        case .prevote: "prevote"
        case .precommit: "precommit"
        }
    }

    // MARK: Genesis

    static var genesis: Genesis {
        Genesis(chainId: chainId, genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
                validators: Fixtures.validators,
                authorities: Authorities(coinIssuer: pub("coin-issuer"), registrar: pub("registrar"), city: pub("city"), auditor: pub("auditor")),
                coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy)
    }

    static func genesisJSON(_ d: GenesisDocument) -> GenesisJSON {
        GenesisJSON(
            chainId: d.chainId, genesisTime: d.genesisTime,
            validators: d.validators.map { .init(name: $0.name, organisation: $0.organisation, publicKey: $0.publicKey, votingPower: $0.votingPower) },
            authorities: .init(coinIssuer: d.authorities.coinIssuer, registrar: d.authorities.registrar, city: d.authorities.city, auditor: d.authorities.auditor),
            assets: .init(coin: d.assets.coin, point: d.assets.point, thanks: d.assets.thanks))
    }

    // MARK: Addresses

    /// An independent RFC 4648 base32 (lowercase, no padding) for building address text.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var bits = ""
        for byte in bytes {
            let b = String(byte, radix: 2)
            bits += String(repeating: "0", count: 8 - b.count) + b
        }
        while bits.count % 5 != 0 { bits += "0" }
        var output = ""
        var index = bits.startIndex
        while index < bits.endIndex {
            let next = bits.index(index, offsetBy: 5)
            output.append(alphabet[Int(bits[index..<next], radix: 2)!])
            index = next
        }
        return output
    }

    /// The address text of arbitrary 32 bytes, valid checksum included.
    static func addressText(_ keyBytes: [UInt8]) -> String {
        let checksum = Fixtures.handTagged("KIZUNA/ADDRESS/V1", keyBytes).bytes.prefix(4)
        return "kz1" + base32(keyBytes + checksum)
    }

    /// 32 bytes that are not the encoding of any Ed25519 point (y = 2 has no x).
    static let notAPoint: [UInt8] = [2] + [UInt8](repeating: 0, count: 31)

    static var invalidAddresses: [InvalidAddressVector] {
        let good = pub("resident-1").address.description
        var characters = Array(good)
        // A one-character typo in the middle of the key part.
        characters[20] = characters[20] == "a" ? "b" : "a"
        let typo = String(characters)
        var padding = Array(good)
        // The last character carries 3 data bits and 2 padding bits; setting a padding bit
        // gives a second spelling of the same bytes, which is refused.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        let lastValue = alphabet.firstIndex(of: padding[60])!
        padding[60] = alphabet[lastValue | 1]
        return [
            InvalidAddressVector(name: "typo", description: "one character changed", text: typo, expectedError: "address.bad_checksum"),
            InvalidAddressVector(name: "wrong-prefix", description: "kz2 instead of kz1", text: "kz2" + good.dropFirst(3), expectedError: "address.missing_prefix"),
            InvalidAddressVector(name: "uppercase", description: "addresses are lowercase only", text: good.uppercased(), expectedError: "address.missing_prefix"),
            InvalidAddressVector(name: "bad-character", description: "'1' is not in the base32 alphabet", text: String(good.prefix(10)) + "1" + String(good.dropFirst(11)), expectedError: "address.bad_character"),
            InvalidAddressVector(name: "too-short", description: "one character missing", text: String(good.dropLast()), expectedError: "address.bad_length"),
            InvalidAddressVector(name: "too-long", description: "one character extra", text: good + "a", expectedError: "address.bad_length"),
            InvalidAddressVector(name: "nonzero-padding", description: "the 2 padding bits of the last character are not zero", text: String(padding), expectedError: "address.bad_checksum"),
            InvalidAddressVector(name: "not-a-key", description: "a correct checksum over 32 bytes that are not an Ed25519 point (02 00…00)", text: addressText(notAPoint), expectedError: "address.not_a_key"),
        ]
    }

    // MARK: Invalid encodings

    static func replacing(_ bytes: [UInt8], at offset: Int, with new: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy.replaceSubrange(offset..<offset + new.count, with: new)
        return copy
    }

    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }

    /// S + L, where L is the order of the Ed25519 base point: a second, non-canonical S.
    static func nonCanonicalS(_ signature: Signature) -> [UInt8] {
        let order: [UInt8] = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]
        var result = signature.bytes
        var carry = 0
        for index in 0..<32 {
            let sum = Int(result[32 + index]) + Int(order[index]) + carry
            result[32 + index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return result
    }

    static var invalidVectors: [InvalidVector] {
        let charge = signedTransaction("charge-app")
        let bytes = charge.canonicalBytes
        let chainEnd = 4 + chainId.utf8.count
        let signerOffset = chainEnd
        let kindOffset = chainEnd + 32 + 8
        let toOffset = kindOffset + 1
        let channelOffset = toOffset + 32 + 8
        let receiptOffset = channelOffset + 1
        let signatureOffset = charge.transaction.canonicalBytes.count
        let countOffset = signatureOffset + 64

        let register = signedTransaction("register-resident-minimal").canonicalBytes
        let roleOffset = kindOffset + 1 + 32
        let categoryOptionOffset = roleOffset + 1

        let cosigned = signedTransaction("register-cosigned")
        let cosignedBytes = cosigned.canonicalBytes
        let firstCosignature = cosigned.transaction.canonicalBytes.count + 64 + 4
        let cosignatureSize = 32 + 64
        let first = Array(cosignedBytes[firstCosignature..<firstCosignature + cosignatureSize])
        let second = Array(cosignedBytes[firstCosignature + cosignatureSize..<firstCosignature + 2 * cosignatureSize])
        let bySigner = SignedTransaction(transaction: cosigned.transaction, signature: cosigned.signature,
                                         cosignatures: [Cosignature(signer: pub("registrar"), signature: key("registrar").sign(cosigned.transaction.signingBytes))])

        var otherChain = charge.transaction
        otherChain.chainId = "local-kizuna-2"
        let otherChainSigned = otherChain.signed(by: key("coin-issuer"))

        var badSignature = bytes
        badSignature[signatureOffset] ^= 0x01
        var badCosignature = cosignedBytes
        badCosignature[firstCosignature + 32 + 10] ^= 0x80
        var amountChanged = bytes
        amountChanged[channelOffset - 1] ^= 0x01

        let block = block2.canonicalBytes
        let header = header2.canonicalBytes
        let certificate = certificate2.canonicalBytes
        let certificateListOffset = 8 + 4 + 32 + 4
        let entrySize = 32 + 64
        let swappedCertificate = Array(certificate[0..<certificateListOffset])
            + Array(certificate[certificateListOffset + entrySize..<certificateListOffset + 2 * entrySize])
            + Array(certificate[certificateListOffset..<certificateListOffset + entrySize])
            + Array(certificate[(certificateListOffset + 2 * entrySize)...])
        let optionOffset = block.count - certificate1.canonicalBytes.count - 1

        func tx(_ name: String, _ description: String, _ encoding: [UInt8], _ code: String, chain: String? = nil) -> InvalidVector {
            InvalidVector(name: name, description: description, type: "SignedTransaction", encoding: encoding.hexString, verifyChainId: chain, expectedError: code)
        }
        return [
            tx("empty", "no bytes at all", [], "decode.truncated"),
            tx("truncated-last-byte", "charge-app without its last byte", Array(bytes.dropLast()), "decode.truncated"),
            tx("truncated-in-signature", "charge-app cut in the middle of the signature", Array(bytes.prefix(signatureOffset + 20)), "decode.truncated"),
            tx("trailing-byte", "charge-app followed by one zero byte", bytes + [0], "decode.trailing_bytes"),
            tx("kind-tag-0", "transaction kind tag 0 (kinds are 1, 2, 3)", replacing(bytes, at: kindOffset, with: [0]), "decode.invalid_tag"),
            tx("kind-tag-255", "transaction kind tag 255 (unassigned)", replacing(bytes, at: kindOffset, with: [255]), "decode.invalid_tag"),
            tx("charge-channel-3", "charge channel 3 (channels are 1 and 2)", replacing(bytes, at: channelOffset, with: [3]), "decode.invalid_tag"),
            tx("role-0", "register role 0 (roles are 1, 2, 3)", replacing(register, at: roleOffset, with: [0]), "decode.invalid_tag"),
            tx("option-byte-2", "register-resident-minimal with merchantCategory option byte 2 (must be 0 or 1)", replacing(register, at: categoryOptionOffset, with: [2]), "decode.invalid_tag"),
            tx("chain-id-length-65", "chain id length prefix 65 (maximum 64)", replacing(bytes, at: 0, with: be32(65)), "decode.length_too_large"),
            tx("chain-id-length-ffffffff", "chain id length prefix 0xffffffff", replacing(bytes, at: 0, with: be32(0xffff_ffff)), "decode.length_too_large"),
            tx("receipt-id-length-65", "receipt id length prefix 65 (maximum 64)", replacing(bytes, at: receiptOffset, with: be32(65)), "decode.length_too_large"),
            tx("cosignature-count-5", "co-signature count 5 (maximum 4)", replacing(bytes, at: countOffset, with: be32(5)), "decode.length_too_large"),
            tx("chain-id-control-character", "chain id with a line feed (0x0a) in place of '-'", replacing(bytes, at: 4 + 12, with: [0x0a]), "decode.invalid_string"),
            tx("chain-id-delete-character", "chain id with DEL (0x7f)", replacing(bytes, at: 4 + 12, with: [0x7f]), "decode.invalid_string"),
            tx("chain-id-invalid-utf8", "chain id with a lone 0xff byte", replacing(bytes, at: 4 + 12, with: [0xff]), "decode.invalid_string"),
            tx("chain-id-overlong-utf8", "chain id ending in C0 AF, an overlong encoding of '/'", replacing(bytes, at: 4 + 12, with: [0xc0, 0xaf]), "decode.invalid_string"),
            tx("signer-not-a-point", "signer key 02 00…00, which is not an Ed25519 point", replacing(bytes, at: signerOffset, with: notAPoint), "decode.invalid_key"),
            tx("recipient-not-a-point", "charge recipient 02 00…00, which is not an Ed25519 point", replacing(bytes, at: toOffset, with: notAPoint), "decode.invalid_key"),
            tx("cosignatures-unsorted", "register-cosigned with its two co-signatures swapped", replacing(cosignedBytes, at: firstCosignature, with: second + first), "decode.invalid_value"),
            tx("cosignatures-duplicate", "register-cosigned with the first co-signature repeated", replacing(cosignedBytes, at: firstCosignature, with: first + first), "decode.invalid_value"),
            tx("cosignature-by-signer", "a co-signature by the transaction's own signer", bySigner.canonicalBytes, "decode.invalid_value"),
            tx("oversize-transaction", "4097 bytes: over the 4096-byte limit of an untrusted transaction (checked before decoding)", bytes + [UInt8](repeating: 0, count: 4097 - bytes.count), "decode.length_too_large"),
            tx("bad-signature", "charge-app with bit 0 of the signature flipped", badSignature, "tx.bad_signature", chain: chainId),
            tx("signature-non-canonical-s", "charge-app with S replaced by S + L (the same point equation, a second encoding): refused so signatures are not malleable", replacing(bytes, at: signatureOffset, with: nonCanonicalS(charge.signature)), "tx.bad_signature", chain: chainId),
            tx("bad-cosignature", "register-cosigned with a bit of the first co-signature flipped", badCosignature, "tx.bad_signature", chain: chainId),
            tx("amount-changed", "charge-app with the amount changed after signing", amountChanged, "tx.bad_signature", chain: chainId),
            tx("wrong-chain-id", "charge-app correctly signed for chain local-kizuna-2, submitted to local-kizuna-1", otherChainSigned.canonicalBytes, "tx.wrong_chain", chain: chainId),
            InvalidVector(name: "header-truncated", description: "header of block-2 without its last byte", type: "BlockHeader", encoding: Array(header.dropLast()).hexString, verifyChainId: nil, expectedError: "decode.truncated"),
            InvalidVector(name: "block-trailing-byte", description: "block-2 followed by one byte", type: "Block", encoding: (block + [1]).hexString, verifyChainId: nil, expectedError: "decode.trailing_bytes"),
            InvalidVector(name: "block-last-commit-option-2", description: "block-2 with the last-commit option byte 2", type: "Block", encoding: replacing(block, at: optionOffset, with: [2]).hexString, verifyChainId: nil, expectedError: "decode.invalid_tag"),
            InvalidVector(name: "block-transaction-count-10001", description: "block-2 with a transaction count of 10001 (maximum 10000)", type: "Block", encoding: replacing(block, at: header.count, with: be32(10_001)).hexString, verifyChainId: nil, expectedError: "decode.length_too_large"),
            InvalidVector(name: "certificate-unsorted", description: "certificate-height-2 with its first two signatures swapped", type: "CommitCertificate", encoding: swappedCertificate.hexString, verifyChainId: nil, expectedError: "decode.invalid_value"),
            InvalidVector(name: "certificate-count-129", description: "certificate-height-2 with a signature count of 129 (maximum 128)", type: "CommitCertificate", encoding: replacing(certificate, at: certificateListOffset - 4, with: be32(129)).hexString, verifyChainId: nil, expectedError: "decode.length_too_large"),
        ]
    }

    // MARK: The whole file

    static var paymentAuthorisations: [PaymentAuthorisationVector] {
        let cases: [(String, String, PublicKey?, UInt64, UInt64, [UInt8])] = [
            ("pay-authorisation-any-merchant", "resident-1 authorises any merchant to collect up to 3000 yen until 2026-05-11T09:02:00+09:00 (1778457720000 ms); merchant absent (option byte 0); nonce 00 01 … 0f",
             nil, 3_000, 1_778_457_720_000, Array(0..<16)),
            ("pay-authorisation-one-merchant", "resident-1 authorises only merchant-1 to collect up to 500 yen; nonce ff × 16",
             pub("merchant-1"), 500, 1_778_457_720_000, [UInt8](repeating: 0xff, count: 16)),
        ]
        return cases.map { name, description, merchant, cap, expiresAt, nonce in
            let authorisation = PaymentAuthorisation(chainId: chainId, payer: pub("resident-1"), merchant: merchant, capYen: cap, expiresAt: expiresAt, nonce: nonce)
            let signed = authorisation.signed(by: key("resident-1"))
            return PaymentAuthorisationVector(
                name: name, description: description, payerName: "resident-1", chainId: chainId, payer: KeyRef(authorisation.payer), merchant: merchant.map(KeyRef.init),
                capYen: cap, expiresAt: expiresAt, nonce: nonce.hexString, encoding: authorisation.canonicalBytes.hexString,
                signingBytes: authorisation.signingBytes.hexString, signature: signed.signature.bytes.hexString,
                signedEncoding: signed.canonicalBytes.hexString, text: PaymentCode.text(signed))
        }
    }

    static func make() -> VectorFile {
        let keys = keyNames.map { name in
            KeyVector(name: name, seedPhrase: seedPhrase(name), seed: key(name).seed.hexString, publicKey: KeyRef(pub(name)))
        }
        let domains = HashDomain.allCases.map { DomainVector(name: "\($0)", tag: $0.rawValue, prefix: $0.prefix.hexString) }
        let addresses = ["resident-1", "merchant-1", "registrar"].map { name in
            let key = pub(name)
            let input = HashDomain.addressChecksum.prefix + key.bytes
            return AddressVector(name: name, publicKey: key.bytes.hexString, checksumInput: input.hexString,
                                 checksum: Array(Hash.sha256(input).bytes.prefix(4)).hexString, address: key.address.description)
        }
        let transactions = namedTransactions.map(transactionVector)
        let block1Hash = header1.hash
        let votes = [
            voteVector(name: "prevote-block-1", description: "validator-bank prevotes for block-1 at height 1, round 0", validator: "validator-bank", height: 1, round: 0, step: .prevote, blockHash: block1Hash),
            voteVector(name: "precommit-nil", description: "validator-city precommits for no block (zero hash) at height 2, round 0", validator: "validator-city", height: 2, round: 0, step: .precommit, blockHash: .zero),
        ]
        let certificates = [
            certificateVector(name: "certificate-height-1", description: "3 of the 4 validators (equal power 1) commit block-1 at round 0: 3 > 2/3 × 4", signers: certificate1Signers, certificate: certificate1),
            certificateVector(name: "certificate-height-2", description: "all 4 validators commit block-2 at round 1", signers: certificate2Signers, certificate: certificate2),
        ]
        let roots = (0...5).map { count in
            let ids = (0..<count).map { Fixtures.hash("transaction \($0)") }
            return RootVector(name: "\(count)-leaves", ids: ids.map(\.hex),
                              leaves: ids.map { Hash.tagged(.transactionsLeaf, $0.bytes).hex },
                              root: Block.transactionsRoot(ids).hex)
        }
        let set = Fixtures.validatorSet
        var hashInput = Encoder()
        hashInput.encode(UInt32(set.validators.count))
        for validator in set.validators {
            hashInput.encode(validator.publicKey)
            hashInput.encode(validator.votingPower)
        }
        let validatorSets = [ValidatorSetVector(
            name: "local-4-validators",
            validators: set.validators.map { ValidatorJSON(name: $0.name, organisation: $0.organisation, publicKey: KeyRef($0.publicKey), votingPower: $0.votingPower) },
            hashInput: (HashDomain.validatorSet.prefix + hashInput.bytes).hexString, hash: set.hash.hex)]
        let headers = [
            HeaderVector(name: "header-height-1", description: "the first block: previous hash and last-commit hash are zero; the state root is an arbitrary example value", header: headerJSON(header1), encoding: header1.canonicalBytes.hexString, hash: header1.hash.hex),
            HeaderVector(name: "header-height-2", description: "the second block: names block-1's hash and the hash of certificate-height-1", header: headerJSON(header2), encoding: header2.canonicalBytes.hexString, hash: header2.hash.hex),
        ]
        let blocks = [
            BlockVector(name: "block-1", description: "height 1 with three transactions and no last commit (option byte 0)", header: headerJSON(header1), transactions: block1Names, lastCommit: nil, encoding: block1.canonicalBytes.hexString, hash: block1.hash.hex),
            BlockVector(name: "block-2", description: "height 2 with three transactions and the commit certificate of block-1", header: headerJSON(header2), transactions: block2Names, lastCommit: "certificate-height-1", encoding: block2.canonicalBytes.hexString, hash: block2.hash.hex),
        ]
        let g = genesis
        let genesisVectors = [GenesisVector(name: "local-genesis", description: "the development network: 4 validators of power 1, the development authority keys, the default policies", document: genesisJSON(g.document), canonicalBytes: g.canonicalBytes.hexString, hash: g.hash.hex)]
        return VectorFile(
            format: "kizuna-test-vectors/1",
            description: "Kizuna canonical-encoding test vectors; see docs/wire-format.md. Generated by Tests/KizunaCoreTests (KIZUNA_WRITE_VECTORS=1). Hex is lowercase; keys use the published development seeds (SHA-256 of seedPhrase). Ed25519 signatures are deterministic (RFC 8032).",
            chainId: chainId, keys: keys, hashDomains: domains, addresses: addresses, invalidAddresses: invalidAddresses,
            transactions: transactions, votes: votes, certificates: certificates, transactionsRoots: roots,
            validatorSets: validatorSets, blockHeaders: headers, blocks: blocks, genesis: genesisVectors, invalid: invalidVectors,
            paymentAuthorisations: paymentAuthorisations)
    }
}
