import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger

/// The JSON shapes of the API (described in `docs/openapi.yaml`). Keys are addresses
/// (`kz1…`), hashes lowercase hex, amounts whole yen, times both UTC milliseconds and
/// Japan-time RFC 3339 text.

/// A transaction as JSON: its id, envelope fields, the body's fields, and the canonical
/// encoding (hex) so a client can verify the signature itself.
struct TransactionView: Codable, Sendable {
    var id: String
    var chainId: String
    var signer: String
    var nonce: UInt64
    var kind: String
    var body: [String: JSONValue]
    var signature: String
    var cosigners: [String]
    var encoding: String

    init(_ signed: SignedTransaction) {
        let transaction = signed.transaction
        id = signed.id.hex
        chainId = transaction.chainId
        signer = transaction.signer.address.description
        nonce = transaction.nonce
        kind = transaction.body.kind
        body = TransactionView.fields(transaction.body)
        signature = signed.signature.bytes.hexString
        cosigners = signed.cosignatures.map { $0.signer.address.description }
        encoding = signed.canonicalBytes.hexString
    }

    static func fields(_ body: TransactionBody) -> [String: JSONValue] {
        func key(_ key: PublicKey) -> JSONValue { .string(key.address.description) }
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        func ageBand(_ band: UInt8?) -> JSONValue { band.map { .number(UInt64($0)) } ?? .null }
        /// A time whose `UInt64.max` means "never" (no expiry, no end): null then.
        func time(_ milliseconds: UInt64) -> JSONValue { milliseconds == UInt64.max ? .null : .number(milliseconds) }
        /// A campaign's rebate rate and a category's redemption fee have the same shape.
        func categoryRate(_ category: String, _ basisPoints: UInt32) -> JSONValue {
            .object(["merchantCategory": .string(category), "basisPoints": .number(UInt64(basisPoints))])
        }
        switch body {
        case .register(let value):
            return ["account": key(value.account), "role": .string(value.role.name), "merchantCategory": optional(value.merchantCategory),
                    "residentIdHash": optional(value.residentIdHash?.hex), "district": optional(value.district),
                    "ageBand": ageBand(value.ageBand)]
        case .charge(let value):
            return ["to": key(value.to), "amount": .number(value.amount), "channel": .string(value.channel.name), "receiptId": .string(value.receiptId)]
        case .send(let value):
            return ["to": key(value.to), "amount": .number(value.amount)]
        case .createProgram(let value):
            var fields: [String: JSONValue] = [
                "asset": .string(value.asset.name), "name": .string(value.name), "funder": key(value.funder),
                "budgetYen": .number(value.budgetYen), "expiry": .object(["kind": .string(value.expiry.kind.rawValue), "months": .number(UInt64(value.expiry.months))]),
                "perResidentCapYen": .number(value.perResidentCapYen), "rebate": .null,
            ]
            if let rebate = value.rebate {
                fields["rebate"] = .object([
                    "monthlyCapPerResidentYen": .number(rebate.monthlyCapPerResidentYen),
                    "rates": .array(rebate.rates.map { categoryRate($0.merchantCategory, $0.basisPoints) }),
                ])
            }
            return fields
        case .grant(let value):
            return ["program": .number(value.program), "to": key(value.to), "amount": .number(value.amount)]
        case .pay(let value):
            return ["merchant": key(value.merchant), "amount": .number(value.amount)]
        case .thank(let value):
            return ["to": key(value.to), "amount": .number(value.amount)]
        case .redeem(let value):
            return ["reference": .string(value.reference)]
        case .refund(let value):
            return ["account": key(value.account), "amount": .number(value.amount), "reason": .string(value.reason.name)]
        case .freeze(let value), .unfreeze(let value):
            return ["account": key(value.account)]
        case .recover(let value):
            return ["from": key(value.from), "to": key(value.to)]
        case .appointDelegate(let value):
            return ["program": .number(value.program), "delegate": key(value.delegate), "budgetYen": .number(value.budgetYen),
                    "perResidentCapYen": .number(value.perResidentCapYen), "perDayCapYen": .number(value.perDayCapYen),
                    "expiresAt": time(value.expiresAt)]
        case .revokeDelegate(let value):
            return ["program": .number(value.program), "delegate": key(value.delegate)]
        case .setProgramTerms(let value):
            return ["program": .number(value.program), "startsAt": .number(value.startsAt),
                    "endsAt": time(value.endsAt), "merchants": .array(value.merchants.map(key))]
        case .topUpProgram(let value):
            return ["program": .number(value.program), "amountYen": .number(value.amountYen)]
        case .closeProgram(let value):
            return ["program": .number(value.program)]
        case .payAuthorised(let value):
            let authorisation = value.authorisation.authorisation
            return ["payer": key(authorisation.payer), "merchant": authorisation.merchant.map(key) ?? .null,
                    "capYen": .number(authorisation.capYen), "expiresAt": .number(authorisation.expiresAt),
                    "authorisationNonce": .string(authorisation.nonce.hexString), "amount": .number(value.amount)]
        case .payBusiness(let value):
            return ["to": key(value.to), "amount": .number(value.amount), "reference": .string(value.reference)]
        case .issueInvoice(let value):
            return ["payer": key(value.payer), "amount": .number(value.amount), "dueAt": .number(value.dueAt), "reference": .string(value.reference)]
        case .payInvoice(let value):
            return ["invoice": .string(value.invoice.hex), "issuer": key(value.issuer), "amount": .number(value.amount)]
        case .cancelInvoice(let value):
            return ["invoice": .string(value.invoice.hex), "payer": key(value.payer)]
        case .updateConsent(let value):
            return ["district": optional(value.district), "ageBand": ageBand(value.ageBand), "analytics": .bool(value.analytics)]
        case .setPremium(let value):
            return ["program": .number(value.program), "unitYen": .number(value.rule.unitYen), "premiumPerUnitYen": .number(value.rule.premiumPerUnitYen),
                    "basisPoints": .number(UInt64(value.rule.basisPoints))]
        case .chargeExtended(let value):
            return ["to": key(value.to), "amount": .number(value.amount), "channel": .number(UInt64(value.channel)), "receiptId": .string(value.receiptId),
                    "premiumProgram": value.premiumProgram.map(JSONValue.number) ?? .null]
        case .payPublic(let value):
            return ["to": key(value.to), "amount": .number(value.amount), "purpose": .string(value.purpose.name), "reference": .string(value.reference)]
        case .authoriseStandingOrder(let value):
            let schedule = value.schedule
            return ["payee": key(value.payee), "capYen": .number(value.capYen), "purpose": .string(value.purpose.name), "reference": .string(value.reference),
                    "firstMonth": .number(UInt64(schedule.firstMonth)), "dayOfMonth": .number(UInt64(schedule.dayOfMonth)),
                    "intervalMonths": .number(UInt64(schedule.intervalMonths)), "instalments": .number(UInt64(schedule.instalments))]
        case .payInstalment(let value):
            return ["order": .string(value.order.hex), "payer": key(value.payer), "amount": .number(value.amount)]
        case .cancelStandingOrder(let value):
            return ["order": .string(value.order.hex), "payee": key(value.payee)]
        case .setEventBonus(let value):
            return ["program": .number(value.program), "event": .string(value.event.name), "amountYen": .number(value.amountYen)]
        case .setRebateTiers(let value):
            return ["program": .number(value.program),
                    "tiers": .array(value.tiers.map { .object(["minimumMonthlySpendYen": .number($0.minimumMonthlySpendYen), "basisPoints": .number(UInt64($0.basisPoints))]) })]
        case .govern(let value):
            var fields: [String: JSONValue] = ["effectiveHeight": .number(value.change.effectiveHeight), "proposal": .string(value.change.proposal.kind),
                                               "approvals": .array(value.approvals.map { key($0.signer) })]
            switch value.change.proposal {
            case .validatorSet(let validators):
                fields["validators"] = .array(validators.map { .object(["name": .string($0.name), "organisation": .string($0.organisation), "publicKey": key($0.publicKey), "votingPower": .number($0.votingPower)]) })
            case .assetPolicy(let asset, let policy):
                fields["asset"] = .string(asset.name)
                fields["policy"] = .object(["holderCapYen": .number(policy.holderCapYen), "sendLimitPerTransactionYen": .number(policy.sendLimitPerTransactionYen),
                                            "sendLimitPerMonthYen": .number(policy.sendLimitPerMonthYen), "chargeBonusAppBasisPoints": .number(UInt64(policy.chargeBonusAppBasisPoints)),
                                            "chargeBonusMachineBasisPoints": .number(UInt64(policy.chargeBonusMachineBasisPoints)), "redemptionFeeBasisPoints": .number(UInt64(policy.redemptionFeeBasisPoints))])
            case .chargeChannels(let channels):
                fields["chargeChannels"] = .array(channels.map { .object(["id": .number(UInt64($0.id)), "name": .string($0.name), "bonusBasisPoints": .number(UInt64($0.bonusBasisPoints))]) })
            case .categoryFees(let asset, let fees):
                fields["asset"] = .string(asset.name)
                fields["categoryFees"] = .array(fees.map { categoryRate($0.merchantCategory, $0.basisPoints) })
            }
            return fields
        }
    }
}

