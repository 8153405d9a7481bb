import Foundation
import FuzzSupport
import KizunaNode

// Fuzzes `NodeConfiguration.load(path:)` (KizunaNode/NodeConfiguration.swift) through a file in
// a temporary folder of this process: named `node.json` when the input starts (after white
// space) with `{`, else `node.toml`, so both forms the loader may read are reached.
// Properties: an accepted configuration has absolute paths, and written back as JSON it loads
// to the same configuration.

let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-fuzz-config-\(ProcessInfo.processInfo.processIdentifier)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: folder) }
    return url
}()

func fuzzNodeConfiguration(_ bytes: [UInt8]) {
    let isJSON = bytes.first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) } == UInt8(ascii: "{")
    let path = folder.appendingPathComponent(isJSON ? "node.json" : "node.toml").path
    fuzzCheck(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
    guard let configuration = try? NodeConfiguration.load(path: path) else { return }
    for resolved in [configuration.dataDirectory, configuration.genesisFile, configuration.validatorKeyFile] {
        fuzzCheck(resolved.hasPrefix("/"), "path '\(resolved)' was not resolved")
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let written = try? encoder.encode(configuration) else {
        fuzzCheck(false, "an accepted configuration does not encode")
        return
    }
    let writtenPath = folder.appendingPathComponent("written.json").path
    fuzzCheck(FileManager.default.createFile(atPath: writtenPath, contents: written), "cannot write \(writtenPath)")
    do throws(NodeConfiguration.ConfigurationError) {
        let reloaded = try NodeConfiguration.load(path: writtenPath)
        fuzzCheck(reloaded == configuration, "the configuration written back loads differently")
    } catch {
        fuzzCheck(false, "the configuration written back does not load: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzNodeConfiguration(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzNodeConfiguration_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
