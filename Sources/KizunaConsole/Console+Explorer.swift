import Logging
import Foundation
import Hummingbird
import KizunaCore
import KizunaChain
import KizunaLedger
import KizunaNode

/// The explorer (members and auditors): the latest blocks, a block with its certificate —
/// each validator's precommit signature, checked here — and its transactions, a transaction,
/// an account with its history; search by height, block hash, transaction id or address.
/// Every read is a point lookup or the account-history index, never a scan.
extension Console {
    static let latestBlocks: UInt64 = 20
    static let historyShown = 20

    func explorerPage(_ context: PageRequest) throws -> PageResult {
        let tip = try node.tip()
        var blocks: [[String: Any]] = []
        var height = tip.height
        while height >= 1 && UInt64(blocks.count) < Self.latestBlocks {
            guard let block = try node.block(at: height) else { break }
            blocks.append(["height": "\(height)", "time": Self.time(block.header.timestamp), "count": "\(block.transactions.count)",
                           "proposer": validatorName(block.header.proposer), "shortHash": String(block.hash.hex.prefix(16)) + "…"])
            height -= 1
        }
        return PageResult(title: context.text["explorer"]!, template: "explorer", data: ["blocks": blocks, "showLatest": true, "query": ""])
    }

    func searchPage(_ context: PageRequest) throws -> PageResult {
        let query = (context.query("q") ?? "").trimmingCharacters(in: .whitespaces)
        let ja = context.language == .ja
        if !query.isEmpty, query.allSatisfy(\.isASCII), query.allSatisfy(\.isNumber) {
            return try blockPage(context, height: query)
        }
        if query.count == 64, let hash = Hash(hex: query.lowercased()) {
            let chain = try node.chain(at: nil)
            if let height = try chain.height(ofBlock: hash) { return try blockPage(context, height: "\(height)") }
            if try chain.receipt(of: hash) != nil { return try transactionPage(context, id: hash.hex) }
            throw ConsoleError(.notFound, ja ? "\(query) に一致するブロックも取引もありません。" : "no block or transaction has the hash \(query)")
        }
        if query.hasPrefix("kz1") { return try accountPage(context, address: query) }
        throw ConsoleError(.badQuery, ja ? "'\(query)' は高さ(数字)、ハッシュ(16進64桁)、アドレス(kz1…)のどれでもありません。" : "'\(query)' is neither a height (digits), a hash (64 hex digits) nor an address (kz1…)")
    }

    func blockPage(_ context: PageRequest, height text: String) throws -> PageResult {
        let ja = context.language == .ja
        guard let height = UInt64(text), height >= 1 else {
            throw ConsoleError(.badQuery, ja ? "高さ '\(text)' は1以上の整数ではありません。" : "the height '\(text)' is not a positive integer")
        }
        let tip = try node.tip().height
        guard height <= tip, let block = try node.block(at: height) else {
            throw ConsoleError(.notFound, ja ? "高さ \(height) のブロックはまだありません(最新は \(tip))。" : "there is no block at height \(height) yet (the tip is \(tip))")
        }
        var data: [String: Any] = [
            "blockHeight": "\(height)", "hash": block.hash.hex, "time": Self.time(block.header.timestamp),
            "proposer": validatorName(block.header.proposer), "stateRoot": block.header.stateRoot.hex, "count": "\(block.transactions.count)",
            "transactions": block.transactions.enumerated().map { index, signed -> [String: Any] in
                ["index": "\(index)", "kind": signed.transaction.body.kind, "signer": signed.transaction.signer.address.description,
                 "shortSigner": String(signed.transaction.signer.address.description.prefix(14)) + "…",
                 "fields": Self.describe(signed.transaction.body), "id": signed.id.hex, "shortId": String(signed.id.hex.prefix(16)) + "…"]
            },
        ]
        if height > 1 { data["previous"] = "\(height - 1)" }
        if height < tip { data["next"] = "\(height + 1)" }
        if let certificate = try node.certificate(at: height) {
            let message = voteSigningBytes(chainId: node.genesis.chainId, height: certificate.height, round: certificate.round, step: .precommit, blockHash: certificate.blockHash)
            let validators = try node.validatorSet(at: height)
            data["certificate"] = [
                "round": "\(certificate.round)", "certificateHash": certificate.hash.hex,
                "signatures": certificate.signatures.map { entry -> [String: Any] in
                    let validator = validators.validator(for: entry.validator)
                    return ["name": validator?.name ?? entry.validator.address.description, "organisation": validator?.organisation ?? "—",
                            "signature": entry.signature.bytes.hexString,
                            "valid": validator != nil && certificate.blockHash == block.hash && entry.validator.isValidSignature(entry.signature, for: message)]
                },
            ] as [String: Any]
        }
        return PageResult(title: "\(context.text["block"]!) \(height)", template: "block", data: data)
    }