struct CertificateView: Codable, Sendable {
    struct SignatureView: Codable, Sendable {
        var validator: String
        var signature: String
    }

    var height: UInt64
    var round: UInt32
    var blockHash: String
    var hash: String
    var signatures: [SignatureView]

    init(_ certificate: CommitCertificate) {
        height = certificate.height
        round = certificate.round
        blockHash = certificate.blockHash.hex
        hash = certificate.hash.hex
        signatures = certificate.signatures.map { SignatureView(validator: $0.validator.address.description, signature: $0.signature.bytes.hexString) }
    }
}

/// A full block (members and auditors): header, transactions, the parent's certificate it
/// carries, and the certificate that committed it.
struct BlockView: Codable, Sendable {
    var header: HeaderResponse
    var time: String
    var transactions: [TransactionView]
    var lastCommit: CertificateView?
    var certificate: CertificateView?
    var encoding: String

    init(_ block: Block, certificate: CommitCertificate?) {
        header = HeaderResponse(block.header)
        time = CivilTime.formatJapan(milliseconds: block.header.timestamp)
        transactions = block.transactions.map(TransactionView.init)
        lastCommit = block.lastCommit.map(CertificateView.init)
        self.certificate = certificate.map(CertificateView.init)
        encoding = block.canonicalBytes.hexString
    }
}

