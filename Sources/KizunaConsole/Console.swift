public import Hummingbird
public import KizunaNode
import KizunaCore
import KizunaChain
import KizunaLedger
import Logging
import Mustache
import NIOCore
import HTTPTypes
import Foundation

/// The consortium console (issue 17, docs/console.md): server-rendered HTML pages at
/// `/console` on the node's API port — Network, Money, Programs and Statutory for anyone;
/// Settlements and Explorer for members and auditors, who sign in with the bearer token they
/// use with the API. Templates are Mustache files shipped as SwiftPM resources, charts are
/// SVG drawn here, and the pages carry no script: the Content-Security-Policy forbids any.
public final class Console: Sendable {
    let node: Node
    let settings: NodeConfiguration.Console
    let sessions: ConsoleSessions
    let index: ConsoleIndex
    let library: MustacheLibrary
    let clock: @Sendable () -> UInt64
    let logger: Logger
    let stylesheets: [String: ByteBuffer]

    static let sessionCookie = "kizuna_session"
    static let signInCookie = "kizuna_signin"
    static let languageCookie = "kizuna_lang"
    static let formBytesMax = 8 * 1024
    static let pollMilliseconds: UInt64 = 1000

    /// Loads the templates and stylesheets from the resource bundle.
    /// - Throws: `console.missing_resource` when the bundle lacks one.
    public init(node: Node, clock: @escaping @Sendable () -> UInt64 = wallClockMilliseconds, logger: Logger = Logger(label: "kizuna.console")) throws(ConsoleError) {
        self.node = node
        self.settings = node.configuration.console
        self.sessions = ConsoleSessions(lifetimeMinutes: settings.sessionMinutes, sessionsMax: settings.sessionsMax)
        self.index = ConsoleIndex(node: node)
        self.clock = clock
        self.logger = logger
        guard let templates = Bundle.module.url(forResource: "templates", withExtension: nil),
              let stylesheets = Bundle.module.url(forResource: "static", withExtension: nil) else {
            throw ConsoleError(.missingResource, "the console's templates are not in \(Bundle.module.bundlePath); install Kizuna_KizunaConsole.resources beside the binary")
        }
        var library = MustacheLibrary()
        for name in ["layout", "network", "money", "programs", "statutory", "settlements", "explorer", "block", "transaction", "account", "signin", "error"] {
            let file = templates.appendingPathComponent("\(name).mustache")
            do {
                try library.register(try String(contentsOf: file, encoding: .utf8), named: name)
            } catch {
                throw ConsoleError(.missingResource, "template \(file.path) cannot be read or parsed: \(error)", cause: error)
            }
        }
        self.library = library
        var sheets: [String: ByteBuffer] = [:]
        for name in ["console.css", "print.css"] {
            let file = stylesheets.appendingPathComponent(name)
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                throw ConsoleError(.missingResource, "stylesheet \(file.path) cannot be read")
            }
            sheets[name] = ByteBuffer(string: text)
        }
        self.stylesheets = sheets
    }

    /// Keeps the maintained summaries current: polls the tip every second until cancelled.
    public func run() async {
        // The same failure every second is logged once (a node started from a state snapshot
        // cannot total the days before it: `chain.before_snapshot`, docs/snapshots.md).
        var lastWarning = ""
        while !Task.isCancelled {
            do {
                try index.refresh()
                // Computed here once a day has closed, not by the first visitor of the day.
                _ = try index.recentAggregates()
                lastWarning = ""
            } catch {
                if "\(error)" != lastWarning {
                    lastWarning = "\(error)"
                    logger.warning("console summaries not refreshed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(nanoseconds: Self.pollMilliseconds * 1_000_000)
        }
    }

    // MARK: - Routes

    /// Adds the console's routes to a router (the API's: one port, one server).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/console") { request, _ in
            Response(status: .seeOther, headers: [.location: "/console/network" + (request.uri.query.map { "?" + $0 } ?? "")])
        }
        for name in stylesheets.keys.sorted() {
            let body = stylesheets[name]!
            router.get("/console/static/\(name)") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300", .xContentTypeOptions: "nosniff"], body: .init(byteBuffer: body))
            }
        }
        router.get("/console/network") { request, _ in await self.page(request, .network) { try await self.networkPage($0) } }
        router.get("/console/money") { request, _ in await self.page(request, .money) { try self.moneyPage($0) } }
        router.get("/console/programs") { request, _ in await self.page(request, .programs) { try self.programsPage($0) } }
        router.get("/console/statutory") { request, _ in await self.page(request, .statutory) { try self.statutoryPage($0) } }
        router.get("/console/settlements") { request, _ in await self.page(request, .settlements) { try self.settlementsPage($0) } }
        router.get("/console/explorer") { request, _ in await self.page(request, .explorer) { try self.explorerPage($0) } }
        router.get("/console/explorer/search") { request, _ in await self.page(request, .explorer) { try self.searchPage($0) } }
        router.get("/console/explorer/block/:height") { request, context in
            let height = context.parameters.get("height") ?? ""
            return await self.page(request, .explorer) { try self.blockPage($0, height: height) }
        }
        router.get("/console/explorer/transaction/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.page(request, .explorer) { try self.transactionPage($0, id: id) }
        }
        router.get("/console/explorer/account/:address") { request, context in
            let address = context.parameters.get("address") ?? ""
            return await self.page(request, .explorer) { try self.accountPage($0, address: address) }
        }
        router.get("/console/signin") { request, _ in await self.page(request, .signIn) { try self.signInPage($0) } }
        router.post("/console/signin") { request, _ in await self.signIn(request) }
        router.post("/console/signout") { request, _ in await self.signOut(request) }
    }

    // MARK: - Pages

    enum Section: String, CaseIterable {
        case network, money, programs, statutory, settlements, explorer, signIn

        /// Member and auditor pages.
        var isPrivate: Bool { self == .settlements || self == .explorer }
    }

    /// What a page builder knows about the request.
    struct PageRequest {
        var request: Request
        var section: Section
        var language: ConsoleLanguage
        var user: ConsoleUser?
        var csrf: String?
        var text: [String: String] { language.text }
        func query(_ name: String) -> String? { request.uri.queryParameters.get(name) }
    }

    /// What a page builder returns: the title, the template and its data, and cookies to set.
    struct PageResult {
        var title: String
        var template: String
        var data: [String: Any]
        var status: HTTPResponse.Status = .ok
        var cookies: [Cookie] = []
    }

    /// A page, with the time the server spent on it in a `Server-Timing` header (what
    /// `kizuna bench console` reports; browsers show it in their network panel).
    func page(_ request: Request, _ section: Section, _ build: (PageRequest) async throws -> PageResult) async -> Response {
        let started = ContinuousClock.now
        var response = await buildPage(request, section, build)
        let elapsed = (ContinuousClock.now - started).components
        let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
        response.headers[.serverTiming] = String(format: "page;dur=%.3f", milliseconds)
        return response
    }

    /// Resolves the language and the session, enforces sign-in on member pages, runs the
    /// builder and renders its result in the layout; any refusal becomes an error page.
    func buildPage(_ request: Request, _ section: Section, _ build: (PageRequest) async throws -> PageResult) async -> Response {
        var cookies: [Cookie] = []
        var language = ConsoleLanguage.ja
        if let asked = request.uri.queryParameters.get("lang").flatMap({ ConsoleLanguage(rawValue: String($0)) }) {
            language = asked
            cookies.append(Cookie(name: Self.languageCookie, value: asked.rawValue, maxAge: 31_536_000, path: "/console", secure: settings.secureCookie, httpOnly: true, sameSite: .strict))
        } else if let remembered = request.cookies[Self.languageCookie].flatMap({ ConsoleLanguage(rawValue: $0.value) }) {
            language = remembered
        }
        var context = PageRequest(request: request, section: section, language: language)
        do {
            if let id = request.cookies[Self.sessionCookie]?.value {
                if let session = sessions.session(id, now: clock()) {
                    context.user = session.user
                    context.csrf = session.csrf
                } else if section.isPrivate {
                    cookies.append(expired(Self.sessionCookie))
                    throw ConsoleError(.badSession, language == .ja ? "サインインの有効期限が切れたか、ノードが再起動しました。もう一度サインインしてください。" : "your sign-in has expired or the node restarted; sign in again")
                }
            }
            if section.isPrivate && context.user == nil {
                throw ConsoleError(.signInRequired, language == .ja ? "このページはメンバーと監査人のみが閲覧できます。APIのトークンでサインインしてください。" : "this page is for consortium members and auditors; sign in with your API token")
            }
            try? index.refresh()
            var result = try await build(context)
            result.cookies = cookies + result.cookies
            return render(result, context)
        } catch {
            let refusal = error as? ConsoleError ?? {
                logger.error("console page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return ConsoleError(.internalError, language == .ja ? "チェーンの読み取りに失敗しました(\(error))。ノードのログを確認してください。" : "reading the chain failed (\(error)); see the node's log", cause: error)
            }()
            return errorPage(refusal, context, cookies: cookies)
        }
    }

    func errorPage(_ error: ConsoleError, _ context: PageRequest, cookies: [Cookie] = []) -> Response {
        let next = context.request.method == .get ? context.request.uri.string : "/console/explorer"
        let signIn = error.code == .signInRequired || error.code == .badSession
        let result = PageResult(
            title: context.text["error"]!, template: "error",
            data: ["code": error.code.rawValue, "message": error.message, "signIn": signIn, "next": Self.formEncode(next)],
            status: HTTPResponse.Status(code: error.code.status), cookies: cookies
        )
        return render(result, context)
    }

    func render(_ result: PageResult, _ context: PageRequest) -> Response {
        let text = context.text
        let body = library.render(result.data.merging(["t": text]) { current, _ in current }, withTemplate: result.template) ?? ""
        var query = context.request.uri.queryParameters.filter { $0.key != "lang" }.map { "\(Self.formEncode(String($0.key)))=\(Self.formEncode(String($0.value)))" }
        query.append("lang=\(context.language.other.rawValue)")
        var layout: [String: Any] = [
            "t": text, "lang": context.language.rawValue, "otherLang": context.language.other.rawValue,
            "title": result.title, "content": body, "chainId": node.genesis.chainId,
            "height": (try? node.tip().height).map(String.init) ?? "—", "generated": Self.time(clock()),
            "languageHref": context.request.uri.path + "?" + query.joined(separator: "&"),
            "nav": Section.allCases.filter { $0 != .signIn }.map { section in
                ["href": "/console/\(section.rawValue)", "label": text[section.rawValue]!, "current": section == context.section, "locked": section.isPrivate] as [String: Any]
            },
        ]
        if let user = context.user, let csrf = context.csrf {
            layout["user"] = ["name": user.name, "roleLabel": text[user.role == .member ? "member" : "auditor"]!, "csrf": csrf]
        }
        let html = library.render(layout, withTemplate: "layout") ?? ""
        var response = Response(status: result.status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
        for cookie in result.cookies { response.setCookie(cookie) }
        return response
    }

    /// No script, no frame, nothing from elsewhere: the policy itself is the guarantee.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .contentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .cacheControl: "no-store",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    func expired(_ name: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/console", secure: settings.secureCookie, httpOnly: true, sameSite: .strict)
    }

    func seeOther(_ location: String, cookies: [Cookie]) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let serverTiming = HTTPField.Name("Server-Timing")!
}
