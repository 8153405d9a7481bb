/// A stable code for one kind of failure. Its raw value (`tx.bad_nonce`, `chain.broken_link`)
/// is what users, logs and the API see; the codes are documented in `docs/ledger-rules.md`
/// and `docs/api.md`, so a raw value never changes once released.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable where RawValue == String {}

/// Where in its input an error was found, when it has a place: shown between the code and
/// the message (`decode.truncated at byte 12: …`).
public enum ErrorLocation: Sendable, Hashable, CustomStringConvertible {
    /// A byte offset in decoded input.
    case byte(Int)
    /// A named place, such as the hex storage key of a state tree node.
    case named(String)

    public var description: String {
        switch self {
        case .byte(let offset): "byte \(offset)"
        case .named(let name): name
        }
    }
}

/// The one error type of every layer: a stable code, a message for people, where it was
/// found (when it has a place) and the error that caused it (when there is one).
///
/// Each layer declares its codes next to its code and names its error with a typealias, so
/// typed throws keep saying which layer failed:
///
/// ```swift
/// public enum ChainErrorCode: String, ErrorCode { case brokenLink = "chain.broken_link" }
/// public typealias ChainError = CodedError<ChainErrorCode>
/// throw ChainError(.brokenLink, "block 7 does not follow block 6")
/// ```
///
/// Two errors are equal when their codes are: callers and tests decide on the code, while
/// the message names the particulars (which key, which height) for people.
public struct CodedError<Codes: ErrorCode>: Error, Equatable, CustomStringConvertible {
    public typealias Code = Codes

    public let code: Code
    public let message: String
    public let location: ErrorLocation?
    /// The lower-level error this one explains, kept for logs and debugging; it is not part
    /// of the description, which stays exactly "code: message".
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, at location: ErrorLocation? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    public var description: String {
        if let location { "\(code.rawValue) at \(location): \(message)" } else { "\(code.rawValue): \(message)" }
    }

    public static func == (lhs: CodedError, rhs: CodedError) -> Bool { lhs.code == rhs.code }
}
