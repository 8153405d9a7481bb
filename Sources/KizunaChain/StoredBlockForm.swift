public import KizunaCore

/// How the block store keeps a block on disk (ADR 0029). Not a wire format: what a node sends,
/// hashes and signs is always the canonical encoding (`docs/wire-format.md` §5.7), which this
/// form gives back byte for byte.
///
/// A canonical block repeats, in every transaction, the chain id (a string the header already
/// holds) and the signer's 32-byte key — after Zstandard, the key is most of what a payment
/// costs on disk besides its signature, because no dictionary holds a town's residents. The
/// compact form leaves both out and names the signer by its number (`SignerNumbers`):
///
///     01                                  the form (a canonical block starts with 00: the
///                                         high byte of its chain id's length, at most 64)
///     header                              canonical, as in the block
///     u32 transaction count               canonical
///     per transaction:
///         LEB128 signer number
///         LEB128 length n
///         n bytes                         the canonical transaction after its chain id and
///                                         signer: nonce, body, signature, co-signatures
///     the rest of the block               canonical (the optional last-commit certificate)
///
/// A block with a transaction for another chain id (which no committed block has) is kept
/// canonical; stores written before format version 4 hold canonical blocks, and both forms
/// read the same.
public enum StoredBlockForm {
    /// The first byte of a block in the compact form.
    public static let compactMarker: UInt8 = 1

    /// Whether stored block bytes are in the compact form (else canonical).
    public static func isCompact(_ stored: [UInt8]) -> Bool { stored.first == compactMarker }

    /// The compact form of `block`, whose transactions' signers have `signerNumbers` (in
    /// order); nil when a transaction names another chain id than the header.
    public static func compactBytes(of block: Block, signerNumbers: [UInt32]) -> [UInt8]? {
        precondition(signerNumbers.count == block.transactions.count, "\(signerNumbers.count) signer numbers for \(block.transactions.count) transactions")
        let chainId = block.header.chainId
        var output: [UInt8] = [compactMarker]
        output.reserveCapacity(256 + block.transactions.count * 160)
        var header = Encoder()
        header.encode(block.header)
        header.encode(UInt32(block.transactions.count))
        output.append(contentsOf: header.bytes)
        for (transaction, number) in zip(block.transactions, signerNumbers) {
            guard transaction.transaction.chainId == chainId else { return nil }
            var rest = Encoder()
            rest.encode(transaction.transaction.nonce, transaction.transaction.body)
            rest.encode(transaction.signature, transaction.cosignatures)
            appendLEB128(UInt64(number), to: &output)
            appendLEB128(UInt64(rest.bytes.count), to: &output)
            output.append(contentsOf: rest.bytes)
        }
        var tail = Encoder()
        tail.encode(block.lastCommit)
        output.append(contentsOf: tail.bytes)
        return output
    }

    /// The canonical bytes of a block kept in the compact form; `keyOf` gives a signer
    /// number's 32 key bytes, or nil for a number the store never gave.
    public static func canonicalBytes(ofCompact stored: [UInt8], keyOf: (UInt32) -> [UInt8]?) throws(DecodingError) -> [UInt8] {
        let (header, count, headerEnd) = try compactHeader(of: stored)
        var chainId = Encoder()
        chainId.encode(header.chainId)
        var output: [UInt8] = []
        output.reserveCapacity(stored.count + count * (chainId.bytes.count + PublicKey.byteCount))
        output.append(contentsOf: stored[1..<headerEnd])
        var offset = headerEnd
        for index in 0..<count {
            let numberAt = offset
            let number = try readLEB128(stored, at: &offset, max: UInt64(UInt32.max))
            let length = Int(try readLEB128(stored, at: &offset, max: UInt64(stored.count)))
            guard let key = keyOf(UInt32(number)) else {
                throw DecodingError(.invalidValue, "transaction \(index) names signer number \(number), which the store never gave", offset: numberAt)
            }
            guard length <= stored.count - offset else {
                throw DecodingError(.truncated, "transaction \(index) needs \(length) byte(s), \(stored.count - offset) left", offset: offset)
            }
            output.append(contentsOf: chainId.bytes)
            output.append(contentsOf: key)
            output.append(contentsOf: stored[offset..<offset + length])
            offset += length
        }
        output.append(contentsOf: stored[offset...])
        return output
    }

    /// The canonical bytes of transaction `index` of a block kept in the compact form, read
    /// without decoding the transactions before it (each is length-prefixed): what a lookup by
    /// id needs to confirm the id (ADR 0031). Nil when the block has no transaction `index`.
    public static func transactionBytes(at index: Int, ofCompact stored: [UInt8], keyOf: (UInt32) -> [UInt8]?) throws(DecodingError) -> [UInt8]? {
        let (header, count, headerEnd) = try compactHeader(of: stored)
        guard index >= 0, index < count else { return nil }
        var offset = headerEnd
        for skipped in 0...index {
            let numberAt = offset
            let number = try readLEB128(stored, at: &offset, max: UInt64(UInt32.max))
            let length = Int(try readLEB128(stored, at: &offset, max: UInt64(stored.count)))
            guard length <= stored.count - offset else {
                throw DecodingError(.truncated, "transaction \(skipped) needs \(length) byte(s), \(stored.count - offset) left", offset: offset)
            }
            if skipped == index {
                guard let key = keyOf(UInt32(number)) else {
                    throw DecodingError(.invalidValue, "transaction \(index) names signer number \(number), which the store never gave", offset: numberAt)
                }
                var chainId = Encoder()
                chainId.encode(header.chainId)
                return chainId.bytes + key + stored[offset..<offset + length]
            }
            offset += length
        }
        return nil
    }

    /// The header and transaction count of a block kept in the compact form, and the offset
    /// of its first transaction.
    private static func compactHeader(of stored: [UInt8]) throws(DecodingError) -> (header: BlockHeader, count: Int, end: Int) {
        guard isCompact(stored) else {
            throw DecodingError(.invalidValue, "stored block does not start with the compact form's marker", offset: 0)
        }
        var decoder = Decoder(stored, keysAlreadyValidated: true)
        _ = try decoder.decodeUInt8()
        let header = try BlockHeader(from: &decoder)
        let count = try decoder.decodeUInt32()
        guard count <= BlockLimits.transactionsMax else {
            throw DecodingError(.lengthTooLarge, "\(count) transactions in a stored block, at most \(BlockLimits.transactionsMax)", offset: decoder.offset - 4)
        }
        return (header, Int(count), decoder.offset)
    }

    /// Unsigned LEB128: seven bits a byte, low bits first, the high bit set on every byte but
    /// the last.
    static func appendLEB128(_ value: UInt64, to output: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    /// Reads one LEB128 value at `offset` (advanced past it), refusing one over `max`, longer
    /// than needed, or cut short.
    static func readLEB128(_ bytes: [UInt8], at offset: inout Int, max: UInt64) throws(DecodingError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else {
                throw DecodingError(.truncated, "a number cut short", offset: start)
            }
            let byte = bytes[offset]
            offset += 1
            guard shift < 63 || (shift == 63 && byte <= 1) else {
                throw DecodingError(.invalidValue, "a number over 64 bits", offset: start)
            }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || offset - start == 1 else {
                    throw DecodingError(.invalidValue, "a number with a needless trailing byte", offset: start)
                }
                break
            }
            shift += 7
        }
        guard value <= max else {
            throw DecodingError(.invalidValue, "\(value) is over \(max)", offset: start)
        }
        return value
    }
}
