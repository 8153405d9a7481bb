import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger

/// Invoices, role counts and the settlement file (issue 21, docs/api.md §5 "Invoices",
/// "Accounts by role", "Settlement file").
///
/// An invoice is readable by its two parties only, each with a request signed by its own
/// key: not anonymously (401), not with member or auditor credentials (403) — the chain's
/// operators read blocks, not businesses' open bills — and, to anyone else who signs, an
/// invoice is answered as unknown (404), so a stranger learns nothing, not even that it exists.
extension APIServer {
    static func addBusinessRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        let configuration = node.configuration
        router.get("/v1/invoices/:id") { request, context in
            let caller = try partyCaller(request, shared)
            guard let text = context.parameters.get("id"), let id = Hash(hex: text) else {
                throw APIProblem(400, "api.bad_invoice_id", "an invoice id is the 64-hex-digit id of its issue_invoice transaction")
            }
            let tip = try node.tip()
            let reports = LedgerReports(store: try node.chain(at: nil).store, genesis: node.genesis)
            guard let state = try reports.invoiceState(id), state.issuer == caller || state.payer == caller,
                  let invoice = try reports.invoice(id, at: tip.timestamp) else {
                throw APIProblem(404, "api.unknown_invoice", "no invoice \(text) addressed to or issued by \(caller.address)")
            }
            return try json(ReportView(height: tip.height, name: "invoice", report: invoice))
        }
        router.get("/v1/accounts/:address/invoices") { request, context in
            let key = try addressParameter(context, "address")
            let caller = try partyCaller(request, shared)
            guard caller == key else { throw APIProblem(403, "auth.forbidden", "an account's invoices are readable only with a request signed by its own key") }
            let limit = try pageLimit(request.uri.queryParameters.get("limit"), maximum: configuration.api.pageSizeMax)
            let tip = try node.tip()
            let reports = LedgerReports(store: try node.chain(at: nil).store, genesis: node.genesis)
            return try json(ReportView(height: tip.height, name: "invoices", report: try reports.invoices(of: key, at: tip.timestamp, limit: limit)))
        }
        router.get("/v1/reports/accounts") { request, _ in
            try ledgerReport(request, shared, "counts") { reports, chain in try reports.roleCounts(at: try chain.tip().timestamp) }
        }
        router.get("/v1/reports/settlement-file") { request, _ in
            let query = request.uri.queryParameters
            guard let funderText = query.get("funder"), let dateText = query.get("date") else {
                throw APIProblem(400, "api.bad_query", "funder=<address> and date=YYYY-MM-DD are required")
            }
            let funder: PublicKey
            do { funder = try Address(parsing: funderText).publicKey } catch { throw APIProblem(400, "api.bad_address", "\(error)") }
            try requireReader(of: funder, request, shared)
            let date = try parseDate(dateText)
            let cutoff = SettlementCutoff(text: configuration.api.settlementCutoff) ?? .standard
            return try atHeight(request, shared) { _, chain in
                let timestamp = try chain.tip().timestamp
                let file = try LedgerReports(store: chain.store, genesis: node.genesis).settlementFile(funder: funder, year: date.year, month: date.month, day: date.day, cutoff: cutoff, asOf: timestamp)
                return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"settlement-\(file.day).csv\""],
                                body: .init(byteBuffer: ByteBuffer(string: file.csv)))
            }
        }
    }

    /// The key that signed the request; 401 anonymous, 403 for member or auditor credentials.
    static func partyCaller(_ request: Request, _ shared: Shared) throws(APIProblem) -> PublicKey {
        switch try caller(request, shared) {
        case .account(let key): return key
        case .anonymous: throw APIProblem(401, "auth.required", "invoices are readable only by their issuer and payer, with a request signed by their key (Kizuna-Address, Kizuna-Timestamp, Kizuna-Signature)")
        case .member, .auditor: throw APIProblem(403, "auth.forbidden", "invoices are readable only by their issuer and payer, not with member or auditor credentials")
        }
    }
}
