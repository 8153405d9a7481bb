public import KizunaCore

extension Ledger {
    /// `pay`: a resident pays a merchant. Points are spent first, soonest-expiring lot first,
    /// then coins. Campaign rebates apply to the coin-paid part only.
    func pay(_ body: Pay, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "a payment must be at least ¥1") }
        guard body.merchant != signer else { throw TransactionError(.selfTransfer, "an account cannot pay itself") }
        guard var payer = try overlay.account(signer) else { throw TransactionError(.unknownAccount, "the payer is not registered") }
        guard payer.role.holdsResidentValue || payer.role == .visitor else { throw TransactionError(.wrongRole, "only residents, their cards and visitors pay merchants") }
        if payer.role == .visitor { try checkVisitorPayment(body.amount) }
        guard var merchant = try overlay.account(body.merchant) else {
            throw TransactionError(.unknownAccount, "\(body.merchant.address) is not registered")
        }
        guard merchant.role == .merchant else { throw TransactionError(.wrongRole, "payments go to merchants; send coins to a resident, or pay an organisation with pay_public") }
        guard !merchant.frozen else { throw TransactionError(.frozen, "the merchant's account is frozen") }
        guard let available = payer.point.adding(payer.coin), available >= body.amount else {
            throw TransactionError(.insufficientBalance, "points \(payer.point) and coins ¥\(payer.coin) are less than ¥\(body.amount)")
        }
        if payer.role == .card { try spendFromCard(signer, amount: body.amount, context: context, overlay: &overlay) }
        let pointPart = min(payer.point, body.amount)
        let coinPart = body.amount - pointPart

        // Points: take from the soonest-expiring lots; the merchant is owed by each funder.
        if pointPart > 0 {
            let held = try overlay.lots(signer, .point)
            var lots = held
            let taken = lots.take(pointPart)
            overlay.setLots(signer, .point, lots, replacing: held)
            payer.point -= pointPart
            var usedByProgram: [(UInt64, Amount)] = []
            for piece in taken {
                try overlay.addAmount(StateKey.receivable(body.merchant, piece.funder), piece.amount)
                if let index = usedByProgram.firstIndex(where: { $0.0 == piece.program }) {
                    usedByProgram[index].1 += piece.amount
                } else {
                    usedByProgram.append((piece.program, piece.amount))
                }
            }
            for (id, amount) in usedByProgram {
                guard var program = try overlay.program(id) else { throw LedgerInconsistency("a lot of unknown program \(id)") }
                program.used += amount
                overlay.setProgram(program)
            }
            merchant.point += pointPart
        }
        if coinPart > 0 {
            overlay.setCoin(signer, &payer, to: payer.coin - coinPart, at: context.stampTime, rule: genesis.coin.expiry)
            merchant.coin += coinPart
        }
        overlay.setAccount(signer, payer)
        overlay.setAccount(body.merchant, merchant)
        if coinPart > 0, payer.role.holdsResidentValue, let category = merchant.merchantCategory {
            try applyRebates(coinPaid: coinPart, payer: signer, merchant: body.merchant, category: category, context: context, overlay: &overlay)
        }
        if payer.role.holdsResidentValue { try applyEventBonuses(.firstPayment, to: signer, context: context, overlay: &overlay) }
    }

    /// Campaign rebates on the coin-paid part of a payment: for each program whose rule
    /// names the merchant's category, rate × coins, trimmed (never refused) to the monthly
    /// cap per resident, the per-resident cap, the remaining budget and the holder cap.
    /// A program with terms rebates only within its period, until closed, and (when it names
    /// merchants) only at those merchants.
    /// A program with tiers (`set_rebate_tiers`) rebates at the rate of the highest tier the
    /// resident's coin spend at merchants this month reaches, this payment included.
    private func applyRebates(coinPaid: Amount, payer: PublicKey, merchant: PublicKey, category: String, context: BlockContext, overlay: inout StateOverlay) throws {
        let programs = try overlay.rebatePrograms()
        guard !programs.isEmpty else { return }
        let month = CivilTime.japanYearMonth(milliseconds: context.calendarTime)
        let tiered = try noteMonthlySpend(coinPaid: coinPaid, payer: payer, yearMonth: month, overlay: &overlay)
        for id in programs {
            guard let program = try overlay.program(id), let rule = program.definition.rebate, var rate = rule.rate(for: category) else { continue }
            if let tiered, let tiers = tiered.tiers.first(where: { $0.program == id }) {
                guard let tierRate = tiers.rate(forMonthlySpend: tiered.spend) else { continue }
                rate = tierRate
            }
            if let terms = try overlay.programTerms(id), !(terms.applies(at: context.timestamp) && terms.covers(merchant)) { continue }
            // A rebate from a program past its use-by date would be a lot that is already expired.
            guard LedgerCalendar.expiry(program.definition.expiry, from: context.calendarTime) > context.calendarTime else { continue }
            let full = coinPaid.multipliedFullWidth(by: UInt64(rate))
            guard full.high == 0 else { continue }
            var rebate = full.low / 10_000
            let monthKey = StateKey.rebateMonth(id, payer, month)
            let thisMonth = try overlay.amount(monthKey)
            rebate = min(rebate, rule.monthlyCapPerResidentYen.subtracting(thisMonth) ?? 0)
            rebate = min(rebate, program.remaining)
            let received = try overlay.amount(StateKey.programResident(id, payer))
            rebate = min(rebate, program.definition.perResidentCapYen.subtracting(received) ?? 0)
            guard let account = try overlay.account(payer) else { continue }
            rebate = min(rebate, genesis.point.holderCapYen.subtracting(account.point) ?? 0)
            guard rebate > 0 else { continue }
            try mint(program: id, to: payer, amount: rebate, context: context, overlay: &overlay)
            try overlay.addAmount(monthKey, rebate)
        }
    }

    /// `thank`: thank-you points from one resident to another, never to oneself. The lots
    /// move with their program and expiry.
    func thank(_ body: Thank, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard body.to != signer else { throw TransactionError(.selfTransfer, "thanks cannot be given to oneself") }
        guard body.amount > 0 else { throw TransactionError(.invalidAmount, "thanks must be at least 1") }
        guard var sender = try overlay.account(signer) else { throw TransactionError(.unknownAccount, "the sender is not registered") }
        guard sender.role != .card else { throw TransactionError(.cardCannotSend, "a card pays merchants only; it cannot give thanks") }
        guard sender.role == .resident else { throw TransactionError(.wrongRole, "only residents give thanks") }
        guard var recipient = try overlay.account(body.to) else { throw TransactionError(.unknownAccount, "\(body.to.address) is not registered") }
        guard recipient.role.holdsResidentValue else { throw TransactionError(.wrongRole, "thanks go to residents (or their cards) only") }
        guard !recipient.frozen else { throw TransactionError(.frozen, "the recipient's account is frozen") }
        let policy = genesis.thanks
        guard body.amount <= policy.sendLimitPerTransactionYen else {
            throw TransactionError(.sendLimitExceeded, "\(body.amount) is over the per-thank limit of \(policy.sendLimitPerTransactionYen)")
        }
        let monthKey = StateKey.monthlySent(signer, asset: .thanks, yearMonth: CivilTime.japanYearMonth(milliseconds: context.calendarTime))
        let sentThisMonth = try overlay.amount(monthKey)
        guard let monthTotal = sentThisMonth.adding(body.amount), monthTotal <= policy.sendLimitPerMonthYen else {
            throw TransactionError(.monthlySendLimitExceeded, "\(sentThisMonth) thanks already given this month; \(body.amount) more is over the monthly limit of \(policy.sendLimitPerMonthYen)")
        }
        guard sender.thanks >= body.amount else {
            throw TransactionError(.insufficientBalance, "thanks balance \(sender.thanks) is less than \(body.amount)")
        }
        guard let recipientBalance = recipient.thanks.adding(body.amount), recipientBalance <= policy.holderCapYen else {
            throw TransactionError(.holderCapExceeded, "the recipient's thanks would exceed the cap of \(policy.holderCapYen)")
        }
        let (senderHeld, recipientHeld) = (try overlay.lots(signer, .thanks), try overlay.lots(body.to, .thanks))
        var (senderLots, recipientLots) = (senderHeld, recipientHeld)
        for piece in senderLots.take(body.amount) { try recipientLots.add(piece) }
        overlay.setLots(signer, .thanks, senderLots, replacing: senderHeld)
        overlay.setLots(body.to, .thanks, recipientLots, replacing: recipientHeld)
        sender.thanks -= body.amount
        recipient.thanks = recipientBalance
        overlay.setAccount(signer, sender)
        overlay.setAccount(body.to, recipient)
        overlay.setAmount(monthKey, monthTotal)
    }

    /// `redeem`: a merchant cashes out everything received. Coins are owed by the coin
    /// issuer (who holds the yen), points by each lot's funder; the fee is withheld per the
    /// asset's policy, or at its merchant category's fee when an amendment in force sets one
    /// (ADR 0021). The settlement record says who owes what.
    func redeem(_ body: Redeem, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        guard var merchant = try overlay.account(signer) else { throw TransactionError(.unknownAccount, "the merchant is not registered") }
        guard merchant.role == .merchant || merchant.role == .organisation else { throw TransactionError(.wrongRole, "only merchants and organisations redeem") }
        guard merchant.coin > 0 || merchant.point > 0 else {
            throw TransactionError(.nothingToRedeem, "the merchant holds nothing to redeem")
        }
        func fee(_ gross: Amount, _ basisPoints: UInt32) -> Amount {
            gross.multipliedFullWidth(by: UInt64(basisPoints)).low / 10_000
        }
        var lines: [SettlementRecord.Line] = []
        if merchant.coin > 0 {
            lines.append(.init(asset: .coin, funder: genesis.authorities.coinIssuer, gross: merchant.coin, fee: fee(merchant.coin, genesis.redemptionFeeBasisPoints(.coin, category: merchant.merchantCategory))))
        }
        if merchant.point > 0 {
            let prefix = [StateKey.receivablePrefix] + signer.bytes
            // Receivables are written by payments in this block too: read every funder's
            // entry through the overlay, keyed by the funders known from committed state
            // and from this block's writes.
            for funder in try overlay.receivableFunders(prefix: prefix) {
                let key = StateKey.receivable(signer, funder)
                let gross = try overlay.amount(key)
                guard gross > 0 else { continue }
                lines.append(.init(asset: .point, funder: funder, gross: gross, fee: fee(gross, genesis.redemptionFeeBasisPoints(.point, category: merchant.merchantCategory))))
                overlay.setAmount(key, 0)
            }
            let total = lines.filter { $0.asset == .point }.reduce(0) { $0 + $1.gross }
            guard total == merchant.point else {
                throw LedgerInconsistency("merchant \(signer.address) holds \(merchant.point) points but its receivables sum to \(total)")
            }
        }
        for asset in [Asset.coin, .point] {
            let gross = lines.filter { $0.asset == asset }.reduce(0) { $0 + $1.gross }
            guard gross > 0 else { continue }
            var supply = try overlay.supply(asset)
            supply.redeemed += gross
            overlay.setSupply(asset, supply)
        }
        let countKey = StateKey.settlementCount(signer)
        let sequence = try overlay.amount(countKey)
        overlay.setAmount(countKey, sequence + 1)
        let record = SettlementRecord(merchant: signer, sequence: sequence, timestamp: context.timestamp, reference: body.reference, lines: lines)
        overlay.set(StateKey.settlement(signer, sequence), record.canonicalBytes)
        merchant.coin = 0
        merchant.point = 0
        overlay.setAccount(signer, merchant)
    }

    /// Coins from one account to another at block time, the accounts' roles and states
    /// checked by the caller (business payments, payments to organisations): refused when the
    /// payer holds less than `amount` (`shortfall` says why, given what it holds) or the
    /// payee's balance would overflow; both balances restart their coin expiry.
    func moveCoins(
        _ amount: Amount, from payer: (key: PublicKey, account: AccountState), to payee: (key: PublicKey, account: AccountState), payeeName: String,
        context: BlockContext, overlay: inout StateOverlay, shortfall: (_ held: Amount) -> String
    ) throws {
        var (payerAccount, payeeAccount) = (payer.account, payee.account)
        guard payerAccount.coin >= amount else { throw TransactionError(.insufficientBalance, shortfall(payerAccount.coin)) }
        guard let balance = payeeAccount.coin.adding(amount) else { throw TransactionError(.overflow, "the \(payeeName)'s balance overflows") }
        overlay.setCoin(payer.key, &payerAccount, to: payerAccount.coin - amount, at: context.timestamp, rule: genesis.coin.expiry)
        overlay.setCoin(payee.key, &payeeAccount, to: balance, at: context.timestamp, rule: genesis.coin.expiry)
        overlay.setAccount(payer.key, payerAccount)
        overlay.setAccount(payee.key, payeeAccount)
    }
}
