import Hummingbird
import KizunaCore
import KizunaNode
import KizunaChain
import NIOCore
import HTTPTypes
import ServiceLifecycle
import Synchronization
import Foundation

/// Counts open event streams against `api.eventSubscribersMax`.
final class EventSubscribers: Sendable {
    let limit: Int
    private let open = Mutex(0)

    init(limit: Int) { self.limit = limit }

    func admit() -> Bool {
        open.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { open.withLock { $0 -= 1 } }

    var count: Int { open.withLock { $0 } }
}

/// `GET /v1/events`: a server-sent-events stream of committed blocks, or, with
/// `?account=kz1…` (signed by that account, or member/auditor credentials), of the committed
/// transactions that name that account — what a POS terminal waits on.
///
/// Each subscriber follows the store at its own pace (it polls the tip, then reads the new
/// blocks), so a slow client only falls behind; nothing is queued for it. An event's `id` is
/// its block height: reconnect with `Last-Event-ID` (or `?from=`) to resume after it.
extension APIServer {
    /// The longest a stream stays open before the node ends it (clients reconnect).
    static let eventStreamSecondsMax: UInt64 = 3600
    /// A comment line is sent after this much silence, so proxies keep the stream open.
    static let eventKeepAliveMilliseconds: UInt64 = 15_000

    static func addEventRoutes(to router: Router<APIRequestContext>, _ shared: Shared) {
        let node = shared.node
        router.get("/v1/events") { request, _ in
            let query = request.uri.queryParameters
            var account: PublicKey?
            if let text = query.get("account") {
                do {
                    account = try Address(parsing: String(text)).publicKey
                } catch {
                    throw APIProblem(400, "api.bad_address", "\(error)")
                }
                try requireReader(of: account!, request, shared)
            }
            var limit: Int?
            if let text = query.get("limit") {
                guard let value = Int(text), value >= 1 else { throw APIProblem(400, "api.bad_limit", "limit must be a positive integer") }
                limit = value
            }
            let tip = try node.tip().height
            var start = tip + 1
            var fromText: String? = query.get("from")
            if fromText == nil, let last = request.headers[HTTPField.Name("Last-Event-ID")!] {
                fromText = UInt64(last).map { String($0 + 1) } ?? last
            }
            if let text = fromText {
                guard let value = UInt64(text), value >= 1 else { throw APIProblem(400, "api.bad_height", "from (or Last-Event-ID + 1) must be a block height ≥ 1") }
                // Catching up scans blocks: at most historyBlocksScannedMax of them back.
                let floor = tip > UInt64(node.configuration.api.historyBlocksScannedMax) ? tip - UInt64(node.configuration.api.historyBlocksScannedMax) + 1 : 1
                start = max(value, floor)
            }
            guard shared.events.admit() else {
                throw APIProblem(503, "api.too_many_subscribers", "the node serves at most \(shared.events.limit) event streams at once", retryAfterSeconds: 5)
            }
            let pollMilliseconds = max(20, min(node.configuration.blockIntervalMilliseconds, 1000))
            let (watched, eventsMax, first) = (account, limit, start)
            let body = ResponseBody { writer in
                defer { shared.events.leave() }
                var next = first
                var sent = 0
                var silentMilliseconds: UInt64 = 0
                let deadline = DispatchTime.now().uptimeNanoseconds + eventStreamSecondsMax * 1_000_000_000
                try await writer.write(ByteBuffer(string: ": kizuna events from height \(first)\n\n"))
                streaming: while !Task.isCancelled && !Task.isShuttingDownGracefully && DispatchTime.now().uptimeNanoseconds < deadline {
                    let tip = try node.tip().height
                    while next <= tip {
                        guard let block = try node.block(at: next) else { break }
                        var text = ""
                        if let account = watched {
                            for (index, transaction) in block.transactions.enumerated() where transaction.names(account) {
                                let event = ReceiptEventView(id: transaction.id.hex, height: block.height, index: UInt32(index), blockHash: block.hash.hex, timestamp: block.header.timestamp, transaction: TransactionView(transaction))
                                text += try serverSentEvent(id: block.height, event: "receipt", event)
                                sent += 1
                                if let limit = eventsMax, sent >= limit { break }
                            }
                        } else {
                            let event = BlockEventView(height: block.height, hash: block.hash.hex, timestamp: block.header.timestamp, time: CivilTime.formatJapan(milliseconds: block.header.timestamp), stateRoot: block.header.stateRoot.hex, transactionIds: block.transactions.map(\.id.hex))
                            text += try serverSentEvent(id: block.height, event: "block", event)
                            sent += 1
                        }
                        next += 1
                        if !text.isEmpty {
                            try await writer.write(ByteBuffer(string: text))
                            silentMilliseconds = 0
                        }
                        if let limit = eventsMax, sent >= limit { break streaming }
                    }
                    try await Task.sleep(nanoseconds: pollMilliseconds * 1_000_000)
                    silentMilliseconds += pollMilliseconds
                    if silentMilliseconds >= eventKeepAliveMilliseconds {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        silentMilliseconds = 0
                    }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
        }
    }

    static func serverSentEvent(id: UInt64, event: String, _ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = String(decoding: try encoder.encode(value), as: UTF8.self)
        return "id: \(id)\nevent: \(event)\ndata: \(data)\n\n"
    }
}
