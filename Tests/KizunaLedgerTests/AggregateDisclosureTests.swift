import Testing
import KizunaCore
import KizunaWallet
import KizunaLedger
import KizunaChain

/// The aggregates' disclosure rule (docs/api.md, "Aggregates"; issue 17): the differencing
/// attack — two queries that differ by one payment — must reveal no group of fewer than the
/// threshold of residents.
@Suite struct AggregateDisclosureTests {
    /// One payment as the test knows it: the ground truth the published cells are checked against.
    struct Payment {
        var day: UInt32
        var keys: [String]  // category, hour, district, age band
        var resident: Int
        var yen: UInt64
    }

    /// A day's four breakdowns, in the order of `Payment.keys`.
    static func breakdowns(_ day: ChainReports.Day) -> [[ChainReports.Group]] { [day.byMerchantCategory, day.byHour, day.byDistrict, day.byAgeBand] }

    /// Day 1 (1 April): 24 residents pay at a restaurant at 10:00 and one of them also at a
    /// bookstore at 15:00 — a group of one in the category and the hour breakdowns. Day 2: one
    /// payment (a day of one resident). Day 3: one block that closes day 2.
    static func chain() throws -> (ChainHarness, [Payment]) {
        let chain = try ChainHarness()
        let chainId = chain.genesis.chainId
        var registrar = TransactionBuilder(chainId: chainId, key: Fixture.registrarKey, nextNonce: 0)
        var issuer = TransactionBuilder(chainId: chainId, key: Fixture.coinIssuerKey, nextNonce: 0)
        var residents = (0..<24).map { TransactionBuilder(chainId: chainId, key: Fixture.account($0), nextNonce: 0) }
        let restaurant = Fixture.account(40).publicKey, bookstore = Fixture.account(41).publicKey
        var time = Fixture.time("2026-04-01T09:00:00+09:00")
        try chain.produce(residents.enumerated().map { index, resident in
            registrar.register(resident.key.publicKey, role: .resident, district: index < 12 ? "north" : "south", ageBand: UInt8(index % 2))
        } + [
            registrar.register(restaurant, role: .merchant, merchantCategory: "restaurant"),
            registrar.register(bookstore, role: .merchant, merchantCategory: "bookstore"),
        ], timestamp: time)
        time += 60_000
        try chain.produce(residents.enumerated().map { index, resident in
            issuer.charge(to: resident.key.publicKey, amount: 10_000, receiptId: "aggregate-\(index)")
        }, timestamp: time)
        var payments: [Payment] = []
        // 10:00, one block per resident so that each height adds one payment.
        time = Fixture.time("2026-04-01T10:00:00+09:00")
        for index in residents.indices {
            try chain.produce([residents[index].pay(merchant: restaurant, amount: UInt64(500 + index))], timestamp: time)
            payments.append(Payment(day: 20260401, keys: ["restaurant", "10", index < 12 ? "north" : "south", "\(index % 2)"], resident: index, yen: UInt64(500 + index)))
            time += 1000
        }
        time = Fixture.time("2026-04-01T15:00:00+09:00")
        try chain.produce([residents[4].pay(merchant: bookstore, amount: 2_345)], timestamp: time)
        payments.append(Payment(day: 20260401, keys: ["bookstore", "15", "north", "0"], resident: 4, yen: 2_345))
        time = Fixture.time("2026-04-02T11:00:00+09:00")
        try chain.produce([residents[7].pay(merchant: bookstore, amount: 777)], timestamp: time)
        payments.append(Payment(day: 20260402, keys: ["bookstore", "11", "south", "1"], resident: 7, yen: 777))
        try chain.produce([], timestamp: Fixture.time("2026-04-03T08:00:00+09:00"))
        return (chain, payments)
    }

