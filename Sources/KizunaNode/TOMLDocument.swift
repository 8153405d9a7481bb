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
private final class TOMLTable {
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
private final class TOMLTableArray {
    var tables: [TOMLTable]

    init(first: TOMLTable) {
        tables = [first]
    }
}

private enum TOMLNode {
    case value(TOMLValue)
    case table(TOMLTable)
    case arrayOfTables(TOMLTableArray)
}

private indirect enum TOMLValue {
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
private enum Byte {
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

/// A recursive-descent reader over the document's UTF-8 bytes. Every loop consumes at least
/// one byte per turn or throws, and recursion is bounded by `nestingDepthMax`, so any input
/// ends in a tree or an error.
private struct TOMLParser {
    let bytes: [UInt8]
    var position = 0
    var line = 1

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Reading bytes

    func peek(_ offset: Int = 0) -> UInt8? {
        let index = position + offset
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where position < bytes.count {
            if bytes[position] == Byte.newline { line += 1 }
            position += 1
        }
    }

    func error(_ message: String, line errorLine: Int? = nil) -> TOMLError {
        TOMLError(line: errorLine ?? line, message: message)
    }

    mutating func skipSpaces() {
        while let byte = peek(), byte == Byte.space || byte == Byte.tab { advance() }
    }

    /// Consumes `\n` or `\r\n`.
    mutating func consumeNewline() throws(TOMLError) {
        if peek() == Byte.newline {
            advance()
        } else if peek() == Byte.carriageReturn && peek(1) == Byte.newline {
            advance(2)
        } else {
            throw error("a carriage return must be followed by a line feed")
        }
    }

    /// Consumes a comment up to (not including) the end of its line.
    mutating func skipComment() throws(TOMLError) {
        advance()  // #
        while let byte = peek(), byte != Byte.newline {
            if byte == Byte.carriageReturn && peek(1) == Byte.newline { return }
            if Byte.isForbiddenControl(byte) { throw error("control character in a comment") }
            advance()
        }
    }

    /// After a key/value pair or a header: spaces, an optional comment, then the line's end.
    mutating func expectEndOfLine(after what: String) throws(TOMLError) {
        skipSpaces()
        if peek() == Byte.hash { try skipComment() }
        guard let byte = peek() else { return }
        if byte == Byte.newline || byte == Byte.carriageReturn {
            try consumeNewline()
        } else {
            throw error("unexpected text after \(what): '\(Self.excerpt(bytes[position...]))'")
        }
    }

    /// Spaces, newlines and comments, as allowed between the elements of an array.
    mutating func skipBlankSpace() throws(TOMLError) {
        while let byte = peek() {
            switch byte {
            case Byte.space, Byte.tab: advance()
            case Byte.newline, Byte.carriageReturn: try consumeNewline()
            case Byte.hash: try skipComment()
            default: return
            }
        }
    }

    static func excerpt(_ slice: ArraySlice<UInt8>) -> String {
        var end = slice.startIndex
        while end < slice.endIndex && end - slice.startIndex < 40
            && slice[end] != Byte.newline && slice[end] != Byte.carriageReturn
        {
            end += 1
        }
        return String(decoding: slice[slice.startIndex..<end], as: UTF8.self)
    }

    static func display(_ path: [String]) -> String {
        path.map { component in
            if !component.isEmpty && component.utf8.allSatisfy(Byte.isBareKey) { return component }
            return "\"" + component.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ".")
    }

    // MARK: Document

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        guard bytes.count <= TOMLDocument.documentBytesMax else {
            throw error("the document is larger than \(TOMLDocument.documentBytesMax) bytes", line: 1)
        }
        // A byte order mark some editors write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        let root = TOMLTable(origin: .root)
        var current = root
        var currentPath: [String] = []
        while true {
            skipSpaces()
            guard let byte = peek() else { break }
            switch byte {
            case Byte.newline, Byte.carriageReturn:
                try consumeNewline()
            case Byte.hash:
                try skipComment()
            case Byte.openBracket:
                let headerLine = line
                let isArray = peek(1) == Byte.openBracket
                advance(isArray ? 2 : 1)
                skipSpaces()
                let path = try parseKey(depth: 0)
                skipSpaces()
                if isArray {
                    guard peek() == Byte.closeBracket && peek(1) == Byte.closeBracket else {
                        throw error("expected ']]' to close the header [[\(Self.display(path))]]")
                    }
                    advance(2)
                } else {
                    guard peek() == Byte.closeBracket else {
                        throw error("expected ']' to close the header [\(Self.display(path))]")
                    }
                    advance()
                }
                current = try defineTable(path, in: root, isArray: isArray, line: headerLine)
                currentPath = path
                try expectEndOfLine(after: "a table header")
            default:
                try parseKeyValue(into: current, at: currentPath)
                try expectEndOfLine(after: "a value")
            }
        }
        return root
    }

    /// The table a `[path]` or `[[path]]` header names, created as TOML 1.0 allows.
    func defineTable(_ path: [String], in root: TOMLTable, isArray: Bool, line headerLine: Int) throws(TOMLError) -> TOMLTable {
        var table = root
        for (index, name) in path.dropLast().enumerated() {
            switch table.entries[name] {
            case nil:
                let created = TOMLTable(origin: .implicitByHeader)
                table.entries[name] = .table(created)
                table = created
            case .table(let existing):
                table = existing
            case .arrayOfTables(let array):
                guard let last = array.tables.last else {
                    throw error("internal: empty array of tables", line: headerLine)
                }
                table = last
            case .value:
                let prefix = Self.display(Array(path[...index]))
                throw error("'\(prefix)' is a value, so it cannot also be a table", line: headerLine)
            }
        }
        guard let name = path.last else { throw error("expected a key", line: headerLine) }
        let shown = Self.display(path)
        if isArray {
            switch table.entries[name] {
            case nil:
                let created = TOMLTable(origin: .header)
                table.entries[name] = .arrayOfTables(TOMLTableArray(first: created))
                return created
            case .arrayOfTables(let array):
                let created = TOMLTable(origin: .header)
                array.tables.append(created)
                return created
            case .table:
                throw error("[[\(shown)]] names a table already defined, not an array of tables", line: headerLine)
            case .value:
                throw error("'\(shown)' is a value, so it cannot also be an array of tables", line: headerLine)
            }
        }
        switch table.entries[name] {
        case nil:
            let created = TOMLTable(origin: .header)
            table.entries[name] = .table(created)
            return created
        case .table(let existing):
            switch existing.origin {
            case .implicitByHeader:
                existing.origin = .header
                return existing
            case .dottedKey:
                throw error("table [\(shown)] is already defined by dotted keys", line: headerLine)
            case .header, .root, .inline:
                throw error("table [\(shown)] is defined more than once", line: headerLine)
            }
        case .arrayOfTables:
            throw error("[\(shown)] is an array of tables, it cannot be redefined as a table", line: headerLine)
        case .value:
            throw error("'\(shown)' is a value, so it cannot also be a table", line: headerLine)
        }
    }

    // MARK: Keys

    /// A dotted key: simple keys separated by dots, with optional spaces around the dots.
    mutating func parseKey(depth: Int) throws(TOMLError) -> [String] {
        var path: [String] = []
        while true {
            skipSpaces()
            path.append(try parseSimpleKey())
            if depth + path.count > TOMLDocument.nestingDepthMax {
                throw error("keys and tables nest deeper than \(TOMLDocument.nestingDepthMax) levels")
            }
            skipSpaces()
            guard peek() == Byte.dot else { return path }
            advance()
        }
    }

    mutating func parseSimpleKey() throws(TOMLError) -> String {
        switch peek() {
        case Byte.quote:
            return try parseBasicString()
        case Byte.apostrophe:
            return try parseLiteralString()
        default:
            let start = position
            while let byte = peek(), Byte.isBareKey(byte) { advance() }
            guard position > start else {
                if let byte = peek(), byte != Byte.newline, byte != Byte.carriageReturn {
                    throw error("expected a key, found '\(Self.excerpt(bytes[position...]))'")
                }
                throw error("expected a key")
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
    }

    /// `key = value`, placed in `table` (whose path is `tablePath`, for messages).
    mutating func parseKeyValue(into table: TOMLTable, at tablePath: [String], depth: Int? = nil) throws(TOMLError) {
        let keyLine = line
        let baseDepth = depth ?? tablePath.count
        let key = try parseKey(depth: baseDepth)
        skipSpaces()
        guard peek() == Byte.equals else {
            throw error("expected '=' after the key '\(Self.display(key))'")
        }
        advance()
        skipSpaces()
        let value = try parseValue(depth: baseDepth + key.count)
        // Walk or create the tables of a dotted key, then place the value.
        var target = table
        for (index, name) in key.dropLast().enumerated() {
            func shown() -> String { Self.display(tablePath + key[...index]) }
            switch target.entries[name] {
            case nil:
                let created = TOMLTable(origin: .dottedKey)
                target.entries[name] = .table(created)
                target = created
            case .table(let existing):
                guard existing.origin == .dottedKey else {
                    throw error("table '\(shown())' is already defined, so dotted keys cannot add to it", line: keyLine)
                }
                target = existing
            case .arrayOfTables:
                throw error("'\(shown())' is an array of tables, so dotted keys cannot add to it", line: keyLine)
            case .value:
                throw error("'\(shown())' is a value, so it cannot also be a table", line: keyLine)
            }
        }
        guard let name = key.last else { throw error("expected a key", line: keyLine) }
        guard target.entries[name] == nil else {
            throw error("duplicate key '\(Self.display(tablePath + key))'", line: keyLine)
        }
        target.entries[name] = .value(value)
    }

    // MARK: Values

    mutating func parseValue(depth: Int) throws(TOMLError) -> TOMLValue {
        guard depth <= TOMLDocument.nestingDepthMax else {
            throw error("values nest deeper than \(TOMLDocument.nestingDepthMax) levels")
        }
        switch peek() {
        case Byte.quote:
            if peek(1) == Byte.quote && peek(2) == Byte.quote { return .string(try parseMultiLineString(literal: false)) }
            return .string(try parseBasicString())
        case Byte.apostrophe:
            if peek(1) == Byte.apostrophe && peek(2) == Byte.apostrophe { return .string(try parseMultiLineString(literal: true)) }
            return .string(try parseLiteralString())
        case Byte.openBracket:
            return try parseArray(depth: depth + 1)
        case Byte.openBrace:
            return try parseInlineTable(depth: depth + 1)
        default:
            return try parseBareValue()
        }
    }

    mutating func parseArray(depth: Int) throws(TOMLError) -> TOMLValue {
        let startLine = line
        advance()  // [
        var values: [TOMLValue] = []
        while true {
            try skipBlankSpace()
            guard let byte = peek() else { throw error("unterminated array (no closing ']')", line: startLine) }
            if byte == Byte.closeBracket {
                advance()
                return .array(values)
            }
            values.append(try parseValue(depth: depth))
            try skipBlankSpace()
            switch peek() {
            case nil:
                throw error("unterminated array (no closing ']')", line: startLine)
            case Byte.comma:
                advance()
            case Byte.closeBracket:
                advance()
                return .array(values)
            default:
                throw error("expected ',' or ']' in an array, found '\(Self.excerpt(bytes[position...]))'")
            }
        }
    }

    /// `{ a = 1, b.c = "x" }`: on one line, no trailing comma (TOML 1.0).
    mutating func parseInlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        let startLine = line
        advance()  // {
        let table = TOMLTable(origin: .inline)
        skipSpaces()
        if peek() == Byte.closeBrace {
            advance()
            return .inlineTable(table)
        }
        while true {
            skipSpaces()
            switch peek() {
            case nil:
                throw error("unterminated inline table (no closing '}')", line: startLine)
            case Byte.newline, Byte.carriageReturn:
                throw error("an inline table must be written on one line")
            case Byte.closeBrace:
                throw error("a trailing comma is not allowed in an inline table")
            default:
                break
            }
            try parseKeyValue(into: table, at: [], depth: depth)
            skipSpaces()
            switch peek() {
            case nil:
                throw error("unterminated inline table (no closing '}')", line: startLine)
            case Byte.comma:
                advance()
            case Byte.closeBrace:
                advance()
                return .inlineTable(table)
            case Byte.newline, Byte.carriageReturn:
                throw error("an inline table must be written on one line")
            default:
                throw error("expected ',' or '}' in an inline table, found '\(Self.excerpt(bytes[position...]))'")
            }
        }
    }

    /// Integers and booleans; floats and dates are recognised only to be refused clearly.
    mutating func parseBareValue() throws(TOMLError) -> TOMLValue {
        let start = position
        while let byte = peek(), Byte.isBareValue(byte) { advance() }
        let token = Array(bytes[start..<position])
        guard !token.isEmpty else {
            if let byte = peek(), byte != Byte.newline, byte != Byte.carriageReturn, byte != Byte.hash {
                throw error("expected a value, found '\(Self.excerpt(bytes[position...]))'")
            }
            throw error("expected a value")
        }
        let text = String(decoding: token, as: UTF8.self)
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }

        let unsigned = token.first == Byte.plus || token.first == Byte.minus ? Array(token.dropFirst()) : token
        let unsignedText = String(decoding: unsigned, as: UTF8.self)
        if unsignedText == "inf" || unsignedText == "nan" { throw floatError() }
        let startsWithDigit = unsigned.first.map(Byte.isDigit) ?? false
        if startsWithDigit {
            let isDate = token.count >= 5 && token[0..<4].allSatisfy(Byte.isDigit) && token[4] == Byte.minus
            if isDate || token.contains(Byte.colon) {
                throw error("dates and times are not supported in Kizuna configuration (write a string or an integer)")
            }
        }
        if unsigned.count >= 2 && unsigned[0] == Byte.zero, let radix = Self.radix(prefix: unsigned[1]) {
            guard unsigned.count == token.count else {
                throw error("a hexadecimal, octal or binary integer cannot have a sign: '\(text)'")
            }
            return .integer(try parseDigits(Array(unsigned.dropFirst(2)), radix: radix, negative: false, text: text))
        }
        if startsWithDigit && (unsigned.contains(Byte.dot) || unsigned.contains(Byte.lowerE) || unsigned.contains(Byte.upperE)) {
            throw floatError()
        }
        guard startsWithDigit else { throw error("invalid value '\(Self.excerpt(token[...]))'") }
        if unsigned.count > 1 && unsigned[0] == Byte.zero {
            throw error("leading zeros are not allowed in an integer: '\(text)'")
        }
        return .integer(try parseDigits(unsigned, radix: 10, negative: token.first == Byte.minus, text: text))
    }

    /// The base a `0x`, `0o` or `0b` prefix names.
    static func radix(prefix: UInt8) -> UInt64? {
        switch prefix {
        case Byte.lowerX: 16
        case Byte.lowerO: 8
        case Byte.lowerB: 2
        default: nil
        }
    }

    func floatError() -> TOMLError {
        error("floating-point numbers are not supported in Kizuna configuration (write an integer, e.g. in the smallest unit)")
    }

    /// Digits in `radix` with single underscores between digits, into an `Int64`.
    func parseDigits(_ digits: [UInt8], radix: UInt64, negative: Bool, text: String) throws(TOMLError) -> Int64 {
        let invalid = error("invalid integer '\(text)'")
        guard let first = digits.first, first != Byte.underscore, digits.last != Byte.underscore else { throw invalid }
        // The magnitude may reach 2^63 for a negative number.
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        var previousWasUnderscore = false
        for byte in digits {
            if byte == Byte.underscore {
                guard !previousWasUnderscore else { throw invalid }
                previousWasUnderscore = true
                continue
            }
            previousWasUnderscore = false
            guard let digit = Byte.hexValue(byte), UInt64(digit) < radix else { throw invalid }
            let (shifted, overflowMultiply) = magnitude.multipliedReportingOverflow(by: radix)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflowMultiply, !overflowAdd, sum <= limit else {
                throw error("integer out of range (a signed 64-bit integer): '\(text)'")
            }
            magnitude = sum
        }
        if negative {
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(magnitude)
    }

    // MARK: Strings

    /// `"…"` with escapes, on one line.
    mutating func parseBasicString() throws(TOMLError) -> String {
        let startLine = line
        advance()  // "
        var content: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated string", line: startLine) }
            switch byte {
            case Byte.quote:
                advance()
                return String(decoding: content, as: UTF8.self)
            case Byte.newline, Byte.carriageReturn:
                throw error("unterminated string (a \"…\" string ends on its line; use \"\"\" for several lines)", line: startLine)
            case Byte.backslash:
                try parseEscape(into: &content, stringLine: startLine)
            default:
                guard !Byte.isForbiddenControl(byte) else { throw error("control character in a string") }
                content.append(byte)
                advance()
            }
        }
    }

    /// `'…'`: no escapes, on one line.
    mutating func parseLiteralString() throws(TOMLError) -> String {
        let startLine = line
        advance()  // '
        let start = position
        while true {
            guard let byte = peek() else { throw error("unterminated string", line: startLine) }
            switch byte {
            case Byte.apostrophe:
                let content = bytes[start..<position]
                advance()
                return String(decoding: content, as: UTF8.self)
            case Byte.newline, Byte.carriageReturn:
                throw error("unterminated string (a '…' string ends on its line; use ''' for several lines)", line: startLine)
            default:
                guard !Byte.isForbiddenControl(byte) else { throw error("control character in a string") }
                advance()
            }
        }
    }

    /// `"""…"""` (with escapes and line-ending backslashes) or `'''…'''` (literal).
    mutating func parseMultiLineString(literal: Bool) throws(TOMLError) -> String {
        let startLine = line
        let delimiter = literal ? Byte.apostrophe : Byte.quote
        advance(3)
        // A newline right after the opening delimiter is not part of the string.
        if peek() == Byte.newline {
            advance()
        } else if peek() == Byte.carriageReturn && peek(1) == Byte.newline {
            advance(2)
        }
        var content: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string", line: startLine) }
            switch byte {
            case delimiter where peek(1) == delimiter && peek(2) == delimiter:
                // Up to two delimiter characters may sit just before the closing three.
                var run = 3
                while run < 5 && peek(run) == delimiter { run += 1 }
                content.append(contentsOf: repeatElement(delimiter, count: run - 3))
                advance(run)
                return String(decoding: content, as: UTF8.self)
            case Byte.backslash where !literal:
                if try skipLineEndingBackslash() { continue }
                try parseEscape(into: &content, stringLine: startLine)
            case Byte.newline:
                content.append(Byte.newline)
                advance()
            case Byte.carriageReturn:
                try consumeNewline()
                content.append(Byte.newline)
            default:
                guard !Byte.isForbiddenControl(byte) else { throw error("control character in a string") }
                content.append(byte)
                advance()
            }
        }
    }

    /// A `\` that ends its line trims itself and all whitespace and newlines after it.
    /// Returns false (consuming nothing) if the backslash starts an ordinary escape.
    mutating func skipLineEndingBackslash() throws(TOMLError) -> Bool {
        var offset = 1
        while let byte = peek(offset), byte == Byte.space || byte == Byte.tab { offset += 1 }
        let next = peek(offset)
        let endsLine = next == Byte.newline || (next == Byte.carriageReturn && peek(offset + 1) == Byte.newline)
        guard endsLine else { return false }
        advance(offset)
        while let byte = peek() {
            switch byte {
            case Byte.space, Byte.tab: advance()
            case Byte.newline, Byte.carriageReturn: try consumeNewline()
            default: return true
            }
        }
        return true
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`.
    mutating func parseEscape(into content: inout [UInt8], stringLine: Int) throws(TOMLError) {
        advance()  // backslash
        guard let byte = peek() else { throw error("unterminated string", line: stringLine) }
        let simple: UInt8? = switch byte {
        case Byte.lowerB: 0x08
        case Byte.lowerT: Byte.tab
        case Byte.lowerN: Byte.newline
        case Byte.lowerF: 0x0C
        case Byte.lowerR: Byte.carriageReturn
        case Byte.quote: Byte.quote
        case Byte.backslash: Byte.backslash
        default: nil
        }
        if let simple {
            content.append(simple)
            advance()
            return
        }
        let digitCount: Int
        switch byte {
        case Byte.lowerU: digitCount = 4
        case Byte.upperU: digitCount = 8
        default:
            if byte < 0x80 && !Byte.isForbiddenControl(byte) {
                throw error("invalid escape '\\\(String(UnicodeScalar(byte)))' in a string")
            }
            throw error("invalid escape: a backslash followed by the byte \(String(format: "0x%02X", byte)) in a string")
        }
        advance()
        var value: UInt32 = 0
        for offset in 0..<digitCount {
            guard let digitByte = peek(offset), let digit = Byte.hexValue(digitByte) else {
                throw error("invalid escape: \\\(digitCount == 4 ? "u" : "U") needs \(digitCount) hexadecimal digits")
            }
            value = value << 4 | digit
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("invalid escape: U+\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value")
        }
        advance(digitCount)
        content.append(contentsOf: String(Character(scalar)).utf8)
    }
}
