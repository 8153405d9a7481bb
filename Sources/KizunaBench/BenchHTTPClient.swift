public import NIOCore
import NIOPosix
import Foundation

/// The event loop the benchmark's HTTP client runs on (one thread: the client shares the
/// machine with the nodes it measures). Here, beside the rest of the SwiftNIO code, so the
/// node layer needs no NIOPosix import (which, in a release build, hides Glibc's `timespec`
/// members from `Node.swift` behind CNIOLinux).
public func makeBenchClientEventLoopGroup() -> any EventLoopGroup {
    MultiThreadedEventLoopGroup(numberOfThreads: 1)
}

/// A minimal HTTP/1.1 client for the network benchmark: one keep-alive TCP connection per
/// instance, one request at a time, requests sent as prepared bytes and answers parsed by
/// hand (status, `Content-Length` or chunked body, the few headers the benchmark reads).
///
/// Why not URLSession (what `NodeClient` uses): on Linux it goes through libcurl with a
/// thread hop per request, and the benchmark needs thousands of submissions per second from
/// a process that shares two cores with four nodes. All connections share one SwiftNIO event
/// loop; the benchmark reports its own CPU time so the client's cost is visible.
public final class BenchHTTPConnection: Sendable {
    public struct Response: Sendable {
        public var status: Int
        /// `Retry-After`, when the answer carried one.
        public var retryAfterSeconds: Int?
        public var body: ByteBuffer
        /// The `Set-Cookie` values and the `Server-Timing` value, for the console benchmark.
        public var setCookies: [String] = []
        public var serverTiming: String?
        public var hasRetryAfter: Bool { retryAfterSeconds != nil }
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the connection closed before the answer was complete" }
    }

    struct MalformedResponse: Error, CustomStringConvertible {
        let reason: String
        var description: String { "malformed HTTP response: \(reason)" }
    }

    /// Handed down the pipeline: the request bytes and where its answer goes.
    /// A request on its way down the pipeline. The response handler marks it `taken` and from
    /// then on answers its promise; a request the handler never sees — written after the
    /// connection closed and its handlers were removed — is failed by `request` itself, or its
    /// caller would wait for ever (the request timeout only closes the channel). `taken` is
    /// read and written on the channel's event loop only, hence `@unchecked Sendable`.
    final class Outbound: @unchecked Sendable {
        let bytes: ByteBuffer
        let promise: EventLoopPromise<Response>
        var taken = false

        init(bytes: ByteBuffer, promise: EventLoopPromise<Response>) {
            self.bytes = bytes
            self.promise = promise
        }
    }

    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    public static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> BenchHTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
        return BenchHTTPConnection(channel: channel)
    }

    public var isActive: Bool { channel.isActive }

    /// Sends prepared request bytes and waits for the whole answer; after `timeoutSeconds`
    /// without one the connection is closed (and the request fails).
    public func request(_ bytes: ByteBuffer, timeoutSeconds: Int64 = 30) async throws -> Response {
        let channel = self.channel
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(timeoutSeconds)) { channel.close(promise: nil) }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        let outbound = Outbound(bytes: bytes, promise: promise)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            if !outbound.taken { promise.fail(error) }
        }
        channel.writeAndFlush(outbound, promise: written)
        return try await promise.futureResult.get()
    }

    public func close() {
        channel.close(promise: nil)
    }

    /// `GET path` as request bytes, with an optional bearer token.
    public static func getRequest(_ path: String, bearer: String? = nil) -> ByteBuffer {
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let bearer { text += "Authorization: Bearer \(bearer)\r\n" }
        text += "\r\n"
        return ByteBuffer(string: text)
    }

    /// `POST /v1/transactions` with canonical transaction bytes, as request bytes.
    public static func submitRequest(_ body: [UInt8]) -> ByteBuffer {
        let head = "POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\n\r\n"
        var buffer = ByteBufferAllocator().buffer(capacity: head.utf8.count + body.count)
        buffer.writeString(head)
        buffer.writeBytes(body)
        return buffer
    }

    /// Parses answers off the byte stream in order and completes the waiting promises.
    private final class ResponseHandler: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = Outbound
        typealias OutboundOut = ByteBuffer

        private var waiting = CircularBuffer<EventLoopPromise<Response>>()
        private var received: ByteBuffer?

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let outbound = unwrapOutboundIn(data)
            outbound.taken = true
            // Closed already, its `channelInactive` perhaps delivered: nothing will fail a
            // promise queued now.
            guard context.channel.isActive else {
                outbound.promise.fail(ConnectionClosed())
                promise?.fail(ConnectionClosed())
                return
            }
            waiting.append(outbound.promise)
            context.write(wrapOutboundOut(outbound.bytes), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            if received == nil {
                received = incoming
            } else {
                received!.writeBuffer(&incoming)
            }
            do {
                while var buffer = received, let response = try HTTPResponseParser.parse(&buffer) {
                    received = buffer.readableBytes > 0 ? buffer : nil
                    if let promise = waiting.popFirst() { promise.succeed(response) }
                }
            } catch {
                failAll(error)
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            failAll(ConnectionClosed())
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            failAll(error)
            context.close(promise: nil)
        }

        private func failAll(_ error: any Error) {
            while let promise = waiting.popFirst() { promise.fail(error) }
        }
    }
}

