import Foundation

/// A recursive-descent reader over the document's UTF-8 bytes. Every loop consumes at least
/// one byte per turn or throws, and recursion is bounded by `nestingDepthMax`, so any input
/// ends in a tree or an error.
struct TOMLParser {
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
        guard skipNewline() else { throw error("a carriage return must be followed by a line feed") }
    }

    /// Consumes `\n` or `\r\n` if one comes next; false, consuming nothing, otherwise.
    mutating func skipNewline() -> Bool {
        if peek() == Byte.newline {
            advance()
        } else if peek() == Byte.carriageReturn && peek(1) == Byte.newline {
            advance(2)
        } else {
            return false
        }
        return true
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
                table = table.addTable(name, origin: .implicitByHeader)
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
                target = target.addTable(name, origin: .dottedKey)
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
}