    func transactionPage(_ context: PageRequest, id text: String) throws -> PageResult {
        let ja = context.language == .ja
        guard text.count == 64, let id = Hash(hex: text.lowercased()) else {
            throw ConsoleError(.badQuery, ja ? "取引ID '\(text)' は16進64桁ではありません。" : "the transaction id '\(text)' is not 64 hex digits")
        }
        guard let receipt = try node.chain(at: nil).receipt(of: id), let block = try node.block(at: receipt.height),
              Int(receipt.index) < block.transactions.count else {
            throw ConsoleError(.notFound, ja ? "取引 \(text) は確定していません。" : "transaction \(text) is not committed")
        }
        let signed = block.transactions[Int(receipt.index)]
        return PageResult(title: context.text["transaction"]!, template: "transaction", data: [
            "id": signed.id.hex, "kind": signed.transaction.body.kind, "signer": signed.transaction.signer.address.description,
            "blockHeight": "\(receipt.height)", "index": "\(receipt.index)", "time": Self.time(block.header.timestamp),
            "fields": Self.describe(signed.transaction.body), "signature": signed.signature.bytes.hexString,
        ])
    }

    func accountPage(_ context: PageRequest, address text: String) throws -> PageResult {
        let ja = context.language == .ja
        let key: PublicKey
        do {
            key = try Address(parsing: text).publicKey
        } catch {
            throw ConsoleError(.badQuery, ja ? "'\(text)' はアドレスではありません: \(error)" : "'\(text)' is not an address: \(error)")
        }
        guard let account = try node.account(key) else {
            throw ConsoleError(.notFound, ja ? "\(text) は登録されていません。" : "\(text) is not registered")
        }
        let page = try node.history(of: key, before: nil, limit: Self.historyShown)
        return PageResult(title: context.text["account"]!, template: "account", data: [
            "address": key.address.description, "role": account.role.name, "category": account.merchantCategory ?? "", "frozen": account.frozen,
            "balances": Asset.allCases.map { ["label": context.text[$0.name]!, "amount": Self.number(account.balance($0))] },
            "history": page.entries.map { entry -> [String: Any] in
                ["id": entry.transaction.id.hex, "position": "\(entry.height):\(entry.index)", "time": Self.time(entry.timestamp),
                 "kind": entry.transaction.transaction.body.kind, "fields": Self.describe(entry.transaction.transaction.body)]
            },
        ])
    }

    func validatorName(_ key: PublicKey) -> String {
        let sets = (try? node.validatorSchedule().entries.map(\.set)) ?? [node.genesis.validators]
        return sets.lazy.compactMap { $0.validator(for: key)?.name }.first ?? String(key.address.description.prefix(14)) + "…"
    }

