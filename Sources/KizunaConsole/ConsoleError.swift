import KizunaCore

/// The console's refusals (docs/console.md, "Errors"). Each is shown as an HTML page with
/// its code and a message a person can act on.
public enum ConsoleErrorCode: String, ErrorCode {
    /// A member or auditor page without a sign-in.
    case signInRequired = "console.sign_in_required"
    /// The session cookie names no live session (expired, signed out, or the node restarted).
    case badSession = "console.bad_session"
    /// The token given at sign-in is not one of this node's member or auditor credentials.
    case badToken = "console.bad_token"
    /// A form post without the page's anti-forgery token, or with a stale one.
    case badCSRF = "console.bad_csrf"
    /// A form post from another site (its Origin is not this console's).
    case foreignOrigin = "console.foreign_origin"
    /// A form that cannot be read (wrong media type, too large, malformed).
    case badForm = "console.bad_form"
    /// A date that is not a base date (31 March or 30 September) in the form YYYY-MM-DD.
    case badDate = "console.bad_date"
    /// A height, hash or address that is not well formed.
    case badQuery = "console.bad_query"
    /// Nothing on the chain matches (a block above the tip, an unknown hash or account).
    case notFound = "console.not_found"
    /// A template or stylesheet is missing from the console's resource bundle (a binary
    /// installed without `Kizuna_KizunaConsole.resources` beside it).
    case missingResource = "console.missing_resource"
    /// An unexpected failure while reading the chain; the node's log has the details.
    case internalError = "console.internal"
}

public typealias ConsoleError = CodedError<ConsoleErrorCode>

extension ConsoleErrorCode {
    /// The HTTP status the console answers the refusal with.
    var status: Int {
        switch self {
        case .signInRequired, .badSession, .badToken: 401
        case .badCSRF, .foreignOrigin: 403
        case .badForm, .badDate, .badQuery: 400
        case .notFound: 404
        case .missingResource, .internalError: 500
        }
    }
}
