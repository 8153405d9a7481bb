import FuzzSupport
import KizunaChain
import KizunaCore

// Fuzzes reading a block kept on disk in the compact form (StoredBlockForm.swift, ADR 0029),
// as a node reads its own, possibly damaged, store. Signer numbers 0–3 name four valid keys,
// any other number is one the store never gave. Properties: damaged bytes give a decoding
// error that points inside the input, never a crash; what rebuilds into a canonical block
// re-encodes to the same bytes, and that block stored again rebuilds to them too. One
// transaction read alone (what a lookup by id confirms, ADR 0031): from any bytes, an error
// that points inside them or some bytes, never a crash; from the form the store writes, that
// transaction of the block byte for byte, and none past the block's end. (In damaged bytes the
// form's lengths may split the transactions otherwise than the whole block's decoding does;
// only the store's own writing guarantees they agree.)

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
    checkTransactionsReadAlone(of: block, in: bytes)
    checkTransactionsReadAlone(of: block, in: stored)
}

/// Each transaction of `block` read alone from `form` (a compact form that rebuilds to it).
func checkTransactionsReadAlone(of block: Block, in form: [UInt8]) {
    let numbers = block.transactions.map { UInt32(signerKeys.firstIndex(of: $0.transaction.signer.bytes) ?? Int.max) }
    let written = StoredBlockForm.compactBytes(of: block, signerNumbers: numbers) == form
    for (index, transaction) in block.transactions.enumerated() {
        do throws(DecodingError) {
            let alone = try StoredBlockForm.transactionBytes(at: index, ofCompact: form, keyOf: keyOf)
            if written {
                fuzzCheck(alone == transaction.canonicalBytes, "transaction \(index) read alone from the written form differs from the block's")
            }
        } catch {
            fuzzCheck(!written, "transaction \(index) of the written form does not read alone: \(error)")
            fuzzCheckError(error, inputCount: form.count, "StoredBlockForm.transactionBytes")
        }
    }
    if written {
        let pastTheEnd = Result { () throws(DecodingError) in try StoredBlockForm.transactionBytes(at: block.transactions.count, ofCompact: form, keyOf: keyOf) }
        if case .success(nil) = pastTheEnd { return }
        fuzzCheck(false, "past the block's end: \(pastTheEnd), not none")
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
