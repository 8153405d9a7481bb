import Foundation
import Testing
@testable import KizunaNode

/// The TOML subset reader for node configuration: each feature, each refusal with its line,
/// and a seeded mutation run that must only ever return or throw.
@Suite("TOML document")
struct TOMLDocumentTests {
    /// The document as JSON with sorted keys, for comparing whole trees.
    func json(_ text: String) throws -> String {
        String(decoding: try TOMLDocument.jsonData(fromTOML: text), as: UTF8.self)
    }

    func failure(_ text: String) -> TOMLError? {
        do throws(TOMLError) {
            _ = try TOMLDocument.parse(text)
            return nil
        } catch {
            return error
        }
    }

    /// The document is refused at `line` with a message containing `fragment`.
    func expectRefused(_ text: String, line: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = failure(text) else {
            Issue.record("accepted: \(text.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    }

    // MARK: Features

    @Test func emptyDocumentsAndComments() throws {
        #expect(try json("") == "{}")
        #expect(try json("# only a comment\n\n   \t\n# another") == "{}")
        #expect(try json("a = 1 # trailing comment\n# b = 2\n") == #"{"a":1}"#)
        #expect(try json("\u{FEFF}a = 1") == #"{"a":1}"#)
    }

    @Test func bareQuotedAndDottedKeys() throws {
        let text = """
            bare_key-1 = 1
            1234 = 2
            "quoted key" = 3
            'literal "key"' = 4
            "" = 5
            "escaped\\u0041" = 6
            site . "example.org" . port = 7
            """
        let tree = try TOMLDocument.parse(text)
        #expect(tree["bare_key-1"] as? Int == 1)
        #expect(tree["1234"] as? Int == 2)
        #expect(tree["quoted key"] as? Int == 3)
        #expect(tree["literal \"key\""] as? Int == 4)
        #expect(tree[""] as? Int == 5)
        #expect(tree["escapedA"] as? Int == 6)
        let site = try #require(tree["site"] as? [String: Any])
        let example = try #require(site["example.org"] as? [String: Any])
        #expect(example["port"] as? Int == 7)
    }

    @Test func dottedKeysShareTheirTables() throws {
        let text = """
            fruit.apple.color = "red"
            fruit.apple.taste.sweet = true
            fruit.orange = 2
            """
        #expect(try json(text) == #"{"fruit":{"apple":{"color":"red","taste":{"sweet":true}},"orange":2}}"#)
    }

    @Test func tablesAndSubTables() throws {
        let text = """
            name = "root"

            [api]
            host = "127.0.0.1"
            port = 8080

            [storage.rocksdb]
            cache = 64

            [storage]   # defines the table the header above created implicitly
            path = "data"

            [ "quoted header" . inner ]
            x = 1
            """
        #expect(try json(text) == #"{"api":{"host":"127.0.0.1","port":8080},"name":"root","quoted header":{"inner":{"x":1}},"storage":{"path":"data","rocksdb":{"cache":64}}}"#)
    }

    @Test func subTableUnderDottedKeys() throws {
        let text = """
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true
            """
        #expect(try json(text) == #"{"fruit":{"apple":{"color":"red","texture":{"smooth":true}}}}"#)
    }

    @Test func arraysOfTables() throws {
        let text = """
            [[access.credentials]]
            name = "chamber"
            role = "member"

            [access.credentials.limits]
            perMinute = 10

            [[access.credentials]]
            name = "bank"

            [[access.credentials]]
            """
        #expect(try json(text) == #"{"access":{"credentials":[{"limits":{"perMinute":10},"name":"chamber","role":"member"},{"name":"bank"},{}]}}"#)
    }

    @Test func basicStringsAndEscapes() throws {
        let text = #"""
            plain = "hello, world"
            escapes = "quote \" backslash \\ newline \n tab \t back \b feed \f return \r"
            short = "\u00E9\u3042"
            long = "\U0001F600"
            apostrophe = "it's"
            hash = "# not a comment"
            """#
        let tree = try TOMLDocument.parse(text)
        #expect(tree["plain"] as? String == "hello, world")
        #expect(tree["escapes"] as? String == "quote \" backslash \\ newline \n tab \t back \u{8} feed \u{C} return \r")
        #expect(tree["short"] as? String == "éあ")
        #expect(tree["long"] as? String == "😀")
        #expect(tree["apostrophe"] as? String == "it's")
        #expect(tree["hash"] as? String == "# not a comment")
    }

    @Test func literalStrings() throws {
        let tree = try TOMLDocument.parse(#"path = 'C:\Users\node\n "x"'"#)
        #expect(tree["path"] as? String == #"C:\Users\node\n "x""#)
    }

    @Test func multiLineStrings() throws {
        let text = "a = \"\"\"\nline one\nline \"two\"\n\"\"\"\n"
            + "b = \"\"\"one \\\n     two \\\n\n   three\"\"\"\n"
            + "c = \"\"\"ends with quotes\"\"\"\"\"\n"
            + "d = '''\nraw \\n text\n'''\n"
            + "e = \"\"\"tab\\tescape\"\"\"\n"
            + "f = \"\"\"\"\"\"\n"
        let tree = try TOMLDocument.parse(text)
        #expect(tree["a"] as? String == "line one\nline \"two\"\n")
        #expect(tree["b"] as? String == "one two three")
        #expect(tree["c"] as? String == "ends with quotes\"\"")
        #expect(tree["d"] as? String == "raw \\n text\n")
        #expect(tree["e"] as? String == "tab\tescape")
        #expect(tree["f"] as? String == "")
    }

    @Test func integers() throws {
        let text = """
            a = 42
            b = +17
            c = -5
            d = 0
            e = -0
            f = 1_000_000
            g = 0xDEAD_beef
            h = 0o755
            i = 0b1010
            j = 9223372036854775807
            k = -9223372036854775808
            l = 0x7FFFFFFFFFFFFFFF
            m = 0x00ff
            """
        let tree = try TOMLDocument.parse(text)
        #expect(tree["a"] as? Int == 42)
        #expect(tree["b"] as? Int == 17)
        #expect(tree["c"] as? Int == -5)
        #expect(tree["d"] as? Int == 0)
        #expect(tree["e"] as? Int == 0)
        #expect(tree["f"] as? Int == 1_000_000)
        #expect(tree["g"] as? Int == 0xDEAD_BEEF)
        #expect(tree["h"] as? Int == 0o755)
        #expect(tree["i"] as? Int == 10)
        #expect(tree["j"] as? Int == Int.max)
        #expect(tree["k"] as? Int == Int.min)
        #expect(tree["l"] as? Int == Int.max)
        #expect(tree["m"] as? Int == 255)
    }

    @Test func booleans() throws {
        #expect(try json("yes = true\nno = false") == #"{"no":false,"yes":true}"#)
    }

    @Test func arrays() throws {
        let text = """
            empty = []
            numbers = [ 1, 2, 3 ]
            nested = [ [1, 2], ["a", 'b'], [] ]
            mixed = [1, "two", true, { three = 3 }]
            long = [
                "alpha",   # a comment inside
                "beta",

                "gamma",   # trailing comma next
            ]
            """
        #expect(try json(text) == #"{"empty":[],"long":["alpha","beta","gamma"],"mixed":[1,"two",true,{"three":3}],"nested":[[1,2],["a","b"],[]],"numbers":[1,2,3]}"#)
    }

    @Test func inlineTables() throws {
        let text = """
            point = { x = 1, y = -2 }
            empty = {}
            nested = { inner = { deep = "yes" }, list = [ { a = 1 } ] }
            dotted = { a.b = 1, a.c = 2 }
            """
        #expect(try json(text) == #"{"dotted":{"a":{"b":1,"c":2}},"empty":{},"nested":{"inner":{"deep":"yes"},"list":[{"a":1}]},"point":{"x":1,"y":-2}}"#)
    }

    @Test func windowsLineEndings() throws {
        let text = "a = 1\r\n[t]\r\nb = \"\"\"x\r\ny\"\"\"\r\nc = [\r\n 1,\r\n]\r\n"
        let tree = try TOMLDocument.parse(text)
        #expect(tree["a"] as? Int == 1)
        let table = try #require(tree["t"] as? [String: Any])
        #expect(table["b"] as? String == "x\ny")
        #expect(table["c"] as? [Int] == [1])
    }

    /// The reason this reader exists: a configuration in TOML decodes like its JSON form.
    @Test func decodesIntoCodableThroughJSON() throws {
        struct Configuration: Decodable, Equatable {
            struct API: Decodable, Equatable {
                var host: String
                var port: Int
                var rateLimitLoopback: Bool
            }
            struct Credential: Decodable, Equatable {
                var name: String
                var role: String
            }
            struct Access: Decodable, Equatable {
                var credentials: [Credential]
            }
            var nodeName: String
            var peers: [String]
            var api: API
            var access: Access
        }
        let text = """
            # Node configuration
            nodeName = "city"
            peers = ["127.0.0.1:7001", "127.0.0.1:7002"]

            [api]
            host = "127.0.0.1"
            port = 8_080
            rateLimitLoopback = false

            [[access.credentials]]
            name = "chamber"
            role = "member"
            """
        let decoded = try JSONDecoder().decode(Configuration.self, from: TOMLDocument.jsonData(fromTOML: text))
        #expect(decoded == Configuration(
            nodeName: "city",
            peers: ["127.0.0.1:7001", "127.0.0.1:7002"],
            api: .init(host: "127.0.0.1", port: 8080, rateLimitLoopback: false),
            access: .init(credentials: [.init(name: "chamber", role: "member")])
        ))
    }

    /// The node configurations shipped in `Network/` are read by this parser.
    @Test func shippedNetworkConfigurationsParse() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let network = packageRoot.appendingPathComponent("Network")
        let enumerator = FileManager.default.enumerator(at: network, includingPropertiesForKeys: nil)
        var files: [URL] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "toml" { files.append(url) }
        }
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            do throws(TOMLError) {
                let tree = try TOMLDocument.parse(text)
                #expect(!tree.isEmpty, "\(file.lastPathComponent)")
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    // MARK: Refusals

    @Test func errorDescription() {
        #expect(TOMLError(line: 3, message: "duplicate key 'a'").description == "line 3: duplicate key 'a'")
    }

    @Test func duplicateKeys() {
        expectRefused("a = 1\nb = 2\na = 3", line: 3, "duplicate key 'a'")
        expectRefused("[t]\nx = 1\n\nx = 2", line: 4, "duplicate key 't.x'")
        expectRefused("a.b = 1\na.b = 2", line: 2, "duplicate key 'a.b'")
        expectRefused("\"a\" = 1\n'a' = 2", line: 2, "duplicate key")
        expectRefused("p = { x = 1, x = 2 }", line: 1, "duplicate key 'x'")
    }

    @Test func redefinedTables() {
        expectRefused("[a]\nx = 1\n[b]\n[a]\ny = 2", line: 4, "table [a] is defined more than once")
        expectRefused("[a.b]\n[a]\n[a]", line: 3, "defined more than once")
        expectRefused("[a]\nb.c = 1\n[a.b]", line: 3, "already defined by dotted keys")
        expectRefused("[a.b.c]\n[a]\nb.d = 1", line: 3, "dotted keys cannot add to it")
        expectRefused("[a]\n[[a]]", line: 2, "not an array of tables")
        expectRefused("[[a]]\n[a]", line: 2, "is an array of tables")
    }

    @Test func keyBothValueAndTable() {
        expectRefused("a = 1\n[a]", line: 2, "'a' is a value, so it cannot also be a table")
        expectRefused("[a]\nb = 1\n[a.b.c]", line: 3, "'a.b' is a value")
        expectRefused("a = 1\na.b = 2", line: 2, "'a' is a value")
        expectRefused("a = [1]\n[[a]]", line: 2, "is a value")
        expectRefused("a = {x = 1}\n[a.y]", line: 2, "'a' is a value")
        expectRefused("a = {x = 1}\na.y = 2", line: 2, "'a' is a value")
        expectRefused("[[a]]\n\n[a.b]\nc = 1\n[[a.b]]", line: 5, "not an array of tables")
    }

    @Test func dottedKeysInsideArrayElementsAreAccepted() throws {
        #expect(try json("[[a]]\nb.c = 1\n[[a]]\nb.c = 2") == #"{"a":[{"b":{"c":1}},{"b":{"c":2}}]}"#)
    }

    @Test func unterminatedStrings() {
        expectRefused("a = 1\nb = \"open", line: 2, "unterminated string")
        expectRefused("a = \"open\nb = 1", line: 1, "unterminated string")
        expectRefused("a = 'open\n", line: 1, "unterminated string")
        expectRefused("a = 1\nb = \"\"\"\nmany\nlines", line: 2, "unterminated multi-line string")
        expectRefused("a = '''\nmany", line: 1, "unterminated multi-line string")
        expectRefused("a = \"ends in escape\\", line: 1, "unterminated string")
        expectRefused("\"open = 1", line: 1, "unterminated string")
    }

    @Test func invalidEscapes() {
        expectRefused("a = \"\\x41\"", line: 1, "invalid escape '\\x'")
        expectRefused("\n\na = \"\\e\"", line: 3, "invalid escape")
        expectRefused("a = \"\\u12\"", line: 1, "needs 4 hexadecimal digits")
        expectRefused("a = \"\\U0001F6\"", line: 1, "needs 8 hexadecimal digits")
        expectRefused("a = \"\\uD800\"", line: 1, "not a Unicode scalar value")
        expectRefused("a = \"\\U00110000\"", line: 1, "not a Unicode scalar value")
        expectRefused("a = \"\"\"\nx \\ y\"\"\"", line: 2, "invalid escape")
    }

    @Test func controlCharacters() {
        expectRefused("a = \"bell\u{7}\"", line: 1, "control character in a string")
        expectRefused("a = 1 # nul\u{0}", line: 1, "control character in a comment")
        expectRefused("a = 1\rb = 2", line: 1, "carriage return")
    }

    @Test func leadingZeros() {
        expectRefused("port = 08080", line: 1, "leading zeros")
        expectRefused("\nport = -01", line: 2, "leading zeros")
        expectRefused("port = 0_1", line: 1, "leading zeros")
    }

    @Test func malformedIntegers() {
        expectRefused("a = 1__000", line: 1, "invalid integer")
        expectRefused("a = 1_", line: 1, "invalid integer")
        expectRefused("a = _1", line: 1, "invalid value")
        expectRefused("a = 0x", line: 1, "invalid integer")
        expectRefused("a = 0b102", line: 1, "invalid integer")
        expectRefused("a = 0xG", line: 1, "invalid integer")
        expectRefused("a = -0x10", line: 1, "cannot have a sign")
        expectRefused("a = 12abc", line: 1, "invalid integer")
        expectRefused("a = yes", line: 1, "invalid value 'yes'")
        expectRefused("a = True", line: 1, "invalid value")
    }

    @Test func integersOutOfRange() {
        expectRefused("a = 9223372036854775808", line: 1, "out of range")
        expectRefused("\na = -9223372036854775809", line: 2, "out of range")
        expectRefused("a = 0x8000000000000000", line: 1, "out of range")
        expectRefused("a = 99999999999999999999999999999999", line: 1, "out of range")
    }

    @Test func floatsAreRefused() {
        for value in ["1.5", "-0.25", "1e6", "3E-2", "6.02e23", "inf", "+inf", "-nan", "nan"] {
            expectRefused("\nratio = \(value)", line: 2, "floating-point numbers are not supported in Kizuna configuration")
        }
    }

    @Test func datesAndTimesAreRefused() {
        for value in ["1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00", "1979-05-27T00:32:00.999999-07:00"] {
            expectRefused("[t]\nwhen = \(value)", line: 2, "dates and times are not supported in Kizuna configuration")
        }
    }

    @Test func garbageAfterAValue() {
        expectRefused("a = 1 2", line: 1, "unexpected text after a value: '2'")
        expectRefused("a = 1\nb = \"x\" y", line: 2, "unexpected text after a value")
        expectRefused("a = [1] ]", line: 1, "unexpected text after a value")
        expectRefused("a = {} x", line: 1, "unexpected text after a value")
        expectRefused("a = 1 = 2", line: 1, "unexpected text after a value")
        expectRefused("[t] x = 1", line: 1, "unexpected text after a table header")
        expectRefused("a = \"\"\"x\"\"\"\"\"\"", line: 1, "unexpected text after a value")
    }

    @Test func malformedKeysAndHeaders() {
        expectRefused("= 1", line: 1, "expected a key")
        expectRefused("a b = 1", line: 1, "expected '=' after the key 'a'")
        expectRefused("a =", line: 1, "expected a value")
        expectRefused("a = # nothing", line: 1, "expected a value")
        expectRefused("a. = 1", line: 1, "expected a key")
        expectRefused("[]", line: 1, "expected a key")
        expectRefused("\n[a", line: 2, "expected ']'")
        expectRefused("[[a]", line: 1, "expected ']]'")
        expectRefused("[a.]", line: 1, "expected a key")
    }

    @Test func malformedArraysAndInlineTables() {
        expectRefused("a = [1, 2", line: 1, "unterminated array")
        expectRefused("a = [\n1,\n2\n", line: 1, "unterminated array")
        expectRefused("a = [1 2]", line: 1, "expected ',' or ']'")
        expectRefused("a = [,]", line: 1, "expected a value")
        expectRefused("a = { x = 1,\n y = 2 }", line: 1, "on one line")
        expectRefused("a = { x = 1, }", line: 1, "trailing comma")
        expectRefused("a = { x = 1", line: 1, "unterminated inline table")
        expectRefused("a = { x = 1 y = 2 }", line: 1, "expected ',' or '}'")
    }

    @Test func nestingIsBounded() {
        let deepArray = "a = " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        expectRefused(deepArray, line: 1, "nest deeper")
        let deepInline = "a = " + String(repeating: "{ b = ", count: 10_000)
        expectRefused(deepInline, line: 1, "nest deeper")
        let deepKey = Array(repeating: "k", count: 1_000).joined(separator: ".") + " = 1"
        expectRefused(deepKey, line: 1, "nest deeper")
        let deepHeader = "[" + Array(repeating: "k", count: 1_000).joined(separator: ".") + "]"
        expectRefused(deepHeader, line: 1, "nest deeper")
        // Within the limit, deep nesting is fine.
        let allowed = "a = " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(failure(allowed) == nil)
    }

    @Test func sizeIsBounded() {
        let large = String(repeating: "# padding\n", count: TOMLDocument.documentBytesMax / 10 + 1)
        expectRefused(large, line: 1, "larger than")
    }

    // MARK: Robustness

    /// SplitMix64: a small seeded generator, so any failure replays from its seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let robustnessSeeds: [String] = [
        """
        # Node configuration
        nodeName = "city"
        peers = ["127.0.0.1:7001", '127.0.0.1:7002',]
        [api]
        host = "127.0.0.1"
        port = 0x1F90
        limits = { burst = 400, perClient.rate = 200 }
        [[access.credentials]]
        name = "chamber\\u00E9"
        role = \"\"\"member \\
            role\"\"\"
        [access.credentials.extra]
        flags = [[true, false], [], [-1_000, 0o17, 0b11]]
        """,
        "a.b.c = 1\n[x.y]\nz = '''\nraw\n'''\n[[t]]\n[[t]]\nq = { }\n",
        "\"quoted\".'key' = \"\\U0001F600\\t\\\"\"\n[ table . \"sub\" ]\nv = -9223372036854775808\n",
    ]

    /// Interesting bytes for the mutator: TOML's punctuation and the bytes that end lines.
    static let mutationBytes: [UInt8] = Array("[]{}\"'\\=.,#\n\r\t 0_x-+:e".utf8) + [0x00, 0x7F, 0xC3, 0xFF]

    @Test func mutatedDocumentsReturnOrThrow() throws {
        var generator = SeededGenerator(state: 0x4B49_5A55_4E41)
        for seed in Self.robustnessSeeds { #expect(failure(seed) == nil, "\(failure(seed).map(String.init(describing:)) ?? "")") }
        var accepted = 0
        var refused = 0
        for iteration in 0..<2_000 {
            var bytes = Array(Self.robustnessSeeds[iteration % Self.robustnessSeeds.count].utf8)
            let mutationCount = Int.random(in: 1...4, using: &generator)
            for _ in 0..<mutationCount where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<6, using: &generator) {
                case 0: bytes[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
                case 1: bytes[index] = Self.mutationBytes.randomElement(using: &generator) ?? 0
                case 2: bytes.removeSubrange(index...)
                case 3: bytes.remove(at: index)
                case 4: bytes.insert(Self.mutationBytes.randomElement(using: &generator) ?? 0, at: index)
                default:
                    let end = min(bytes.count, index + Int.random(in: 1...16, using: &generator))
                    bytes.insert(contentsOf: bytes[index..<end], at: index)
                }
            }
            // Invalid UTF-8 becomes U+FFFD, as it would when a file is read into a String.
            let text = String(decoding: bytes, as: UTF8.self)
            let lineCount = text.utf8.count(where: { $0 == 0x0A }) + 1
            do throws(TOMLError) {
                _ = try TOMLDocument.jsonData(fromTOML: text)
                accepted += 1
            } catch {
                refused += 1
                #expect((1...lineCount).contains(error.line), "iteration \(iteration): \(error) for \(text.debugDescription)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted + refused == 2_000)
        // Both outcomes occur, or the mutator is not exercising the parser.
        #expect(accepted > 0)
        #expect(refused > 0)
    }
}
