import KizunaChain
import KizunaCore
import KizunaLedger
import KizunaStorage
import Testing

/// The `transactions` family's entries (ADR 0020): the position alone, the id being the key;
/// entries a previous release wrote (the whole receipt) still read the same.
@Suite("Transaction index entries")
struct ReceiptEntryTests {
    @Test("a committed transaction's index entry is its height and index: 12 bytes")
    func entriesAreTwelveBytes() throws {
        let chain = try ChainHarness.tenBlocks()
        let entries = chain.store.allEntries(in: .transactions)
        #expect(!entries.isEmpty)
        for entry in entries {
            #expect(entry.value.count == 12, "an index entry of \(entry.value.count) bytes")
        }
    }

    @Test("an entry in the previous form (the whole receipt) reads the same and verifies; one naming another transaction is refused")
    func previousFormStillReads() throws {
        let chain = try ChainHarness.tenBlocks()
        let block = try #require(try chain.blocks.block(at: 3))
        let transaction = try #require(block.transactions.last)
        let expected = try #require(try chain.blocks.receipt(of: transaction.id))
        let copy = try copyStore(chain.store)
        var batch = WriteBatch()
        batch.put(expected.canonicalBytes, for: transaction.id.bytes, in: .transactions)
        try copy.write(batch, sync: false)
        let blocks = try BlockStore(store: copy, genesis: chain.genesis)
        #expect(try blocks.receipt(of: transaction.id) == expected)
        #expect(try ChainVerifier(blocks: blocks).verify().height == 10)

        let other = Receipt(transactionId: block.transactions[0].id, height: expected.height, index: expected.index)
        var wrong = WriteBatch()
        wrong.put(other.canonicalBytes, for: transaction.id.bytes, in: .transactions)
        try copy.write(wrong, sync: false)
        #expect(throws: ChainError.self) { _ = try blocks.receipt(of: transaction.id) }
        do {
            _ = try blocks.receipt(of: transaction.id)
        } catch {
            #expect(error.code == .corruptIndex)
        }
    }
}