struct LotView: Codable, Sendable {
    var program: UInt64
    var funder: String
    var amount: UInt64
    var grantedAt: UInt64
    /// nil when the lot never expires.
    var expiresAt: UInt64?
    var expiresAtText: String?

    init(_ lot: Lot) {
        program = lot.program
        funder = lot.funder.address.description
        amount = lot.amount
        grantedAt = lot.grantedAt
        expiresAt = lot.expiresAt == UInt64.max ? nil : lot.expiresAt
        expiresAtText = expiresAt.map { CivilTime.formatJapan(milliseconds: $0) }
    }
}

struct BalanceView: Codable, Sendable {
    var asset: String
    var amount: UInt64
    /// For coins: when the whole balance expires if it does not change (nil: never).
    var expiresAt: UInt64?
    var expiresAtText: String?
    /// For points and thanks: the lots, soonest-expiring first.
    var lots: [LotView]?
}

struct AccountView: Codable, Sendable {
    var address: String
    var role: String
    var merchantCategory: String?
    var nonce: UInt64
    /// The nonce after this node's pending transactions of the account (= `nonce` when none
    /// is pending): what a wallet signs next without replacing a pending one.
    var pendingNonce: UInt64?
    var frozen: Bool
    var registeredAt: UInt64
    var successor: String?
    var balances: [BalanceView]
}

struct HistoryItemView: Codable, Sendable {
    var id: String
    var height: UInt64
    var index: UInt32
    var timestamp: UInt64
    var time: String
    var transaction: TransactionView
}

struct HistoryView: Codable, Sendable {
    var address: String
    var transactions: [HistoryItemView]
    /// `height:index` of the page's last transaction: pass it as `before` to get the next
    /// (older) page; absent when this page holds the account's first transaction.
    var nextBefore: String?
}

/// A report as it stands after block `height`: `{"height": …, "<name>": report}`, where the
/// name says what the route reports (`assets` for /v1/supply, `programs`, `statement`…).
struct ReportView<Report: Encodable & Sendable>: Encodable, Sendable {
    var height: UInt64
    var name: String
    var report: Report

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(height, forKey: Key(stringValue: "height"))
        try container.encode(report, forKey: Key(stringValue: name))
    }
}

/// One server-sent event for a committed block.
struct BlockEventView: Codable, Sendable {
    var height: UInt64
    var hash: String
    var timestamp: UInt64
    var time: String
    var stateRoot: String
    var transactionIds: [String]
}

/// One server-sent event for a committed transaction naming the watched account.
struct ReceiptEventView: Codable, Sendable {
    var id: String
    var height: UInt64
    var index: UInt32
    var blockHash: String
    var timestamp: UInt64
    var transaction: TransactionView
}
