import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger

/// Premium sales, collections by public bodies and clubs, and a resident's standing orders
/// (issue 18, docs/api.md §5 "Premium sales, collections and standing orders"). Premiums and
/// collections are open data (they name programs and organisations, never a resident); a
/// resident's standing orders are read like its balance (its own key, members, auditors).
extension APIServer {
    static func addTownRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        router.get("/v1/reports/premiums") { request, _ in
            try ledgerReport(request, shared, "premiums") { reports, _ in try reports.premiums() }
        }
        router.get("/v1/reports/collections") { request, _ in
            var month: UInt32?
            if let text = request.uri.queryParameters.get("month") {
                let parts = text.split(separator: "-", omittingEmptySubsequences: false)
                // Digits only: `UInt32("+123")` would take a sign the document's pattern refuses.
                guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, text.allSatisfy({ $0 == "-" || $0.isASCII && $0.isNumber }),
                      let year = UInt32(parts[0]), let number = UInt32(parts[1]), (1...12).contains(number) else {
                    throw APIProblem(400, "api.bad_date", "month must be YYYY-MM, e.g. 2026-07")
                }
                month = year * 100 + number
            }
            return try ledgerReport(request, shared, "collections") { reports, _ in try reports.collections(month: month) }
        }
        router.get("/v1/accounts/:address/standing-orders") { request, context in
            let key = try addressParameter(context, "address")
            try requireReader(of: key, request, shared)
            return try ledgerReport(request, shared, "standingOrders") { reports, _ in try reports.standingOrders(payer: key) }
        }
    }
}
