import Foundation

/// Values and strings of the TOML reader (`TOMLParser`), split from its document and key
/// grammar to keep each file to one part of the grammar.
extension TOMLParser {
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
                try appendStringByte(byte, to: &content)
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
        _ = skipNewline()
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
                try appendStringByte(byte, to: &content)
            }
        }
    }

    /// An ordinary byte of a basic or multi-line string: appended, unless it is a control
    /// character TOML forbids there.
    mutating func appendStringByte(_ byte: UInt8, to content: inout [UInt8]) throws(TOMLError) {
        guard !Byte.isForbiddenControl(byte) else { throw error("control character in a string") }
        content.append(byte)
        advance()
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
