public import Foundation

/// Why a TOML document was refused: the line (counted from 1) and what was wrong there.
public struct TOMLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The line where the problem is, counted from 1.
    public let line: Int
    public let message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// A reader for the subset of TOML 1.0 that a node configuration needs.
///
/// Supported: comments, bare, quoted and dotted keys, tables (`[a.b]`), arrays of tables
/// (`[[a.b]]`), basic, literal and multi-line strings, integers (decimal, `0x`, `0o`, `0b`,
/// with `_` separators), booleans, arrays (nested, over several lines, trailing comma) and
/// inline tables. Floats and dates are refused: configuration never needs them, and refusing
/// them keeps floating point out of the node's inputs.
///
/// The tree it returns holds only `String`, `Int`, `Bool`, `[Any]` and `[String: Any]`, so
/// `JSONSerialization` can write it and a `Codable` configuration can be decoded from that:
///
/// ```swift
/// let data = try TOMLDocument.jsonData(fromTOML: "[api]\nport = 8080\n")
/// // {"api":{"port":8080}}
/// ```
public enum TOMLDocument {
    /// The largest document accepted. Configuration files are a few kilobytes.
    public static let documentBytesMax = 1 << 20
    /// How deep tables, arrays and inline tables may nest, counting every key of a path.
    /// Keeps the parser's recursion (and the serialiser's) far from the stack's limit.
    public static let nestingDepthMax = 64

    /// Parses a TOML document into a tree of `String`, `Int`, `Bool`, `[Any]` and
    /// `[String: Any]`.
    /// - Parameters:
    ///   - text: the document.
    /// - Throws: `TOMLError` with the line of the first problem.
    public static func parse(_ text: String) throws(TOMLError) -> [String: Any] {
        var parser = TOMLParser(bytes: Array(text.utf8))
        let root = try parser.parseDocument()
        return root.foundationObject()
    }

    /// Parses a TOML document and writes it as JSON with sorted keys, ready for `JSONDecoder`.
    /// - Parameters:
    ///   - text: the document.
    /// - Throws: `TOMLError` with the line of the first problem.
    public static func jsonData(fromTOML text: String) throws(TOMLError) -> Data {
        let tree = try parse(text)
        do {
            return try JSONSerialization.data(withJSONObject: tree, options: [.sortedKeys])
        } catch {
            // Unreachable: the tree holds only types JSONSerialization writes.
            throw TOMLError(line: 1, message: "the document could not be written as JSON: \(error)")
        }
    }
}

// MARK: - The tree being built

/// A table while the document is read. A class, because headers and dotted keys reach into
/// tables already placed in their parents and add to them.
final class TOMLTable {
    /// How a table came to exist; it decides what may add to it later (TOML 1.0 §Table).
    enum Origin {
        case root
        /// Created as the parent of a header (`a` in `[a.b]`); a later `[a]` may define it.
        case implicitByHeader
        /// Defined by `[a]` or as one element of `[[a]]`.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`); only dotted keys may add to it.
        case dottedKey
        /// An inline table `{ … }`: closed once written.
        case inline
    }

    var origin: Origin
    var entries: [String: TOMLNode] = [:]

    init(origin: Origin) {
        self.origin = origin
    }

    /// Adds an empty table named `name` (which must be free) and returns it.
    func addTable(_ name: String, origin: Origin) -> TOMLTable {
        let created = TOMLTable(origin: origin)
        entries[name] = .table(created)
        return created
    }

    func foundationObject() -> [String: Any] {
        var object: [String: Any] = [:]
        for (key, node) in entries {
            switch node {
            case .value(let value): object[key] = value.foundationObject()
            case .table(let table): object[key] = table.foundationObject()
            case .arrayOfTables(let array): object[key] = array.tables.map { $0.foundationObject() }
            }
        }
        return object
    }
}

/// The tables of one `[[a]]` array; a class so appending does not copy the array.
final class TOMLTableArray {
    var tables: [TOMLTable]

    init(first: TOMLTable) {
        tables = [first]
    }
}

enum TOMLNode {
    case value(TOMLValue)
    case table(TOMLTable)
    case arrayOfTables(TOMLTableArray)
}

indirect enum TOMLValue {
    case string(String)
    case integer(Int64)
    case boolean(Bool)
    case array([TOMLValue])
    case inlineTable(TOMLTable)

    func foundationObject() -> Any {
        switch self {
        case .string(let string): return string
        case .integer(let integer): return Int(integer)
        case .boolean(let boolean): return boolean
        case .array(let values): return values.map { $0.foundationObject() }
        case .inlineTable(let table): return table.foundationObject()
        }
    }
}

// MARK: - The parser

/// ASCII bytes the grammar names.
enum Byte {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let apostrophe: UInt8 = 0x27
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let equals: UInt8 = 0x3D
    static let upperA: UInt8 = 0x41
    static let upperE: UInt8 = 0x45
    static let upperF: UInt8 = 0x46
    static let upperZ: UInt8 = 0x5A
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let lowerA: UInt8 = 0x61
    static let lowerB: UInt8 = 0x62
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerN: UInt8 = 0x6E
    static let lowerO: UInt8 = 0x6F
    static let lowerR: UInt8 = 0x72
    static let lowerT: UInt8 = 0x74
    static let lowerU: UInt8 = 0x75
    static let lowerX: UInt8 = 0x78
    static let lowerZ: UInt8 = 0x7A
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let delete: UInt8 = 0x7F
    static let upperU: UInt8 = 0x55

    static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }
    static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= upperA && byte <= upperZ) || (byte >= lowerA && byte <= lowerZ)
    }
    static func isBareKey(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == underscore || byte == minus
    }
    /// Control characters TOML forbids in strings and comments (tab is allowed).
    static func isForbiddenControl(_ byte: UInt8) -> Bool {
        (byte < space && byte != tab) || byte == delete
    }
    /// Bytes that may appear in a number, boolean or date written without quotes.
    static func isBareValue(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == underscore || byte == plus || byte == minus
            || byte == dot || byte == colon
    }
    static func hexValue(_ byte: UInt8) -> UInt32? {
        if isDigit(byte) { return UInt32(byte - zero) }
        if byte >= lowerA && byte <= lowerF { return UInt32(byte - lowerA + 10) }
        if byte >= upperA && byte <= upperF { return UInt32(byte - upperA + 10) }
        return nil
    }
}
