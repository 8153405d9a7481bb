public import KizunaCore
public import KizunaStorage

/// Where a committed transaction sits in the chain: its block's height and its index in the
/// block. Ordered by height, then index (chain order).
public struct ChainPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The height of the transaction's block.
    public var height: UInt64
    /// The transaction's index in its block, from 0.
    public var index: UInt32

    public init(height: UInt64, index: UInt32) {
        (self.height, self.index) = (height, index)
    }

    public static func < (left: ChainPosition, right: ChainPosition) -> Bool {
        (left.height, left.index) < (right.height, right.index)
    }

    /// `height:index`, the form of a history cursor (`docs/api.md`).
    public var description: String { "\(height):\(index)" }

    /// Parses a history cursor: `height:index` (strictly before that transaction), or a plain
    /// `height` (every block below it, i.e. `height:0`). Nil when it is neither.
    public init?(cursor text: some StringProtocol) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let height = UInt64(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(height: height, index: 0)
            return
        }
        guard let index = UInt32(parts[1]) else { return nil }
        self.init(height: height, index: index)
    }
}

extension SignedTransaction {
    /// The accounts this transaction names — its signer, its co-signers and the keys in its
    /// body — each once, in byte order. This is the one rule for "the account's
    /// transactions": the history index (`AccountHistory`), the history API and the event
    /// stream's account filter all use it.
    public var namedAccounts: [PublicKey] {
        var accounts = [transaction.signer] + cosignatures.map(\.signer)
        switch transaction.body {
        case .register(let register): accounts.append(register.account)
        case .charge(let charge): accounts.append(charge.to)
        case .send(let send): accounts.append(send.to)
        case .createProgram(let program): accounts.append(program.funder)
        case .grant(let grant): accounts.append(grant.to)
        case .pay(let pay): accounts.append(pay.merchant)
        case .thank(let thank): accounts.append(thank.to)
        case .redeem: break
        case .refund(let refund): accounts.append(refund.account)
        case .freeze(let action), .unfreeze(let action): accounts.append(action.account)
        case .recover(let recover): accounts += [recover.from, recover.to]
        case .appointDelegate(let appointment): accounts.append(appointment.delegate)
        case .revokeDelegate(let revocation): accounts.append(revocation.delegate)
        case .setProgramTerms(let terms): accounts += terms.merchants
        case .topUpProgram, .closeProgram: break
        // The merchant signs; the payer is the other account the payment touches.
        case .payAuthorised(let collect): accounts.append(collect.authorisation.authorisation.payer)
        case .payBusiness(let payment): accounts.append(payment.to)
        case .issueInvoice(let invoice): accounts.append(invoice.payer)
        case .payInvoice(let payment): accounts.append(payment.issuer)
        case .cancelInvoice(let cancellation): accounts.append(cancellation.payer)
        case .updateConsent: break
        case .setPremium, .setEventBonus, .setRebateTiers: break
        case .chargeExtended(let charge): accounts.append(charge.to)
        case .payPublic(let payment): accounts.append(payment.to)
        case .authoriseStandingOrder(let order): accounts.append(order.payee)
        // Anyone may submit an instalment: the payer is named; the payee is in the order.
        case .payInstalment(let instalment): accounts.append(instalment.payer)
        case .cancelStandingOrder(let cancellation): accounts.append(cancellation.payee)
        case .updateConsent, .govern: break
        }
        // Sorted and unique: the index entries of a block are then written in a fixed order.
        var unique: [PublicKey] = []
        for account in accounts.sorted() where unique.last != account {
            unique.append(account)
        }
        return unique
    }

    /// Does this transaction name `account` (as signer, co-signer, or a key in its body)?
    public func names(_ account: PublicKey) -> Bool {
        namedAccounts.contains(account)
    }
}

/// The account-history index, column family `account_history` (`docs/storage.md`): one entry
/// with an empty value per (account, committed transaction that names it), written in the
/// same batch as the block. The key is
///
///     account (32 bytes) ‖ ~height (8 bytes, big-endian) ‖ ~index (4 bytes, big-endian)
///
/// with height and index complemented (`~x = max − x`), so that ascending byte order — the
/// only order a scan has — is newest first: one account's page is one range scan.
public enum AccountHistory {
    /// 32 + 8 + 4.
    public static let keyByteCount = PublicKey.byteCount + 12

    /// The index key of `account` at `position`.
    public static func key(_ account: PublicKey, _ position: ChainPosition) -> [UInt8] {
        var encoder = Encoder()
        encoder.encode(~position.height)
        encoder.encode(~position.index)
        return account.bytes + encoder.bytes
    }

    /// The position an index key of `account` names (nil if the key is malformed).
    static func position(ofKey key: [UInt8]) -> ChainPosition? {
        guard key.count == keyByteCount else { return nil }
        var decoder = Decoder(Array(key[PublicKey.byteCount...]))
        guard let height = try? decoder.decodeUInt64(), let index = try? decoder.decodeUInt32() else { return nil }
        return ChainPosition(height: ~height, index: ~index)
    }

    /// Adds the index entries of `block` to `batch`: for each transaction, in block order, one
    /// per account it names. Returns how many were added.
    @discardableResult
    static func addEntries(of block: Block, to batch: inout WriteBatch) -> Int {
        var added = 0
        for (index, transaction) in block.transactions.enumerated() {
            let position = ChainPosition(height: block.height, index: UInt32(index))
            for account in transaction.namedAccounts {
                batch.put([], for: key(account, position), in: .accountHistory)
                added += 1
            }
        }
        return added
    }
}
