import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import KizunaLedger

/// Supply, programs and the reports of design §2.5, each at the tip or at `?height=`.
/// Open data (no resident is revealed), except a merchant's settlement statement, which only
/// the merchant, members and auditors read.
extension APIServer {
    static func addReportRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.get("/v1/supply") { request, _ in
            try ledgerReport(request, shared, "assets") { reports, _ in try reports.supply() }
        }
        router.get("/v1/programs") { request, _ in
            try ledgerReport(request, shared, "programs") { reports, _ in try reports.programs() }
        }
        router.get("/v1/programs/:id") { request, context in
            guard let text = context.parameters.get("id"), let id = UInt64(text) else {
                throw APIProblem(400, "api.bad_program_id", "a program id is a non-negative integer")
            }
            return try atHeight(request, shared) { height, chain in
                guard let program = try LedgerReports(store: chain.store, genesis: node.genesis).program(id) else {
                    throw APIProblem(404, "api.unknown_program", "there is no program \(id) at height \(height)")
                }
                return try json(ReportView(height: height, name: "program", report: program))
            }
        }
        router.get("/v1/reports/unused-balance") { request, _ in
            guard let text = request.uri.queryParameters.get("date") else {
                throw APIProblem(400, "api.bad_date", "date=YYYY-MM-DD is required (a base date: 31 March or 30 September)")
            }
            let date = try parseDate(text)
            return try atHeight(request, shared) { height, chain in
                guard let report = try LedgerReports(store: chain.store, genesis: node.genesis).unusedBalance(year: date.year, month: date.month, day: date.day) else {
                    throw APIProblem(400, "api.bad_date", "\(text) is not a base date; base dates are 31 March and 30 September")
                }
                return try json(ReportView(height: height, name: "report", report: report))
            }
        }
        router.get("/v1/reports/settlements/:merchant") { request, context in
            let merchant = try addressParameter(context, "merchant")
            try requireReader(of: merchant, request, shared)
            return try atHeight(request, shared) { height, chain in
                guard let statement = try LedgerReports(store: chain.store, genesis: node.genesis).settlements(merchant: merchant) else {
                    throw APIProblem(404, "api.unknown_merchant", "\(merchant.address) is not a registered merchant at height \(height)")
                }
                return try json(ReportView(height: height, name: "statement", report: statement))
            }
        }
        router.get("/v1/reports/aggregates") { request, _ in
            let query = request.uri.queryParameters
            guard let fromText = query.get("from"), let toText = query.get("to") else {
                throw APIProblem(400, "api.bad_date", "from=YYYY-MM-DD and to=YYYY-MM-DD are required")
            }
            let from = try parseDate(fromText)
            let to = try parseDate(toText)
            let fromDay = UInt32(from.year * 10_000 + from.month * 100 + from.day)
            let toDay = UInt32(to.year * 10_000 + to.month * 100 + to.day)
            guard fromDay <= toDay else { throw APIProblem(400, "api.bad_date", "from must not be after to") }
            let span = CivilTime.daysFromCivil(year: to.year, month: to.month, day: to.day) - CivilTime.daysFromCivil(year: from.year, month: from.month, day: from.day) + 1
            guard span <= Int64(ChainReports.aggregateDaysMax) else {
                throw APIProblem(400, "api.bad_date", "from…to covers \(span) days; ask for at most \(ChainReports.aggregateDaysMax) at once")
            }
            let height = try requestedHeight(request, tip: try node.tip().height)
            // Only closed days are published, and a closed day's cells are the same at every
            // height, so no replay: the tip's blocks up to `height` are scanned (gated).
            return try shared.historicalQueries.run {
                try json(ReportView(height: height, name: "aggregates", report: try ChainReports.paymentAggregates(blocks: try node.chain(at: nil), height: height, fromDay: fromDay, toDay: toDay)))
            }
        }
    }

    /// Runs `work` on the chain at `?height=` (the tip when absent). A height below the tip
    /// replays the chain into memory (cost proportional to the height) and is limited to
    /// `api.historicalQueriesMax` at once; past it, 503 with Retry-After.
    /// One report of `LedgerReports` at the tip or at `?height=` (`atHeight`), answered as
    /// `{"height": h, "<name>": report}`; `report` also gets the chain at that height.
    static func ledgerReport(_ request: Request, _ shared: Shared, _ name: String, _ report: (LedgerReports, BlockStore) throws -> some Encodable & Sendable) throws -> Response {
        try atHeight(request, shared) { height, chain in
            try json(ReportView(height: height, name: name, report: try report(LedgerReports(store: chain.store, genesis: shared.node.genesis), chain)))
        }
    }

    static func atHeight(_ request: Request, _ shared: Shared, alwaysGated: Bool = false, _ work: (UInt64, BlockStore) throws -> Response) throws -> Response {
        let tip = try shared.node.tip().height
        let height = try requestedHeight(request, tip: tip)
        if height == tip && !alwaysGated {
            return try work(height, try shared.node.chain(at: nil))
        }
        return try shared.historicalQueries.run {
            try work(height, try shared.node.chain(at: height == tip ? nil : height))
        }
    }

    /// `?height=`, at most `tip`; `tip` when absent.
    static func requestedHeight(_ request: Request, tip: UInt64) throws(APIProblem) -> UInt64 {
        guard let text = request.uri.queryParameters.get("height") else { return tip }
        guard let height = UInt64(text) else { throw APIProblem(400, "api.bad_height", "the height must be a non-negative integer") }
        guard height <= tip else { throw APIProblem(404, "api.no_such_block", "height \(height) is above the tip \(tip)") }
        return height
    }

    /// Parses `YYYY-MM-DD`.
    static func parseDate(_ text: String) throws(APIProblem) -> (year: Int64, month: Int64, day: Int64) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // Digits only: Int64("+1") parses, and "2026-+1-01" is not a date's spelling.
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
              let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
              (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else {
            throw APIProblem(400, "api.bad_date", "'\(text)' is not a date in the form YYYY-MM-DD")
        }
        return (year, month, day)
    }
}
