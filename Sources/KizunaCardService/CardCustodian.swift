import Foundation
public import KizunaCore
public import KizunaWallet
import KizunaAPI
import KizunaLedger
public import Logging
import Prometheus
import KizunaNode
import NIOConcurrencyHelpers

/// One card at a time: a card's payments, PIN changes and unlocks run one after another, so
/// its nonces follow each other and a wrong-PIN count is never lost to a race. Different cards
/// run side by side.
actor CardLocks {
    private var busy: Set<CardId> = []
    private var waiting: [CardId: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ card: CardId) async {
        if busy.insert(card).inserted { return }
        await withCheckedContinuation { waiting[card, default: []].append($0) }
    }

    func release(_ card: CardId) {
        if var queue = waiting[card], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[card] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            busy.remove(card)
        }
    }
}

/// The card custodian (`kizuna card-service`, `docs/cards.md`): holds the card keys, checks
/// PINs, and signs and settles card payments for merchants' terminals.
///
/// Crash safety (docs/cards.md §4): a payment is signed, then written with its request as
/// *pending* in one synced batch, and only then submitted; it is answered only once the node
/// says it committed or refused it, and that outcome is written first. After a crash, a
/// card's pending payments are settled (the same signed bytes resubmitted: a committed one is
/// found by its id, an uncommitted one commits once, its nonce makes a second copy a no-op)
/// before the card signs anything new; a repeated terminal request returns the stored outcome.
public final class CardCustodian: Sendable {
    let configuration: CardServiceConfiguration
    public let genesis: Genesis
    let store: CardStore
    let vault: CardVault
    let node: NodeClient
    let metrics: CardServiceMetrics
    let logger: Logger
    let clock: @Sendable () -> UInt64
    private let locks = CardLocks()
    private let merchants = MerchantCache()
    /// When settled requests were last pruned (service clock, ms).
    private let prunedAt = NIOLockedValueBox<UInt64>(0)

