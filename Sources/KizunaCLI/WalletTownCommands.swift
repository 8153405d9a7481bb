import ArgumentParser
import KizunaCore
import KizunaWallet

/// `kizuna wallet set-premium`, `set-event-bonus`, `pay-public` and `standing-order …`
/// (issue 18). A premium charge is `kizuna wallet charge --premium-program`; a campaign's
/// rebate rule is `create-program --rebate` (parsed here).
extension WalletCommand {
    struct SetPremiumCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "set-premium", abstract: "Make a point program a premium sale (the program issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The program id.") var program: UInt64
        @Option(help: "The charge unit in yen (only whole units earn a premium).") var unit: UInt64
        @Option(help: "A fixed premium per unit, in yen (e.g. 5 per 1000).") var perUnit: UInt64 = 0
        @Option(help: "Or a rate in basis points (2000 = 20%).") var rateBasisPoints: UInt32 = 0

        func body() throws -> TransactionBody {
            let rule = PremiumRule(unitYen: unit, premiumPerUnitYen: perUnit, basisPoints: rateBasisPoints)
            return .setPremium(SetPremium(program: program, rule: rule))
        }
    }

    struct SetEventBonusCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "set-event-bonus", abstract: "Grant automatically on each resident's first charge or payment (the program issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The program id.") var program: UInt64
        @Option(help: "first_charge or first_payment.") var event: String
        @Option(help: "The bonus in points (0 turns it off).") var amount: UInt64

        func body() throws -> TransactionBody {
            let event = try WalletCommand.named(self.event, \BonusEvent.name, else: "--event must be first_charge or first_payment")
            return .setEventBonus(SetEventBonus(program: program, event: event, amountYen: amount))
        }
    }

    /// `--rebate CATEGORY:BP` (repeated) and `--rebate-monthly-cap` of `create-program`; nil without rates.
    static func rebateRule(rates: [String], monthlyCap: UInt64?) throws -> RebateRule? {
        guard !rates.isEmpty else {
            guard monthlyCap == nil else { throw ValidationError("--rebate-monthly-cap goes with --rebate") }
            return nil
        }
        guard let monthlyCap else { throw ValidationError("--rebate needs --rebate-monthly-cap") }
        let parsed = try rates.map { text in
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let basisPoints = UInt32(parts[1]) else {
                throw ValidationError("--rebate '\(text)' is not CATEGORY:BASIS_POINTS, e.g. supermarket:500")
            }
            return RebateRule.Rate(merchantCategory: String(parts[0]), basisPoints: basisPoints)
        }
        guard Set(parsed.map(\.merchantCategory)).count == parsed.count else { throw ValidationError("--rebate names a category twice") }
        return RebateRule(rates: parsed, monthlyCapPerResidentYen: monthlyCap)
    }

    static func purpose(_ text: String) throws -> PaymentPurpose {
        try named(text, \PaymentPurpose.name, else: "--purpose must be tax, fee or donation")
    }

    struct PayPublicCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "pay-public", abstract: "Pay a public body or club in coins: a tax, a fee or a donation (a resident's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The organisation paid (kz1…).") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "tax, fee or donation.") var purpose: String
        @Option(help: "Your reference (a tax notice number).") var reference: String = ""

        func body() throws -> TransactionBody {
            let to = try WalletCommand.account(self.to, "to")
            let purpose = try WalletCommand.purpose(self.purpose)
            return .payPublic(PayPublic(to: to, amount: amount, purpose: purpose, reference: reference))
        }
    }

    struct StandingOrderCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "standing-order",
            abstract: "Authorise, collect and cancel standing orders (定期払).",
            discussion: "A standing order's id is the id of its authorise transaction (printed when it commits).",
            subcommands: [Authorise.self, Collect.self, Cancel.self]
        )

        struct Authorise: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(abstract: "Let a payee collect instalments of at most --cap (a resident's key).")
            @OptionGroup var submission: Submission
            @Option(help: "The payee: an organisation or a merchant (kz1…).") var payee: String
            @Option(help: "The most one instalment may take, in yen.") var cap: UInt64
            @Option(help: "tax, fee or donation.") var purpose: String
            @Option(help: "The payee's reference (a contract or tax notice number).") var reference: String = ""
            @Option(help: "The first instalment's month, YYYYMM.") var firstMonth: UInt32
            @Option(help: "The day of the month instalments fall due (1–28).") var day: UInt8
            @Option(help: "Months between instalments (1–12).") var intervalMonths: UInt8 = 1
            @Option(help: "How many instalments (0: until cancelled).") var instalments: UInt32 = 0

            func body() throws -> TransactionBody {
                let payee = try WalletCommand.account(self.payee, "payee")
                let schedule = StandingOrderSchedule(firstMonth: firstMonth, dayOfMonth: day, intervalMonths: intervalMonths, instalments: instalments)
                let order = AuthoriseStandingOrder(payee: payee, capYen: cap, purpose: try WalletCommand.purpose(purpose), reference: reference, schedule: schedule)
                return .authoriseStandingOrder(order)
            }
        }

        struct Collect: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(abstract: "Collect the next due instalment (usually the payee's key; anyone may submit).")
            @OptionGroup var submission: Submission
            @Option(help: "The standing order id (64 hex digits).") var id: String
            @Option(help: "The payer's address (kz1…), as on the order.") var payer: String
            @Option(help: "Amount in yen (at most the order's cap).") var amount: UInt64

            func body() throws -> TransactionBody {
                let order = try WalletCommand.hash(id, "id")
                let payer = try WalletCommand.account(self.payer, "payer")
                return .payInstalment(PayInstalment(order: order, payer: payer, amount: amount))
            }
        }

        struct Cancel: WalletSubmittingCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel a standing order you authorised.")
            @OptionGroup var submission: Submission
            @Option(help: "The standing order id (64 hex digits).") var id: String
            @Option(help: "The payee's address (kz1…), as on the order.") var payee: String

            func body() throws -> TransactionBody {
                let order = try WalletCommand.hash(id, "id")
                let payee = try WalletCommand.account(self.payee, "payee")
                return .cancelStandingOrder(CancelStandingOrder(order: order, payee: payee))
            }
        }
    }
}
