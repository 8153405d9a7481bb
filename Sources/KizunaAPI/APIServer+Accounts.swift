import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger

/// `GET /v1/accounts/{address}` and its history: readable only by the account's own key
/// (a signed request) or by members and auditors.
extension APIServer {
    static func addAccountRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        let configuration = node.configuration
        router.get("/v1/accounts/:address") { request, context in
            let key = try addressParameter(context, "address")
            // Access is checked before existence, so a stranger cannot probe who is registered.
            try requireReader(of: key, request, shared)
            guard let account = try node.account(key) else {
                throw APIProblem(404, "api.unknown_account", "account \(key.address) is not registered")
            }
            var view = try accountView(key, account, node: node)
            view.pendingNonce = await node.pendingNonce(of: key, committed: account.nonce)
            return try json(view)
        }
        router.get("/v1/accounts/:address/transactions") { request, context in
            let key = try addressParameter(context, "address")
            try requireReader(of: key, request, shared)
            let query = request.uri.queryParameters
            let limit = try pageLimit(query.get("limit"), maximum: configuration.api.pageSizeMax)
            // `height:index` (the nextBefore of the previous page), or a plain block height.
            var before: ChainPosition?
            if let text = query.get("before") {
                // The document's pattern: up to 19 digits of height (always within 64 bits) and
                // 9 of index (a block holds at most 2,000), so what it allows always parses.
                let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let digitsOnly = parts.allSatisfy { part in !part.isEmpty && part.allSatisfy { $0 >= "0" && $0 <= "9" } }
                guard digitsOnly, parts[0].count <= 19, parts.count == 1 || parts[1].count <= 9, let value = ChainPosition(cursor: text) else {
                    throw APIProblem(400, "api.bad_query", "before must be the nextBefore of the previous page (height:index) or a block height")
                }
                before = value
            }
            guard try node.account(key) != nil else {
                throw APIProblem(404, "api.unknown_account", "account \(key.address) is not registered")
            }
            let page = try node.history(of: key, before: before, limit: limit)
            let items = page.entries.map {
                HistoryItemView(id: $0.transaction.id.hex, height: $0.height, index: $0.index, timestamp: $0.timestamp, time: CivilTime.formatJapan(milliseconds: $0.timestamp), transaction: TransactionView($0.transaction))
            }
            return try json(HistoryView(address: key.address.description, transactions: items, nextBefore: page.next?.description))
        }
    }

    static func accountView(_ key: PublicKey, _ account: AccountState, node: Node) throws -> AccountView {
        var balances: [BalanceView] = []
        for asset in Asset.allCases {
            var balance = BalanceView(asset: asset.name, amount: account.balance(asset))
            switch asset {
            case .coin:
                let rule = node.genesis.coin.expiry
                if account.role.holdsResidentValue || account.role == .visitor, account.coin > 0, rule.kind == .endOfMonthAfterLastChange {
                    let expiry = LedgerCalendar.expiry(rule, from: account.coinChangedAt)
                    balance.expiresAt = expiry
                    balance.expiresAtText = CivilTime.formatJapan(milliseconds: expiry)
                }
            case .point, .thanks:
                if account.role != .merchant {
                    balance.lots = try node.lots(key, asset).lots.map(LotView.init)
                }
            }
            balances.append(balance)
        }
        return AccountView(
            address: key.address.description, role: account.role.name, merchantCategory: account.merchantCategory,
            nonce: account.nonce, pendingNonce: nil, frozen: account.frozen, registeredAt: account.registeredAt,
            successor: account.successor?.address.description, balances: balances
        )
    }

    /// `limit` of a paginated answer: 1…`maximum`, default 20 (or `maximum` if smaller).
    static func pageLimit(_ text: String?, maximum: Int) throws(APIProblem) -> Int {
        guard let text else { return min(20, maximum) }
        guard let value = Int(text), value >= 1 else { throw APIProblem(400, "api.bad_limit", "limit must be a positive integer") }
        guard value <= maximum else { throw APIProblem(400, "api.bad_limit", "limit \(value) exceeds the page size maximum \(maximum)") }
        return value
    }
}
