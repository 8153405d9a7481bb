import CFuzzerDriver
public import KizunaCore

/// What every Kizuna fuzz executable shares: the libFuzzer entry, a check that crashes (so
/// libFuzzer keeps the input), and the local development chain the decoders are checked against.
///
/// A fuzz executable defines `LLVMFuzzerTestOneInput` and an entry point named
/// `<Module>_main` (SwiftPM renames an executable's `main`, so libFuzzer's own is not linked):
///
/// ```swift
/// @_cdecl("LLVMFuzzerTestOneInput")
/// public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
///     fuzzBlock(FuzzInput.bytes(data, size))
///     return 0
/// }
///
/// @_cdecl("FuzzBlock_main")
/// public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
///     runFuzzer(argc, argv, testOneInput)
/// }
/// ```
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
}

public enum FuzzInput {
    /// The input as an array (libFuzzer passes a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// A property every input must keep. Stays on in release builds (`precondition` would too,
/// but this names the property in the crash report that libFuzzer prints).
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ property: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        fatalError("fuzz property broken: \(property())", file: file, line: line)
    }
}

/// Canonical encoding is strict: a value decoded from `bytes` must encode to exactly `bytes`.
public func fuzzCheckRoundTrip<Value: CanonicalCodable & Equatable>(_ value: Value, from bytes: some Collection<UInt8>, _ what: String, file: StaticString = #fileID, line: UInt = #line) {
    let encoded = value.canonicalBytes
    fuzzCheck(encoded.elementsEqual(bytes), "\(what) re-encodes to other bytes (\(bytes.count) in, \(encoded.count) out)", file: file, line: line)
    fuzzCheck((try? Value(canonicalBytes: encoded)) == value, "\(what) does not decode back to the same value", file: file, line: line)
}

/// A decoding error must point inside the input.
public func fuzzCheckError(_ error: DecodingError, inputCount: Int, _ what: String, file: StaticString = #fileID, line: UInt = #line) {
    fuzzCheck(error.offset >= 0 && error.offset <= inputCount, "\(what): error offset \(error.offset) outside 0…\(inputCount)", file: file, line: line)
}

/// The local development chain (`Genesis/local.json`): what the decoded values are checked
/// against, so that inputs built from the test vectors can get past signature checks.
public enum LocalChain {
    public static let chainId = "local-kizuna-1"
    public static let validatorNames = ["validator-city", "validator-chamber", "validator-operator", "validator-bank"]
    public static let validators: ValidatorSet = ValidatorSet(validatorNames.map {
        Validator(name: $0, organisation: $0, publicKey: DevelopmentKeys.privateKey($0).publicKey, votingPower: 1)
    })
}
