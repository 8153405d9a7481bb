import FuzzSupport
import KizunaChain
import KizunaCore

// Fuzzes reading a block kept on disk in the compact form (StoredBlockForm.swift, ADR 0029),
// as a node reads its own, possibly damaged, store. Signer numbers 0–3 name four valid keys,
// any other number is one the store never gave. Properties: damaged bytes give a decoding
// error that points inside the input, never a crash; what rebuilds into a canonical block
// re-encodes to the same bytes, and that block stored again rebuilds to them too. One
// transaction read alone (what a lookup by id confirms, ADR 0031) is, byte for byte, that
// transaction of the rebuilt block, and none is read past the block's end.

let signerKeys: [[UInt8]] = (1...4).map { PrivateKey(seed: [UInt8](repeating: UInt8($0), count: 32))!.publicKey.bytes }

func keyOf(_ number: UInt32) -> [UInt8]? {
    Int(number) < signerKeys.count ? signerKeys[Int(number)] : nil
}

func fuzzStoredBlock(_ bytes: [UInt8]) {
    // Read alone at an index the input picks: an error points inside it, never a crash.
    do throws(DecodingError) {
        _ = try StoredBlockForm.transactionBytes(at: Int(bytes.last ?? 0) % 8, ofCompact: bytes, keyOf: keyOf)
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "StoredBlockForm.transactionBytes")
    }
    let rebuilt: [UInt8]
    do throws(DecodingError) {
        rebuilt = try StoredBlockForm.canonicalBytes(ofCompact: bytes, keyOf: keyOf)
    } catch {
        fuzzCheckError(error, inputCount: bytes.count, "StoredBlockForm")
        return
    }
    guard let block = try? Block(canonicalBytes: rebuilt) else { return }
    for (index, transaction) in block.transactions.enumerated() {
        let alone = try? StoredBlockForm.transactionBytes(at: index, ofCompact: bytes, keyOf: keyOf)
        fuzzCheck(alone == transaction.canonicalBytes, "transaction \(index) read alone differs from the rebuilt block's")
    }
    let pastTheEnd = try? StoredBlockForm.transactionBytes(at: block.transactions.count, ofCompact: bytes, keyOf: keyOf)
    fuzzCheck(pastTheEnd == .some(nil), "a transaction was read past the block's end")
    fuzzCheckRoundTrip(block, from: rebuilt, "Block rebuilt from the compact form")
    let numbers = block.transactions.map { transaction in
        UInt32(signerKeys.firstIndex(of: transaction.transaction.signer.bytes) ?? Int.max)
    }
    fuzzCheck(numbers.allSatisfy { $0 < UInt32(signerKeys.count) }, "a rebuilt transaction names a signer the table does not hold")
    guard let stored = StoredBlockForm.compactBytes(of: block, signerNumbers: numbers) else {
        fuzzCheck(false, "a block rebuilt with the header's chain id has a transaction for another chain")
        return
    }
    do throws(DecodingError) {
        let again = try StoredBlockForm.canonicalBytes(ofCompact: stored, keyOf: keyOf)
        fuzzCheck(again == rebuilt, "the block stored again rebuilds to other bytes")
    } catch {
        fuzzCheck(false, "the block stored again does not rebuild: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzStoredBlock(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzStoredBlock_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
