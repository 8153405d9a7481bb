import Foundation
import FuzzSupport
import KizunaCore

// Fuzzes the text forms that arrive from outside: account addresses (`kz1…`, in API paths,
// wallet input and genesis), hashes in hex (transaction ids in API paths) and RFC 3339 times
// (genesis). Properties: each parse is the inverse of its formatter — a parsed address or
// hash prints back as the input (hex in lowercase), and a parsed time formatted in Japan
// time parses back to the same instant.

func fuzzText(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let address = try? Address(parsing: text) {
        fuzzCheck(address.description == text, "address '\(text)' prints as '\(address.description)'")
    }
    if let hash = Hash(hex: text) {
        fuzzCheck(hash.hex == text.lowercased(), "hash '\(text)' prints as '\(hash.hex)'")
    }
    if let milliseconds = CivilTime.parseRFC3339(text) {
        fuzzCheck(milliseconds % 1000 == 0, "a time with whole seconds parsed to \(milliseconds) ms")
        // The form `Genesis.document` writes: Japan time, without the milliseconds.
        let formatted = CivilTime.formatJapan(milliseconds: milliseconds).replacingOccurrences(of: ".000+", with: "+")
        fuzzCheck(CivilTime.parseRFC3339(formatted) == milliseconds, "time '\(text)' formats as '\(formatted)', which does not parse back")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzText(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzText_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
