import Foundation
import KizunaCore
import KizunaWallet
import Testing

/// Reads (or, with KIZUNA_WRITE_VECTORS=1, writes) `Vectors/vectors.json` and checks every
/// vector in it from its own fields, independently of how it was generated.
@Suite("Test vectors")
struct VectorTests {
    static var sourceURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/vectors.json")
    }

    static func load() throws -> VectorFile {
        let url = try #require(Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
    }

    static func encoded(_ file: VectorFile) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file) + Data("\n".utf8)
    }

    @Test("vectors.json is what the implementation generates (KIZUNA_WRITE_VECTORS=1 rewrites it)")
    func fileMatchesGenerator() throws {
        let generated = VectorGenerator.make()
        if ProcessInfo.processInfo.environment["KIZUNA_WRITE_VECTORS"] == "1" {
            try VectorTests.encoded(generated).write(to: VectorTests.sourceURL)
            print("wrote \(VectorTests.sourceURL.path)")
            return
        }
        let stored = try VectorTests.load()
        #expect(stored == generated, "the encoding changed: regenerate with KIZUNA_WRITE_VECTORS=1 only if the change is intended (it breaks every wallet)")
        // Byte-for-byte stability of the JSON itself.
        let url = try #require(Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors"))
        #expect(try Data(contentsOf: url) == VectorTests.encoded(generated))
    }

    // MARK: Helpers that read the JSON fields

    func bytes(_ hex: String) throws -> [UInt8] { try #require([UInt8](hex: hex), "not hex: \(hex)") }
    func hash(_ hex: String) throws -> Hash { try #require(Hash(hex: hex), "not a hash: \(hex)") }

    func key(_ ref: KeyRef) throws -> PublicKey {
        let key = try Address(parsing: ref.address).publicKey
        #expect(key.bytes.hexString == ref.hex, "address and hex disagree")
        return key
    }

    func privateKey(_ file: VectorFile, _ name: String) throws -> PrivateKey {
        let entry = try #require(file.keys.first { $0.name == name })
        let seed = try bytes(entry.seed)
        #expect(Hash.sha256(Array(entry.seedPhrase.utf8)).bytes == seed, "seed is SHA-256 of the phrase")
        let key = try #require(PrivateKey(seed: seed))
        #expect(KeyRef(key.publicKey) == entry.publicKey)
        return key
    }

    func body(_ json: BodyJSON) throws -> TransactionBody {
        switch json.kind {
        case "register":
            #expect(json.tag == 1)
            let r = try #require(json.register)
            return .register(Register(
                account: try key(r.account), role: try #require(Role.allCases.first { $0.name == r.role }),
                merchantCategory: r.merchantCategory, residentIdHash: try r.residentIdHash.map(hash),
                district: r.district, ageBand: r.ageBand))
        case "charge":
            #expect(json.tag == 2)
            let c = try #require(json.charge)
            return .charge(Charge(to: try key(c.to), amount: c.amount, channel: try #require(ChargeChannel.allCases.first { $0.name == c.channel }), receiptId: c.receiptId))
        case "send":
            #expect(json.tag == 3)
            let s = try #require(json.send)
            return .send(Send(to: try key(s.to), amount: s.amount))
        default:
            Issue.record("unknown kind \(json.kind)")
            throw CancellationError()
        }
    }

    func transaction(_ json: TransactionJSON) throws -> Transaction {
        Transaction(chainId: json.chainId, signer: try key(json.signer), nonce: json.nonce, body: try body(json.body))
    }

    func header(_ json: HeaderJSON) throws -> BlockHeader {
        BlockHeader(chainId: json.chainId, height: json.height, previousBlockHash: try hash(json.previousBlockHash), timestamp: json.timestamp,
                    transactionsRoot: try hash(json.transactionsRoot), stateRoot: try hash(json.stateRoot), proposer: try key(json.proposer),
                    validatorSetHash: try hash(json.validatorSetHash), lastCommitHash: try hash(json.lastCommitHash))
    }

    func certificate(_ vector: CertificateVector) throws -> CommitCertificate {
        CommitCertificate(height: vector.height, round: vector.round, blockHash: try hash(vector.blockHash), signatures: try vector.signatures.map {
            CommitSignature(validator: try key($0.signer), signature: try #require(Signature(try bytes($0.signature))))
        })
    }

    // MARK: Checks

    @Test func keysAndDomains() throws {
        let file = try VectorTests.load()
        #expect(file.keys.count == DevelopmentKeys.names.count)
        for entry in file.keys {
            let key = try privateKey(file, entry.name)
            #expect(try Address(parsing: entry.publicKey.address).publicKey == key.publicKey)
        }
        #expect(file.hashDomains.count == HashDomain.allCases.count)
        for domain in file.hashDomains {
            #expect(try bytes(domain.prefix) == Array(domain.tag.utf8) + [0])
            #expect(HashDomain(rawValue: domain.tag)?.prefix.hexString == domain.prefix)
        }
    }

    @Test("payment authorisations: fields → encoding, signing bytes, a verifying deterministic signature, the kizuna-pay: text")
    func paymentAuthorisations() throws {
        let file = try VectorTests.load()
        #expect(file.paymentAuthorisations.count >= 2)
        for vector in file.paymentAuthorisations {
            let payer = try key(vector.payer)
            let authorisation = PaymentAuthorisation(chainId: vector.chainId, payer: payer, merchant: try vector.merchant.map { try key($0) },
                                                     capYen: vector.capYen, expiresAt: vector.expiresAt, nonce: try bytes(vector.nonce))
            #expect(authorisation.canonicalBytes.hexString == vector.encoding, "\(vector.name)")
            #expect(try bytes(vector.signingBytes) == Array("KIZUNA/PAY-AUTH/V1".utf8) + [0] + bytes(vector.encoding))
            let signature = try #require(Signature(try bytes(vector.signature)))
            #expect(payer.isValidSignature(signature, for: try bytes(vector.signingBytes)))
            #expect(authorisation.signed(by: try privateKey(file, vector.payerName)).signature == signature, "Ed25519 is deterministic")
            let signed = SignedPaymentAuthorisation(authorisation: authorisation, signature: signature)
            #expect(signed.canonicalBytes.hexString == vector.signedEncoding)
            #expect(try SignedPaymentAuthorisation(canonicalBytes: bytes(vector.signedEncoding)) == signed)
            #expect(vector.text == "kizuna-pay:" + Base64URL.encode(try bytes(vector.signedEncoding)))
            #expect(try PaymentCode.parse(vector.text) == signed)
        }
    }

    @Test func addresses() throws {
        let file = try VectorTests.load()
        for vector in file.addresses {
            let parsed = try Address(parsing: vector.address)
            #expect(parsed.publicKey.bytes.hexString == vector.publicKey)
            #expect(try bytes(vector.checksumInput) == HashDomain.addressChecksum.prefix + bytes(vector.publicKey))
            #expect(Array(Hash.sha256(try bytes(vector.checksumInput)).bytes.prefix(4)).hexString == vector.checksum)
            #expect(parsed.description == vector.address)
            #expect(VectorGenerator.addressText(try bytes(vector.publicKey)) == vector.address, "independent base32")
        }
        for vector in file.invalidAddresses {
            var code: String?
            do throws(Address.ParseError) { _ = try Address(parsing: vector.text) } catch { code = error.code }
            #expect(code == vector.expectedError, "\(vector.name)")
        }
    }

    @Test func transactions() throws {
        let file = try VectorTests.load()
        #expect(Set(file.transactions.map(\.transaction.body.kind)) == ["register", "charge", "send"])
        #expect(file.transactions.contains { !$0.cosignatures.isEmpty })
        for vector in file.transactions {
            let encoding = try bytes(vector.encoding)
            let decoded = try SignedTransaction(untrusted: encoding)
            // decode → equal fields
            let expected = try transaction(vector.transaction)
            #expect(decoded.transaction == expected, "\(vector.name)")
            #expect(decoded.signature.bytes.hexString == vector.signature)
            #expect(decoded.cosignatures.map { KeyRef($0.signer) } == vector.cosignatures.map(\.signer))
            #expect(decoded.cosignatures.map(\.signature.bytes.hexString) == vector.cosignatures.map(\.signature))
            // re-encode → identical bytes
            #expect(decoded.canonicalBytes.hexString == vector.encoding)
            #expect(expected.canonicalBytes.hexString == vector.transactionEncoding)
            #expect(vector.encoding.hasPrefix(vector.transactionEncoding))
            // signing bytes, id
            #expect(try bytes(vector.signingBytes) == Array("KIZUNA/TX/V1".utf8) + [0] + bytes(vector.transactionEncoding))
            #expect(expected.signingBytes.hexString == vector.signingBytes)
            #expect(Hash.sha256(try bytes(vector.signingBytes)).hex == vector.id)
            #expect(decoded.id.hex == vector.id)
            // signatures: deterministic, and they verify
            let signer = try privateKey(file, try #require(vector.signingKeys.first))
            let cosigners = try vector.signingKeys.dropFirst().map { try privateKey(file, $0) }
            #expect(signer.sign(try bytes(vector.signingBytes)).bytes.hexString == vector.signature)
            #expect(expected.signed(by: signer, cosigners: cosigners) == decoded)
            let verified = try decoded.verified(chainId: file.chainId)
            #expect(verified.id.hex == vector.id)
            #expect(verified.signers.count == 1 + vector.cosignatures.count)
        }
    }

    @Test func votes() throws {
        let file = try VectorTests.load()
        for vector in file.votes {
            let step: VoteStep = switch vector.step {
            case "proposal": .proposal
            case "prevote": .prevote
            default: .precommit
            }
            let signing = voteSigningBytes(chainId: vector.chainId, height: vector.height, round: vector.round, step: step, blockHash: try hash(vector.blockHash))
            #expect(signing.hexString == vector.signingBytes)
            let key = try privateKey(file, vector.validatorKey)
            #expect(key.sign(signing).bytes.hexString == vector.signature)
            #expect(key.publicKey.isValidSignature(try #require(Signature(try bytes(vector.signature))), for: signing))
        }
    }

    @Test func certificates() throws {
        let file = try VectorTests.load()
        let validators = Fixtures.validatorSet
        for vector in file.certificates {
            let decoded = try CommitCertificate(canonicalBytes: try bytes(vector.encoding))
            #expect(decoded == (try certificate(vector)))
            #expect(decoded.canonicalBytes.hexString == vector.encoding)
            #expect(decoded.hash.hex == vector.hash)
            #expect(Fixtures.handTagged("KIZUNA/CERT/V1", try bytes(vector.encoding)).hex == vector.hash)
            let precommit = voteSigningBytes(chainId: vector.chainId, height: vector.height, round: vector.round, step: .precommit, blockHash: try hash(vector.blockHash))
            #expect(precommit.hexString == vector.precommitSigningBytes)
            for name in vector.signingKeys {
                let key = try privateKey(file, name)
                let entry = try #require(decoded.signatures.first { $0.validator == key.publicKey })
                #expect(entry.signature == key.sign(precommit))
            }
            try decoded.verify(chainId: vector.chainId, height: vector.height, blockHash: try hash(vector.blockHash), validators: validators)
        }
    }

    @Test func transactionsRoots() throws {
        let file = try VectorTests.load()
        for vector in file.transactionsRoots {
            let ids = try vector.ids.map(hash)
            #expect(try vector.leaves.map(hash) == ids.map { Fixtures.handTagged("KIZUNA/TXLEAF/V1", $0.bytes) })
            #expect(Block.transactionsRoot(ids).hex == vector.root, "\(vector.name)")
        }
    }

    @Test func validatorSets() throws {
        let file = try VectorTests.load()
        for vector in file.validatorSets {
            let set = ValidatorSet(try vector.validators.map {
                Validator(name: $0.name, organisation: $0.organisation, publicKey: try key($0.publicKey), votingPower: $0.votingPower)
            })
            #expect(set.validators.map { KeyRef($0.publicKey) } == vector.validators.map(\.publicKey), "sorted by key")
            #expect(Hash.sha256(try bytes(vector.hashInput)).hex == vector.hash)
            #expect(set.hash.hex == vector.hash)
        }
    }

    @Test func headersAndBlocks() throws {
        let file = try VectorTests.load()
        for vector in file.blockHeaders {
            let decoded = try BlockHeader(canonicalBytes: try bytes(vector.encoding))
            #expect(decoded == (try header(vector.header)))
            #expect(decoded.canonicalBytes.hexString == vector.encoding)
            #expect(decoded.hash.hex == vector.hash)
            #expect(Fixtures.handTagged("KIZUNA/BLOCK/V1", try bytes(vector.encoding)).hex == vector.hash)
        }
        for vector in file.blocks {
            let decoded = try Block(canonicalBytes: try bytes(vector.encoding))
            #expect(decoded.header == (try header(vector.header)))
            #expect(decoded.hash.hex == vector.hash)
            let transactions = try vector.transactions.map { name in
                try SignedTransaction(canonicalBytes: try bytes(try #require(file.transactions.first { $0.name == name }).encoding))
            }
            #expect(decoded.transactions == transactions)
            #expect(Block.transactionsRoot(transactions.map(\.id)) == decoded.header.transactionsRoot)
            if let name = vector.lastCommit {
                let certificate = try certificate(try #require(file.certificates.first { $0.name == name }))
                #expect(decoded.lastCommit == certificate)
                #expect(decoded.header.lastCommitHash == certificate.hash)
                #expect(certificate.blockHash == decoded.header.previousBlockHash)
            } else {
                #expect(decoded.lastCommit == nil)
                #expect(decoded.header.lastCommitHash == .zero)
            }
            #expect(decoded.canonicalBytes.hexString == vector.encoding)
            for transaction in decoded.transactions { _ = try transaction.verified(chainId: decoded.header.chainId) }
        }
    }

    @Test func genesis() throws {
        let file = try VectorTests.load()
        for vector in file.genesis {
            let data = try JSONEncoder().encode(vector.document)
            let genesis = try Genesis(json: data)
            #expect(genesis.canonicalBytes.hexString == vector.canonicalBytes)
            #expect(genesis.hash.hex == vector.hash)
            #expect(Fixtures.handTagged("KIZUNA/GENESIS/V1", try bytes(vector.canonicalBytes)).hex == vector.hash)
        }
    }

    @Test func invalidVectors() throws {
        let file = try VectorTests.load()
        #expect(Set(file.invalid.map(\.name)).count == file.invalid.count, "names are unique")
        for vector in file.invalid {
            let actual = try VectorTests.rejection(vector)
            #expect(actual == vector.expectedError, "\(vector.name): \(vector.description)")
        }
    }

    /// The error code with which `vector` is rejected, or "accepted".
    static func rejection(_ vector: InvalidVector) throws -> String {
        let bytes = try #require([UInt8](hex: vector.encoding))
        do throws(DecodingError) {
            switch vector.type {
            case "SignedTransaction":
                let signed = try SignedTransaction(untrusted: bytes)
                guard let chainId = vector.verifyChainId else { return "accepted" }
                do throws(TransactionError) {
                    _ = try signed.verified(chainId: chainId)
                } catch {
                    return error.code.rawValue
                }
            case "BlockHeader": _ = try BlockHeader(canonicalBytes: bytes)
            case "Block": _ = try Block(canonicalBytes: bytes)
            case "CommitCertificate": _ = try CommitCertificate(canonicalBytes: bytes)
            default:
                Issue.record("unknown type \(vector.type)")
            }
        } catch {
            return error.code.rawValue
        }
        return "accepted"
    }
}
