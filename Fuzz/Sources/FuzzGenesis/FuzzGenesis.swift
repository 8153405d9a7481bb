import Foundation
import FuzzSupport
import KizunaCore

// Fuzzes `Genesis(json:)` (Genesis.swift), the genesis document every node and auditor loads.
// Properties: an accepted genesis has 1–128 validators with unique keys, keys separate from
// the authorities, and writes back (`jsonData()`, what `kizuna genesis` writes) to a document
// that loads to the same genesis with the same hash.

func fuzzGenesis(_ bytes: [UInt8]) {
    guard let genesis = try? Genesis(json: Data(bytes)) else { return }
    let keys = genesis.validators.validators.map(\.publicKey)
    fuzzCheck(!keys.isEmpty && keys.count <= BlockLimits.validatorsMax, "an accepted genesis has \(keys.count) validators")
    fuzzCheck(Set(keys).count == keys.count, "an accepted genesis repeats a validator key")
    fuzzCheck(genesis.validators.isQuorum(genesis.validators.totalVotingPower), "the full validator set is not a quorum")
    let written = genesis.jsonData()
    do throws(GenesisError) {
        let reloaded = try Genesis(json: written)
        fuzzCheck(reloaded == genesis, "the genesis written back loads to a different genesis")
        fuzzCheck(reloaded.hash == genesis.hash, "the genesis written back has another hash")
    } catch {
        fuzzCheck(false, "the genesis written back does not load: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzGenesis(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzGenesis_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