/// The parts of an HTTP/1.1 answer the benchmark needs.
enum HTTPResponseParser {
    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked: Bool
        var retryAfterSeconds: Int?
        /// Bytes of the status line and headers, including the blank line.
        var length: Int
        var setCookies: [String] = []
        var serverTiming: String?
    }

    static let headerBytesMax = 64 * 1024

    /// Parses the status line and headers at the reader index, or nil if they are incomplete.
    static func parseHead(_ buffer: ByteBuffer) throws -> Head? {
        let view = buffer.readableBytesView
        guard let end = findHeaderEnd(view) else {
            if view.count > headerBytesMax { throw BenchHTTPConnection.MalformedResponse(reason: "headers longer than \(headerBytesMax) bytes") }
            return nil
        }
        let text = String(decoding: view[view.startIndex..<(view.startIndex + end)], as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw BenchHTTPConnection.MalformedResponse(reason: "empty head") }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw BenchHTTPConnection.MalformedResponse(reason: "status line '\(statusLine)'")
        }
        var head = Head(status: status, contentLength: nil, chunked: false, retryAfterSeconds: nil, length: end + 4)
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-length": head.contentLength = Int(value)
            case "transfer-encoding": head.chunked = value.lowercased().contains("chunked")
            case "retry-after": head.retryAfterSeconds = Int(value) ?? 1
            case "set-cookie": head.setCookies.append(value)
            case "server-timing": head.serverTiming = value
            default: break
            }
        }
        return head
    }

    /// Parses one complete answer off the front of `buffer` (moving its reader index), or
    /// returns nil and leaves it untouched if the answer is not complete yet.
    static func parse(_ buffer: inout ByteBuffer) throws -> BenchHTTPConnection.Response? {
        guard let head = try parseHead(buffer) else { return nil }
        var cursor = buffer
        cursor.moveReaderIndex(forwardBy: head.length)
        if head.chunked {
            var body = ByteBufferAllocator().buffer(capacity: 256)
            while true {
                guard let size = try readChunkSize(&cursor) else { return nil }
                if size == 0 {
                    // The last chunk: skip the (empty) trailer's CRLF.
                    guard cursor.readableBytes >= 2 else { return nil }
                    cursor.moveReaderIndex(forwardBy: 2)
                    break
                }
                guard cursor.readableBytes >= size + 2 else { return nil }
                var chunk = cursor.readSlice(length: size)!
                body.writeBuffer(&chunk)
                cursor.moveReaderIndex(forwardBy: 2)
            }
            buffer = cursor
            return .init(status: head.status, retryAfterSeconds: head.retryAfterSeconds, body: body, setCookies: head.setCookies, serverTiming: head.serverTiming)
        }
        let length = head.contentLength ?? 0
        guard cursor.readableBytes >= length else { return nil }
        let body = cursor.readSlice(length: length)!
        buffer = cursor
        return .init(status: head.status, retryAfterSeconds: head.retryAfterSeconds, body: body, setCookies: head.setCookies, serverTiming: head.serverTiming)
    }

    /// Reads a chunk-size line ("1a2b\r\n"); nil if the line is not complete.
    static func readChunkSize(_ buffer: inout ByteBuffer) throws -> Int? {
        let view = buffer.readableBytesView
        guard let newline = findCRLF(view) else {
            if view.count > 64 { throw BenchHTTPConnection.MalformedResponse(reason: "chunk size line too long") }
            return nil
        }
        let line = String(decoding: view[view.startIndex..<(view.startIndex + newline)], as: UTF8.self)
        let digits = line.split(separator: ";").first.map(String.init) ?? line
        guard let size = Int(digits.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
            throw BenchHTTPConnection.MalformedResponse(reason: "chunk size '\(line)'")
        }
        buffer.moveReaderIndex(forwardBy: newline + 2)
        return size
    }

    static func findHeaderEnd(_ view: ByteBufferView) -> Int? {
        guard view.count >= 4 else { return nil }
        var index = view.startIndex
        let last = view.endIndex - 3
        while index < last {
            if view[index] == 13 && view[index + 1] == 10 && view[index + 2] == 13 && view[index + 3] == 10 {
                return index - view.startIndex
            }
            index += 1
        }
        return nil
    }

    static func findCRLF(_ view: ByteBufferView) -> Int? {
        guard view.count >= 2 else { return nil }
        var index = view.startIndex
        while index < view.endIndex - 1 {
            if view[index] == 13 && view[index + 1] == 10 { return index - view.startIndex }
            index += 1
        }
        return nil
    }
}