    public init(configuration: CardServiceConfiguration, genesis: Genesis, passphrase: String, token: String, metrics: CardServiceMetrics, logger: Logger, clock: @escaping @Sendable () -> UInt64 = wallClockMilliseconds) throws(CardServiceError) {
        guard genesis.cardPolicy != nil else {
            throw CardServiceError(.badConfig, "the genesis of chain '\(genesis.chainId)' has no cardPolicy: its ledger registers no card, so there is nothing to hold keys for")
        }
        guard let url = URL(string: configuration.nodeURL) else { throw CardServiceError(.badConfig, "node.url is not a URL") }
        self.configuration = configuration
        self.genesis = genesis
        self.store = try CardStore(path: configuration.dataDirectory)
        let opened: (vault: CardVault, record: CardVault.Record)
        do {
            opened = try CardVault.open(passphrase: passphrase, record: try store.vault())
            try store.write([("vault", opened.record)])
        } catch {
            store.close()
            throw error
        }
        self.vault = opened.vault
        self.node = NodeClient(baseURL: url, authentication: .bearer(token), clock: clock)
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    public func close() { store.close() }

    func withCard<T: Sendable>(_ card: CardId, _ body: () async throws -> T) async throws -> T {
        await locks.acquire(card)
        do {
            let result = try await body()
            await locks.release(card)
            return result
        } catch {
            await locks.release(card)
            throw error
        }
    }

    // MARK: - Registrar

    /// Issues a card: a new key, sealed, and the first PIN's hash.
    public func issue(pin: String) async throws -> CardServiceMessages.CardView {
        guard CardVault.isWellFormed(pin: pin) else { throw APIProblem(400, CardServiceErrorCode.badPinFormat.rawValue, "a PIN is 4 to 12 digits") }
        let id = CardId.random()
        let key = PrivateKey()
        let salt = CardVault.randomBytes(16)
        let logN = configuration.pinScryptLogN
        let hash = try await offload { [vault] () throws(CardServiceError) -> [UInt8] in try vault.pinHash(pin, card: id, salt: salt, logN: logN) }
        let record = CardRecord(cardId: id, account: key.publicKey.address.description, sealedKey: try vault.sealKey(key, card: id).hexString,
                                pinSalt: salt.hexString, pinHash: hash.hexString, pinLogN: logN, failedPinAttempts: 0, locked: false, day: 0, spentOnDay: 0, issuedAt: clock())
        try store.write([(CardStore.cardKey(id), record)])
        metrics.cardsIssued.increment()
        logger.notice("card issued", metadata: ["card": "\(id)", "account": "\(record.account)"])
        return record.view
    }

    /// Sets a new PIN; the card is unlocked and its wrong-PIN count cleared.
    public func setPin(_ id: CardId, pin: String) async throws -> CardServiceMessages.CardView {
        guard CardVault.isWellFormed(pin: pin) else { throw APIProblem(400, CardServiceErrorCode.badPinFormat.rawValue, "a PIN is 4 to 12 digits") }
        return try await withCard(id) {
            var record = try requireCard(id)
            let salt = CardVault.randomBytes(16)
            let logN = configuration.pinScryptLogN
            let hash = try await offload { [vault] () throws(CardServiceError) -> [UInt8] in try vault.pinHash(pin, card: id, salt: salt, logN: logN) }
            (record.pinSalt, record.pinHash, record.pinLogN) = (salt.hexString, hash.hexString, logN)
            (record.failedPinAttempts, record.locked) = (0, false)
            try store.write([(CardStore.cardKey(id), record)])
            logger.notice("card PIN set by the registrar", metadata: ["card": "\(id)"])
            return record.view
        }
    }

    /// Unlocks a card locked by wrong PINs, keeping its PIN.
    public func unlock(_ id: CardId) async throws -> CardServiceMessages.CardView {
        try await withCard(id) {
            var record = try requireCard(id)
            (record.failedPinAttempts, record.locked) = (0, false)
            try store.write([(CardStore.cardKey(id), record)])
            logger.notice("card unlocked by the registrar", metadata: ["card": "\(id)"])
            return record.view
        }
    }

    public func view(_ id: CardId) throws -> CardServiceMessages.CardView { try requireCard(id).view }

    func requireCard(_ id: CardId) throws -> CardRecord {
        guard let record = try store.card(id) else {
            throw APIProblem(404, CardServiceErrorCode.unknownCard.rawValue, "no card \(id) was issued by this custodian")
        }
        return record
    }

    // MARK: - Payments

    /// A terminal's payment, signed by `merchant` (checked by the caller). Answers only once
    /// the payment committed; a refusal is thrown as a problem with its code.
    public func pay(_ request: CardServiceMessages.PaymentRequest, merchant: PublicKey, body: [UInt8]) async throws -> CardServiceMessages.PaymentOutcome {
        guard request.requestNonce.count == 32, request.requestNonce == request.requestNonce.lowercased(), [UInt8](hex: request.requestNonce) != nil else {
            throw APIProblem(400, CardServiceErrorCode.badRequest.rawValue, "requestNonce is 32 lower-case hex digits (16 random bytes per payment)")
        }
        let started = ContinuousClock.now
        defer { metrics.paymentSeconds.record(ContinuousClock.now - started) }
        let bodyHash = Hash.sha256(body).hex
        let requestKey = CardStore.requestKey(merchant: merchant.address.description, nonce: request.requestNonce)
        return try await withCard(request.cardId) {
            if var existing = try store.request(requestKey) {
                guard existing.bodyHash == bodyHash else {
                    throw APIProblem(409, CardServiceErrorCode.requestNonceReused.rawValue, "this terminal already used request nonce \(request.requestNonce) for another payment; draw a new nonce per payment")
                }
                metrics.replays.increment()
                if existing.status == .pending { existing = try await settle(existing) }
                return try answer(existing, replayed: true)
            }
            let now = clock()
            let distance = now > request.time ? now - request.time : request.time - now
            guard distance <= configuration.requestMaxAgeMilliseconds else {
                throw APIProblem(400, CardServiceErrorCode.requestExpired.rawValue, "the request was made at \(request.time), \(distance) ms from the custodian's clock (\(now)); at most \(configuration.requestMaxAgeMilliseconds) ms are accepted — make a new request")
            }
            guard request.amountYen > 0 else { throw APIProblem(400, CardServiceErrorCode.badRequest.rawValue, "a payment is at least ¥1") }
            var card = try requireCard(request.cardId)
            guard !card.locked else {
                throw APIProblem(423, CardServiceErrorCode.locked.rawValue, "card \(card.cardId) is locked after \(configuration.pinAttemptsMax) wrong PINs; the registrar unlocks it")
            }
            // Anything this card signed before a crash is settled before it signs again.
            for pending in try store.pendingRequests(card: card.cardId) { _ = try await settle(pending) }
            guard try store.pendingRequests(card: card.cardId).isEmpty else {
                throw APIProblem(503, CardServiceErrorCode.paymentPending.rawValue, "card \(card.cardId)'s previous payment has not committed yet; nothing new was signed — retry shortly", retryAfterSeconds: 2)
            }
            card = try requireCard(request.cardId)
            try await requireMerchant(merchant)
            var record = RequestRecord(merchant: merchant.address.description, requestNonce: request.requestNonce, bodyHash: bodyHash, cardId: card.cardId,
                                       amountYen: request.amountYen, receivedAt: now, status: .refused)
            guard try await checkPin(request.pin, card: &card) else {
                let remaining = configuration.pinAttemptsMax - card.failedPinAttempts
                let (status, code, message) = card.locked
                    ? (423, CardServiceErrorCode.locked.rawValue, "wrong PIN: card \(card.cardId) is now locked; the registrar unlocks it")
                    : (401, CardServiceErrorCode.wrongPin.rawValue, "wrong PIN; \(remaining) attempt\(remaining == 1 ? "" : "s") left before the card locks")
                (record.httpStatus, record.code, record.message) = (status, code, message)
                try store.write([(CardStore.cardKey(card.cardId), card), (record.key, record), (CardStore.expiryKey(record), "")])
                throw APIProblem(status, code, message)
            }
            if let refusal = limitRefusal(card, amount: request.amountYen, now: now) {
                (record.httpStatus, record.code, record.message) = (422, refusal.code.rawValue, refusal.message)
                try store.write([(CardStore.cardKey(card.cardId), card), (record.key, record), (CardStore.expiryKey(record), "")])
                metrics.payments(outcome: "refused").increment()
                throw APIProblem(422, refusal.code.rawValue, refusal.message)
            }
            let key = try vault.openKey(try hexBytes(card.sealedKey), card: card.cardId, account: card.account)
            let nonce: UInt64
            do {
                nonce = try await node.nextNonce(of: key.publicKey)
            } catch {
                throw APIProblem(503, CardServiceErrorCode.nodeUnavailable.rawValue, "the node could not be asked for the card's nonce: \(error); nothing was signed, retry", retryAfterSeconds: 1)
            }
            let transaction = Transaction(chainId: genesis.chainId, signer: key.publicKey, nonce: nonce, body: .pay(Pay(merchant: merchant, amount: request.amountYen))).signed(by: key)
            (record.status, record.signedTransaction, record.transactionId) = (.pending, transaction.canonicalBytes.hexString, transaction.id.hex)
            (record.httpStatus, record.code, record.message) = (nil, nil, nil)
            // Written (synced) before it leaves: from here a crash ends in settle().
            try store.write([(CardStore.cardKey(card.cardId), card), (record.key, record), (CardStore.pendingKey(record), "")])
            metrics.signed.increment()
            return try answer(try await settle(record), replayed: false)
        }
    }

    /// The answer to a settled (or still pending) request.
    func answer(_ record: RequestRecord, replayed: Bool) throws -> CardServiceMessages.PaymentOutcome {
        switch record.status {
        case .committed:
            return CardServiceMessages.PaymentOutcome(status: "committed", transactionId: record.transactionId ?? "", height: record.height, card: record.cardId.description, replayed: replayed)
        case .refused:
            throw APIProblem(record.httpStatus ?? 422, record.code ?? "card.refused", (replayed ? "(a repeated request: nothing was paid again) " : "") + (record.message ?? ""))
        case .pending:
            throw APIProblem(503, CardServiceErrorCode.paymentPending.rawValue, "payment \(record.transactionId ?? "") was signed and submitted but has not committed yet; repeat the same request to learn its outcome (it is never paid twice)", retryAfterSeconds: 2)
        }
    }

    /// The custodian's own check of the card policy before it signs (the ledger checks again).
    func limitRefusal(_ card: CardRecord, amount: UInt64, now: UInt64) -> TransactionError? {
        guard let policy = genesis.cardPolicy else { return nil }
        if amount > policy.perPaymentCapYen {
            return TransactionError(.cardPaymentCapExceeded, "¥\(amount) is over a card's per-payment cap of ¥\(policy.perPaymentCapYen)")
        }
        let today = LedgerCalendar.japanDayAndHour(now).day
        let spent = card.day == today ? card.spentOnDay : 0
        if spent + amount > policy.perDayCapYen {
            return TransactionError(.cardDailyCapExceeded, "the card paid ¥\(spent) today; ¥\(amount) more is over its per-day cap of ¥\(policy.perDayCapYen)")
        }
        return nil
    }

    /// Checks the PIN; on a wrong one counts it (and locks at the limit) in `card`, which the
    /// caller writes before answering. A right one clears the count.
    func checkPin(_ pin: String, card: inout CardRecord) async throws -> Bool {
        let (salt, expected, logN, id) = (try hexBytes(card.pinSalt), try hexBytes(card.pinHash), card.pinLogN, card.cardId)
        let started = ContinuousClock.now
        let hash = CardVault.isWellFormed(pin: pin)
            ? try await offload { [vault] () throws(CardServiceError) -> [UInt8] in try vault.pinHash(pin, card: id, salt: salt, logN: logN) }
            : []
        metrics.pinSeconds.record(ContinuousClock.now - started)
        if CardVault.constantTimeEqual(hash, expected) {
            card.failedPinAttempts = 0
            return true
        }
        card.failedPinAttempts += 1
        metrics.pinFailures.increment()
        if card.failedPinAttempts >= configuration.pinAttemptsMax {
            card.locked = true
            metrics.locks.increment()
            logger.warning("card locked after wrong PINs", metadata: ["card": "\(card.cardId)", "attempts": "\(card.failedPinAttempts)"])
        }
        return false
    }

    /// Refuses a signer that is not a registered, unfrozen merchant (so nobody else can try
    /// PINs or lock cards). Positive answers are cached for a minute.
    func requireMerchant(_ key: PublicKey) async throws {
        let now = clock()
        if await merchants.isKnown(key, now: now) { return }
        let reply: NodeClient.Reply
        do {
            reply = try await node.account(key)
        } catch {
            throw APIProblem(503, CardServiceErrorCode.nodeUnavailable.rawValue, "the node could not be asked whether \(key.address) is a merchant: \(error)", retryAfterSeconds: 1)
        }
        guard reply.statusCode != 404 else {
            throw APIProblem(403, CardServiceErrorCode.notAMerchant.rawValue, "\(key.address) is not registered; only merchants' terminals take card payments")
        }
        guard reply.isSuccess, let account = reply.json else {
            throw APIProblem(503, CardServiceErrorCode.nodeUnavailable.rawValue, "the node answered HTTP \(reply.statusCode) for the merchant's account: \(reply.text)", retryAfterSeconds: 1)
        }
        guard account["role"] as? String == Role.merchant.name, account["frozen"] as? Bool != true else {
            throw APIProblem(403, CardServiceErrorCode.notAMerchant.rawValue, "\(key.address) is not an unfrozen merchant; only merchants' terminals take card payments")
        }
        await merchants.remember(key, until: now + 60_000)
    }

    /// Takes a pending payment to its outcome, as far as the node lets it within the commit
    /// wait, and writes the outcome. Still pending (node down, slow commit): returned as is.
    func settle(_ pending: RequestRecord) async throws -> RequestRecord {
        guard let hex = pending.signedTransaction, let bytes = [UInt8](hex: hex), let signed = try? SignedTransaction(canonicalBytes: bytes) else {
            throw CardServiceError(.store, "pending request \(pending.key) has no readable signed payment")
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(configuration.commitWaitMilliseconds))
        var submitted = false
        while true {
            let status: NodeClient.Reply
            do {
                status = try await node.transaction(signed.id)
            } catch {
                logger.warning("node unreachable while settling a card payment", metadata: ["transaction": "\(signed.id)", "error": "\(error)"])
                return pending
            }
            let json = status.json
            switch (status.statusCode, json?["status"] as? String) {
            case (200, "committed"?):
                let height = (json?["height"] as? Int).map(UInt64.init)
                return try finish(pending, status: .committed, height: height, httpStatus: nil, code: nil, message: nil)
            case (422, "rejected"?):
                return try finish(pending, status: .refused, height: nil, httpStatus: 422, code: json?["code"] as? String, message: json?["message"] as? String)
            case (404, _) where !submitted:
                submitted = true
                let reply: NodeClient.Reply
                do {
                    reply = try await node.submit(signed, waitForCommit: true)
                } catch {
                    logger.warning("node unreachable while submitting a card payment", metadata: ["transaction": "\(signed.id)", "error": "\(error)"])
                    return pending
                }
                if reply.statusCode == 422, let code = reply.problemCode {
                    // Refused at admission: unless it committed meanwhile (a resubmission after
                    // a crash), it never will; its nonce is free for the card's next payment.
                    if let again = try? await node.transaction(signed.id), again.json?["status"] as? String == "committed" { continue }
                    return try finish(pending, status: .refused, height: nil, httpStatus: 422, code: code, message: reply.json?["detail"] as? String ?? reply.json?["message"] as? String)
                }
                continue
            default:
                break
            }
            guard ContinuousClock.now < deadline else { return pending }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Writes a payment's outcome: the request record, the card's day total, the pending index.
    func finish(_ pending: RequestRecord, status: RequestRecord.Status, height: UInt64?, httpStatus: Int?, code: String?, message: String?) throws -> RequestRecord {
        var record = pending
        (record.status, record.height, record.httpStatus, record.code, record.message) = (status, height, httpStatus, code, message)
        var entries: [(String, (any Encodable)?)] = [(record.key, record), (CardStore.pendingKey(record), nil), (CardStore.expiryKey(record), "")]
        if status == .committed, var card = try store.card(record.cardId) {
            let day = LedgerCalendar.japanDayAndHour(record.receivedAt).day
            card.spentOnDay = (card.day == day ? card.spentOnDay : 0) + record.amountYen
            card.day = max(card.day, day)
            entries.append((CardStore.cardKey(card.cardId), card))
        }
        try store.write(entries)
        pruneIfDue()
        metrics.payments(outcome: status.rawValue).increment()
        logger.info("card payment settled", metadata: ["card": "\(record.cardId)", "transaction": "\(record.transactionId ?? "")", "status": "\(status.rawValue)", "code": "\(code ?? "")"])
        return record
    }

    /// At start: settles every pending payment (each card's in order).
    public func settleAllPending() async {
        do {
            for card in try store.cardsWithPendingRequests() {
                try await withCard(card) {
                    for pending in try store.pendingRequests(card: card) { _ = try await settle(pending) }
                }
            }
            pruneIfDue(force: true)
        } catch {
            logger.error("settling pending card payments failed; they are settled on the card's next payment", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes settled request records older than twice the request window (a repeat of one
    /// is refused as expired anyway), at most once a minute and a thousand at a time.
    func pruneIfDue(force: Bool = false) {
        let now = clock()
        let due = prunedAt.withLockedValue { last in
            guard force || now >= last &+ 60_000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let pruned = try store.prune(before: now &- 2 * configuration.requestMaxAgeMilliseconds)
            if pruned > 0 { logger.info("old request records pruned", metadata: ["count": "\(pruned)"]) }
        } catch {
            logger.warning("pruning old request records failed", metadata: ["error": "\(error)"])
        }
    }

    func hexBytes(_ text: String) throws -> [UInt8] {
        guard let bytes = [UInt8](hex: text) else { throw CardServiceError(.store, "a stored hex field does not decode") }
        return bytes
    }
}

/// Merchants recently confirmed by the node.
actor MerchantCache {
    private var until: [PublicKey: UInt64] = [:]

    func isKnown(_ key: PublicKey, now: UInt64) -> Bool { (until[key] ?? 0) > now }

    func remember(_ key: PublicKey, until expiry: UInt64) {
        if until.count > 10_000 { until = until.filter { $0.value > expiry - 60_000 } }
        until[key] = expiry
    }
}

/// Runs CPU-heavy work (scrypt) on Dispatch's global queue, not on Swift concurrency's
/// cooperative pool: a burst of PIN checks must not hold every pool thread (one per core)
/// while HTTP handlers, settling and the node client wait behind them.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws(CardServiceError) -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            do throws(CardServiceError) {
                continuation.resume(returning: try work())
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