    @Test func noPairOfQueriesRevealsASmallGroup() throws {
        let (chain, payments) = try Self.chain()
        let threshold = ChainReports.minimumResidentsPerGroup
        let tip = try chain.blocks.tipHeight()
        let days: [UInt32] = [20260331, 20260401, 20260402, 20260403]
        // Every height × every range: the attacker's whole menu of queries.
        var answers: [ChainReports.Aggregates] = []
        for height in 1...tip {
            for (fromIndex, from) in days.enumerated() {
                for to in days[fromIndex...] {
                    answers.append(try ChainReports.paymentAggregates(blocks: chain.blocks, height: height, fromDay: from, toDay: to))
                }
            }
        }
        // 1. Every published cell is a group of at least the threshold, and matches the truth.
        var published: [String: ChainReports.Group] = [:]
        for answer in answers {
            for day in answer.days {
                #expect(day.day <= answer.closedThroughDay!, "day \(day.day) published while still open")
                let truthOfDay = payments.filter { $0.day == day.day }
                for (dimension, groups) in Self.breakdowns(day).enumerated() {
                    for group in groups {
                        let truth = truthOfDay.filter { $0.keys[dimension] == group.key }
                        if !group.suppressed {
                            #expect(group.residents! >= threshold)
                            #expect(group.residents == Set(truth.map(\.resident)).count)
                            #expect(group.yen == truth.reduce(0) { $0 + $1.yen })
                        } else {
                            #expect(group.payments == nil && group.yen == nil && group.residents == nil)
                        }
                        // 2. A cell is the same in every answer that publishes it: a pair of
                        // queries differs by whole cells only, never by part of one.
                        let id = "\(day.day)/\(dimension)/\(group.key)"
                        if let earlier = published[id] { #expect(earlier == group, "\(id) differs between two queries") }
                        published[id] = group
                    }
                }
                // 3. What the day's total minus a breakdown's visible cells reveals — the
                // suppressed cells together — is a group of at least the threshold.
                if !day.total.suppressed {
                    #expect(day.total.residents! >= threshold)
                    for (dimension, groups) in Self.breakdowns(day).enumerated() {
                        let hiddenKeys = Set(groups.filter { $0.suppressed }.map(\.key))
                        let hidden = Set(truthOfDay.filter { hiddenKeys.contains($0.keys[dimension]) }.map(\.resident))
                        #expect(hidden.isEmpty || hidden.count >= threshold, "day \(day.day), breakdown \(dimension): total − visible cells reveals \(hidden.count) residents")
                    }
                } else {
                    // A day of fewer residents than the threshold publishes no figure at all.
                    for groups in Self.breakdowns(day) { #expect(groups.allSatisfy { $0.suppressed }) }
                }
            }
        }
        // The attack of issue 17: heights h and h+1 differ by one payment of 1 April. While
        // that day is open nothing of it is published; once closed, it is one fixed answer.
        let open = try ChainReports.paymentAggregates(blocks: chain.blocks, height: 26, fromDay: 20260401, toDay: 20260401)
        #expect(open.days.isEmpty)
        #expect(open.closedThroughDay == 20260331)
        let closed = try ChainReports.paymentAggregates(blocks: chain.blocks, fromDay: 20260401, toDay: 20260401)
        let first = try #require(closed.days.first)
        #expect(first.total.residents == 24 && first.total.payments == 25)
        // The bookstore (one resident) is suppressed, and so is the restaurant, since
        // total − restaurant would otherwise give the bookstore's payment.
        #expect(first.byMerchantCategory.map(\.suppressed) == [true, true])
        #expect(first.byHour.map(\.suppressed) == [true, true])
        // Districts and age bands have no small group: all visible.
        #expect(first.byDistrict.allSatisfy { !$0.suppressed })
        #expect(first.byAgeBand.allSatisfy { !$0.suppressed })
        // Day 2 (one resident) is closed by day 3's block and entirely suppressed.
        #expect(closed.closedThroughDay == 20260402)
        let second = try ChainReports.paymentAggregates(blocks: chain.blocks, fromDay: 20260402, toDay: 20260403)
        #expect(second.days.map(\.day) == [20260402])
        #expect(second.days.first?.total.suppressed == true)
    }

    @Test func dayBefore() {
        #expect(LedgerCalendar.dayBefore(20260301) == 20260228)
        #expect(LedgerCalendar.dayBefore(20240301) == 20240229)
        #expect(LedgerCalendar.dayBefore(20260101) == 20251231)
        #expect(LedgerCalendar.dayBefore(19700101) == nil)
        #expect(LedgerCalendar.dayBefore(20260231) == nil)
    }
}