    /// A transaction body in one line, for members' eyes (it names accounts).
    static func describe(_ body: TransactionBody) -> String {
        func short(_ key: PublicKey) -> String { String(key.address.description.prefix(14)) + "…" }
        switch body {
        case .register(let value): return "\(short(value.account)) \(value.role.name)\(value.merchantCategory.map { " \($0)" } ?? "")"
        case .charge(let value): return "→ \(short(value.to)) ¥\(number(value.amount)) (\(value.channel.name), \(value.receiptId))"
        case .send(let value): return "→ \(short(value.to)) ¥\(number(value.amount))"
        case .createProgram(let value): return "\(value.name) (\(value.asset.name)) budget ¥\(number(value.budgetYen))"
        case .grant(let value): return "program \(value.program) → \(short(value.to)) \(number(value.amount))"
        case .pay(let value): return "→ \(short(value.merchant)) ¥\(number(value.amount))"
        case .thank(let value): return "→ \(short(value.to)) \(number(value.amount))"
        case .redeem(let value): return value.reference
        case .refund(let value): return "\(short(value.account)) ¥\(number(value.amount)) (\(value.reason.name))"
        case .freeze(let value), .unfreeze(let value): return short(value.account)
        case .recover(let value): return "\(short(value.from)) → \(short(value.to))"
        case .appointDelegate(let value):
            return "program \(value.program) → \(short(value.delegate)) budget ¥\(number(value.budgetYen)), ¥\(number(value.perResidentCapYen))/resident, ¥\(number(value.perDayCapYen))/day"
        case .revokeDelegate(let value): return "program \(value.program) ✕ \(short(value.delegate))"
        case .setProgramTerms(let value):
            let ends = value.endsAt == UInt64.max ? "" : CivilTime.formatJapan(milliseconds: value.endsAt)
            return "program \(value.program) \(value.startsAt == 0 ? "" : CivilTime.formatJapan(milliseconds: value.startsAt)) – \(ends)\(value.merchants.isEmpty ? "" : ", \(value.merchants.count) merchant(s)")"
        case .topUpProgram(let value): return "program \(value.program) +¥\(number(value.amountYen))"
        case .closeProgram(let value): return "program \(value.program)"
        case .payAuthorised(let value):
            return "\(short(value.authorisation.authorisation.payer)) → signer ¥\(number(value.amount)) (authorised up to ¥\(number(value.authorisation.authorisation.capYen)))"
        case .payBusiness(let value): return "→ \(short(value.to)) ¥\(number(value.amount)) (\(value.reference))"
        case .issueInvoice(let value): return "invoice \(value.reference) → \(short(value.payer)) ¥\(number(value.amount)) due \(CivilTime.formatJapan(milliseconds: value.dueAt))"
        case .payInvoice(let value): return "invoice \(value.invoice.hex.prefix(12))… → \(short(value.issuer)) ¥\(number(value.amount))"
        case .cancelInvoice(let value): return "invoice \(value.invoice.hex.prefix(12))… ✕ (\(short(value.payer)))"
        case .updateConsent(let value): return value.analytics ? "consent: \(value.district ?? "-"), age band \(value.ageBand.map { "\($0)" } ?? "-")" : "consent withdrawn"
        case .setPremium(let value):
            let rule = value.rule
            return "program \(value.program) premium " + (rule.premiumPerUnitYen > 0 ? "¥\(number(rule.premiumPerUnitYen)) per ¥\(number(rule.unitYen))" : "\(rule.basisPoints) bp per ¥\(number(rule.unitYen))")
        case .chargeExtended(let value):
            return "→ \(short(value.to)) ¥\(number(value.amount)) (channel \(value.channel), \(value.receiptId))\(value.premiumProgram.map { ", premium program \($0)" } ?? "")"
        case .payPublic(let value): return "→ \(short(value.to)) ¥\(number(value.amount)) \(value.purpose.name) (\(value.reference))"
        case .authoriseStandingOrder(let value):
            return "standing order → \(short(value.payee)) up to ¥\(number(value.capYen)) every \(value.schedule.intervalMonths) month(s) from \(value.schedule.firstMonth) day \(value.schedule.dayOfMonth)"
        case .payInstalment(let value): return "standing order \(value.order.hex.prefix(12))… \(short(value.payer)) ¥\(number(value.amount))"
        case .cancelStandingOrder(let value): return "standing order \(value.order.hex.prefix(12))… ✕ (\(short(value.payee)))"
        case .setEventBonus(let value): return "program \(value.program) \(value.event.name) bonus \(number(value.amountYen))"
        case .setRebateTiers(let value):
            return "program \(value.program) tiers " + (value.tiers.isEmpty ? "removed" : value.tiers.map { "≥¥\(number($0.minimumMonthlySpendYen)) \($0.basisPoints)bp" }.joined(separator: ", "))
        case .govern(let value):
            let change: String
            switch value.change.proposal {
            case .validatorSet(let validators): change = "validator set of \(validators.count)"
            case .assetPolicy(let asset, _): change = "\(asset.name) policy"
            case .chargeChannels(let channels): change = "\(channels.count) charge channels"
            case .categoryFees(let asset, let fees): change = "\(asset.name) fees of \(fees.count) categories"
            }
            return "\(change) from height \(value.change.effectiveHeight) (\(value.approvals.count) approvals)"
        }
    }
}
