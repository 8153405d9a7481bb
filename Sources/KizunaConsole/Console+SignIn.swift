import Logging
import Hummingbird
import KizunaCore
import KizunaNode
import HTTPTypes
import Foundation

/// Sign-in and sign-out. The token is the member's or auditor's API bearer token, checked
/// against the SHA-256 digests of the node's `[access]` credentials. Forgery defences:
/// every cookie is `HttpOnly` and `SameSite=Strict` (and `Secure` with `console.secureCookie`);
/// a form post must carry an anti-forgery token — for sign-in, the one in the sign-in page's
/// own cookie (double submit), afterwards the session's — and must not come from another
/// origin (`Origin`, `Sec-Fetch-Site`).
extension Console {
    func signInPage(_ context: PageRequest) throws -> PageResult {
        let existing = context.request.cookies[Self.signInCookie]?.value
        let csrf = existing.flatMap { $0.count == 64 ? $0 : nil } ?? ConsoleSessions.randomToken()
        return PageResult(
            title: context.text["signInTitle"]!, template: "signin",
            data: ["csrf": csrf, "next": Self.safeNext(context.query("next"))],
            cookies: [Cookie(name: Self.signInCookie, value: csrf, path: "/console", secure: settings.secureCookie, httpOnly: true, sameSite: .strict)]
        )
    }

    /// POST /console/signin: csrf, token, next.
    func signIn(_ request: Request) async -> Response {
        let context = PageRequest(request: request, section: .signIn, language: language(of: request))
        do {
            let form = try await self.form(request)
            guard let expected = request.cookies[Self.signInCookie]?.value, let given = form["csrf"], ConsoleSessions.same(expected, given) else {
                throw ConsoleError(.badCSRF, context.language == .ja ? "フォームの確認用トークンが一致しません。サインイン画面を開き直してください。" : "the form's anti-forgery token does not match; open the sign-in page again")
            }
            guard let credential = node.configuration.access.credential(forToken: form["token"] ?? "") else {
                throw ConsoleError(.badToken, context.language == .ja ? "このトークンはこのノードのメンバー・監査人の資格情報ではありません。" : "this token is not one of this node's member or auditor credentials")
            }
            let user = ConsoleUser(name: credential.name, role: credential.role)
            let session = sessions.create(user, now: clock())
            logger.notice("console sign-in", metadata: ["name": "\(user.name)", "role": "\(user.role.rawValue)"])
            return seeOther(Self.safeNext(form["next"]), cookies: [
                Cookie(name: Self.sessionCookie, value: session.id, path: "/console", secure: settings.secureCookie, httpOnly: true, sameSite: .strict),
                expired(Self.signInCookie),
            ])
        } catch {
            return errorPage(error as? ConsoleError ?? ConsoleError(.badForm, "\(error)"), context)
        }
    }

    /// POST /console/signout: csrf (the session's).
    func signOut(_ request: Request) async -> Response {
        let context = PageRequest(request: request, section: .network, language: language(of: request))
        do {
            let form = try await self.form(request)
            guard let id = request.cookies[Self.sessionCookie]?.value, let session = sessions.session(id, now: clock()) else {
                return seeOther("/console/network", cookies: [expired(Self.sessionCookie)])
            }
            guard let given = form["csrf"], ConsoleSessions.same(session.csrf, given) else {
                throw ConsoleError(.badCSRF, context.language == .ja ? "フォームの確認用トークンが一致しません。" : "the form's anti-forgery token does not match this session")
            }
            sessions.remove(id)
            return seeOther("/console/network", cookies: [expired(Self.sessionCookie)])
        } catch {
            return errorPage(error as? ConsoleError ?? ConsoleError(.badForm, "\(error)"), context)
        }
    }

    func language(of request: Request) -> ConsoleLanguage {
        request.cookies[Self.languageCookie].flatMap { ConsoleLanguage(rawValue: $0.value) } ?? .ja
    }

    /// Reads an `application/x-www-form-urlencoded` body from this origin.
    func form(_ request: Request) async throws(ConsoleError) -> [String: String] {
        if let site = HTTPField.Name("Sec-Fetch-Site").flatMap({ request.headers[$0] }), site == "cross-site" || site == "same-site" {
            throw ConsoleError(.foreignOrigin, "a form posted from another site (Sec-Fetch-Site: \(site)) is refused")
        }
        if let origin = request.headers[HTTPField.Name("Origin")!] {
            let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? ""
            let scheme = settings.secureCookie ? "https" : "http"
            guard origin == "\(scheme)://\(host)" || (!settings.secureCookie && origin == "https://\(host)") else {
                throw ConsoleError(.foreignOrigin, "a form posted from \(origin) is refused; post it from this console (\(scheme)://\(host))")
            }
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw ConsoleError(.badForm, "send the form as application/x-www-form-urlencoded")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.formBytesMax)
        } catch {
            throw ConsoleError(.badForm, "the form exceeds \(Self.formBytesMax) bytes")
        }
        return try Self.parseForm(String(buffer: body))
    }

    static func parseForm(_ text: String) throws(ConsoleError) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                  let value = String(parts.count > 1 ? parts[1] : "").replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                throw ConsoleError(.badForm, "the form is not valid percent-encoding")
            }
            fields[name] = value
        }
        return fields
    }

    /// Where to go after sign-in: a console path only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.contains("\r"), !next.contains("\n"), next.count <= 512 else { return "/console/explorer" }
        return next
    }

    /// Percent-encodes a query or form value.
    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