/// Follows a node's `GET /v1/events` stream (server-sent events of committed blocks) over a
/// raw connection and hands each event's `data` line to `onEvent`, in order, on the event
/// loop. Ends when the connection closes; `finished` completes then.
public final class BenchEventStream: Sendable {
    let channel: any Channel
    public let finished: EventLoopFuture<Void>

    private init(channel: any Channel, finished: EventLoopFuture<Void>) {
        self.channel = channel
        self.finished = finished
    }

    public static func open(host: String, port: Int, fromHeight: UInt64, group: any EventLoopGroup, onEvent: @escaping @Sendable (String) -> Void) async throws -> BenchEventStream {
        let finished = group.next().makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StreamHandler(onEvent: onEvent, finished: finished))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            finished.fail(error)
            throw error
        }
        // The handler completes `finished` when the channel closes, whatever happens here.
        try await channel.writeAndFlush(ByteBuffer(string: "GET /v1/events?from=\(fromHeight) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"))
        return BenchEventStream(channel: channel, finished: finished.futureResult)
    }

    public func close() { channel.close(promise: nil) }

    private final class StreamHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let onEvent: @Sendable (String) -> Void
        let finished: EventLoopPromise<Void>
        var received = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        var headParsed = false
        var chunked = true
        /// Body bytes not yet split into lines.
        var body = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        var data = ""

        init(onEvent: @escaping @Sendable (String) -> Void, finished: EventLoopPromise<Void>) {
            self.onEvent = onEvent
            self.finished = finished
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            received.writeBuffer(&incoming)
            do {
                if !headParsed {
                    guard let head = try HTTPResponseParser.parseHead(received) else { return }
                    guard head.status == 200 else {
                        throw BenchHTTPConnection.MalformedResponse(reason: "the event stream answered \(head.status)")
                    }
                    received.moveReaderIndex(forwardBy: head.length)
                    headParsed = true
                    chunked = head.chunked
                }
                if chunked {
                    while true {
                        var cursor = received
                        guard let size = try HTTPResponseParser.readChunkSize(&cursor) else { break }
                        if size == 0 {
                            context.close(promise: nil)
                            return
                        }
                        guard cursor.readableBytes >= size + 2 else { break }
                        var chunk = cursor.readSlice(length: size)!
                        body.writeBuffer(&chunk)
                        cursor.moveReaderIndex(forwardBy: 2)
                        received = cursor
                    }
                } else {
                    body.writeBuffer(&received)
                }
                received.discardReadBytes()
                splitLines()
            } catch {
                context.close(promise: nil)
            }
        }

        /// Server-sent events: `field: value` lines, an empty line ends an event.
        func splitLines() {
            while let newline = body.readableBytesView.firstIndex(of: 10) {
                let length = newline - body.readableBytesView.startIndex
                let line = body.readString(length: length) ?? ""
                body.moveReaderIndex(forwardBy: 1)
                if line.isEmpty {
                    if !data.isEmpty { onEvent(data) }
                    data = ""
                } else if line.hasPrefix("data: ") {
                    data += line.dropFirst(6)
                }
            }
            body.discardReadBytes()
        }

        func channelInactive(context: ChannelHandlerContext) {
            finished.succeed(())
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
