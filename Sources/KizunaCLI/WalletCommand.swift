import ArgumentParser
import Foundation
import KizunaCore
import KizunaWallet

/// `kizuna wallet …`: a wallet on top of the KizunaWallet library. It asks the node for the
/// chain id and (with a signed request) the signer's next nonce, signs, submits and waits for
/// the commit.
struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "A wallet: create a key, read your balance and history, pay, send, thank — and the authorities' actions.",
        discussion: """
        Reads go to the node's API with a request signed by your key (docs/api.md §3), so a \
        wallet sees only its own account. Transactions are signed locally and submitted with \
        ?wait=commit; the nonce is read from the node unless --nonce is given.
        """,
        subcommands: [
            Create.self, Balance.self, History.self, Pay.self, Authorise.self, Collect.self, Send.self, Thank.self,
            Register.self, Charge.self, CreateProgramCommand.self, Grant.self, Redeem.self, Refund.self,
            AppointDelegateCommand.self, RevokeDelegateCommand.self, SetProgramTermsCommand.self, TopUpProgramCommand.self, CloseProgramCommand.self, Freeze.self, Unfreeze.self, Recover.self,
            PayBusinessCommand.self, InvoiceCommand.self, ConsentCommand.self,
            SetPremiumCommand.self, SetEventBonusCommand.self, PayPublicCommand.self, StandingOrderCommand.self,
            SetRebateTiersCommand.self,
        ]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The node's API base URL.") var node: String = "http://127.0.0.1:8080"
        @Option(help: "Your key file.") var key: String

        func client() throws -> NodeClient {
            guard let url = URL(string: node) else { throw ValidationError("--node '\(node)' is not a URL") }
            return NodeClient(baseURL: url)
        }

        func privateKey() throws -> PrivateKey { try KeyFile.load(path: key) }

        /// A client whose reads are signed by your key (a wallet sees only its own account), and the key.
        func signedReader() async throws -> (client: NodeClient, key: PrivateKey) {
            let client = try self.client()
            let key = try privateKey()
            let chainId = try await self.chainId(client)
            return (client.authenticated(.signed(RequestSigner(chainId: chainId, key: key))), key)
        }

        func chainId(_ client: NodeClient) async throws -> String {
            let reply = try await client.status()
            guard reply.isSuccess, let chainId = reply.json?["chainId"] as? String else { throw NodeClient.ClientError(reply: reply) }
            return chainId
        }

        /// The `--chain-id` given, or else the node's (asked with `client`, by default a new one).
        func chainId(given: String?, client: NodeClient? = nil) async throws -> String {
            if let given { return given }
            return try await chainId(try client ?? self.client())
        }

        /// A signed read: prints the node's answer, and exits 1 unless it is a success.
        func printSignedRead(_ read: (NodeClient, PrivateKey) async throws -> NodeClient.Reply) async throws {
            let (client, key) = try await signedReader()
            let reply = try await read(client, key)
            print(reply.text)
            if !reply.isSuccess { throw ExitCode(1) }
        }
    }

    struct Submission: ParsableArguments {
        @OptionGroup var connection: Connection
        @Option(help: "The signer's next nonce (default: read from the node, after its pending transactions there); a pending transaction's nonce replaces it.") var nonce: UInt64?
        @Option(help: "The chain id (default: read from the node's status).") var chainId: String?
        @Flag(help: "Return as soon as the node accepts it, without waiting for the commit.") var noWait = false

        /// Signs `body` (with any co-signers) and submits it; prints the node's answer.
        func submit(cosigners: [PrivateKey] = [], _ body: (PrivateKey) throws -> TransactionBody) async throws {
            let client = try connection.client()
            let key = try connection.privateKey()
            let chainId = try await connection.chainId(given: self.chainId, client: client)
            let signer = RequestSigner(chainId: chainId, key: key)
            let next: UInt64
            if let nonce { next = nonce } else { next = try await client.authenticated(.signed(signer)).nextNonce(of: key.publicKey) }
            var builder = TransactionBuilder(chainId: chainId, key: key, nextNonce: next)
            let transaction = builder.sign(try body(key), cosigners: cosigners)
            let reply = try await client.submit(transaction, waitForCommit: !noWait)
            try SubmissionOutcome.finish(reply, waited: !noWait)
        }
    }

    // MARK: - Resident

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new key file (mode 0600) and print its address.")
        @Option(help: "Where to write the key file (never overwritten).") var out: String
        @Option(help: "A note stored in the key file.") var note: String?

        func run() throws {
            let key = PrivateKey()
            try KeyFile(key: key, note: note).write(path: out)
            print(key.publicKey.address)
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show your role, nonce, balances, lots and expiry (a signed read).")
        @OptionGroup var connection: Connection
        @Flag(help: "Print the node's JSON.") var json = false

        func run() async throws {
            let (client, key) = try await connection.signedReader()
            let reply = try await client.account(key.publicKey)
            guard reply.isSuccess, let account = reply.json, !json else {
                print(reply.text)
                if !reply.isSuccess { throw ExitCode(1) }
                return
            }
            print("\(key.publicKey.address): \(account["role"] ?? "?"), nonce \(account["nonce"] ?? "?"), frozen \(account["frozen"] ?? "?")")
            for balance in account["balances"] as? [[String: Any]] ?? [] {
                let expiry = (balance["expiresAtText"] as? String).map { ", expires \($0)" } ?? ""
                print("  \(balance["asset"] ?? "?"): \(balance["amount"] ?? 0)\(expiry)")
                for lot in balance["lots"] as? [[String: Any]] ?? [] {
                    print("    lot of program \(lot["program"] ?? "?"): \(lot["amount"] ?? 0), expires \(lot["expiresAtText"] as? String ?? "never")")
                }
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show your transactions, newest first (a signed read; JSON).")
        @OptionGroup var connection: Connection
        @Option(help: "Transactions per page.") var limit: Int = 20
        @Option(help: "Continue after the previous page: its nextBefore (height:index), or a block height (only blocks below it).") var before: String?

        func run() async throws {
            try await connection.printSignedRead { client, key in try await client.history(key.publicKey, limit: limit, before: before) }
        }
    }

    struct Authorise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a short-lived payment code (kizuna-pay:…) for a store to scan and collect up to a cap.",
            discussion: "Nothing is submitted: the merchant collects with `kizuna wallet collect`. The code can be used once, until it expires; show it as a QR code."
        )
        @OptionGroup var connection: Connection
        @Option(help: "The chain id (default: read from the node's status).") var chainId: String?
        @Option(help: "The only merchant that may collect (default: any merchant).") var merchant: String?
        @Option(help: "The most the merchant may collect, in yen.") var cap: UInt64
        @Option(help: "How long the code holds, in seconds (at most 600).") var seconds: UInt64 = PaymentCode.defaultLifetimeSeconds
        @Option(help: "Also write the QR code as an SVG image to this path.") var svg: String?
        @Flag(help: "Also draw the QR code in the terminal (for a dark terminal background).") var qr = false

        func run() async throws {
            let key = try connection.privateKey()
            let chainId = try await connection.chainId(given: self.chainId)
            let merchant = try self.merchant.map { try WalletCommand.account($0, "merchant") }
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            let text = try refusingAsUsage {
                PaymentCode.text(try PaymentCode.authorise(chainId: chainId, key: key, merchant: merchant, capYen: cap, now: now, lifetimeSeconds: seconds))
            }
            print(text)
            guard svg != nil || qr else { return }
            guard let symbol = QRCode.encode(text: text) else { throw ValidationError("the payment code is too long for a QR code") }
            try symbol.show(svg: svg, draw: qr)
        }
    }

    struct Collect: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Merchant: collect a payment a resident authorised with a payment code (your key is the payee).")
        @OptionGroup var submission: Submission
        @Option(help: "The scanned payment code (kizuna-pay:…).") var authorisation: String
        @Option(help: "Amount in yen (at most the code's cap).") var amount: UInt64

        func body() throws -> TransactionBody {
            let code: SignedPaymentAuthorisation
            do { code = try PaymentCode.parse(authorisation) } catch { throw ValidationError("--authorisation: \(error)") }
            return .payAuthorised(PayAuthorised(authorisation: code, amount: amount))
        }
    }

    struct Pay: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Pay a merchant (points first, soonest-expiring, then coins).")
        @OptionGroup var submission: Submission
        @Option(help: "The merchant's address.") var merchant: String
        @Option(help: "Amount in yen.") var amount: UInt64

        func body() throws -> TransactionBody {
            let merchant = try WalletCommand.account(self.merchant, "merchant")
            return .pay(KizunaCore.Pay(merchant: merchant, amount: amount))
        }
    }

    struct Send: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Send coins to another resident.")
        @OptionGroup var submission: Submission
        @Option(help: "The recipient's address.") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64

        func body() throws -> TransactionBody {
            let to = try WalletCommand.account(self.to, "to")
            return .send(KizunaCore.Send(to: to, amount: amount))
        }
    }

    struct Thank: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Give thank-you points to another resident.")
        @OptionGroup var submission: Submission
        @Option(help: "The resident's address.") var to: String
        @Option(help: "Thanks to give.") var amount: UInt64

        func body() throws -> TransactionBody {
            let to = try WalletCommand.account(self.to, "to")
            return .thank(KizunaCore.Thank(to: to, amount: amount))
        }
    }

    // MARK: - Authorities

    struct Register: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Register an account (the registrar's key).")
        @OptionGroup var submission: Submission
        @Option(help: "Address of the new account.") var account: String
        @Option(help: "resident, merchant, card, visitor or organisation.") var role: String = "resident"
        @Option(help: "Merchant category (merchants); public or club (organisations).") var category: String?
        @Option(help: "District (opt-in).") var district: String?
        @Option(help: "Age band 0–6 (opt-in).") var ageBand: UInt8?
        @Option(help: "Resident ID, hashed with --salt before it goes on chain (opt-in).") var residentId: String?
        @Option(help: "Hex salt for --resident-id.") var salt: String?

        func body() throws -> TransactionBody {
            let role: Role = switch self.role {
            case "resident": .resident
            case "merchant": .merchant
            case "card": .card
            case "visitor": .visitor
            case "organisation": .organisation
            default: throw ValidationError("--role must be resident, merchant, card, visitor or organisation (a card's key is the custodian's: see kizuna card issue)")
            }
            var residentIdHash: Hash?
            if let residentId {
                guard let salt, let saltBytes = [UInt8](hex: salt), !saltBytes.isEmpty else { throw ValidationError("--resident-id needs a hex --salt") }
                residentIdHash = TransactionBuilder.residentIdHash(residentId: residentId, salt: saltBytes)
            }
            let account = try WalletCommand.account(self.account, "account")
            return .register(KizunaCore.Register(account: account, role: role, merchantCategory: category, residentIdHash: residentIdHash, district: district, ageBand: ageBand))
        }
    }

    struct Charge: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Charge coins to a resident for yen received (the coin issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The resident's address.") var to: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "Receipt id; a receipt is charged once.") var receipt: String
        @Option(help: "app or charge_machine.") var channel: String = "app"
        @Option(help: "Instead of --channel: a channel id of the genesis chargeChannels (charge_extended).") var channelId: UInt8?
        @Option(help: "A premium sale (program id) the charge buys into (charge_extended).") var premiumProgram: UInt64?

        func body() throws -> TransactionBody {
            let channel = try WalletCommand.named(self.channel, \ChargeChannel.name, else: "--channel must be app or charge_machine (or give --channel-id)")
            let to = try WalletCommand.account(self.to, "to")
            if channelId != nil || premiumProgram != nil {
                return .chargeExtended(ChargeExtended(to: to, amount: amount, channel: channelId ?? channel.rawValue, receiptId: receipt, premiumProgram: premiumProgram))
            }
            return .charge(KizunaCore.Charge(to: to, amount: amount, channel: channel, receiptId: receipt))
        }
    }

    struct CreateProgramCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-program", abstract: "Create a points or thanks program (the city's or the coin issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "point or thanks.") var asset: String = "point"
        @Option(help: "The program's name.") var name: String
        @Option(help: "Who funds it (address; default: the signer).") var funder: String?
        @Option(help: "Budget in yen.") var budget: UInt64
        @Option(help: "Lots expire at the end of the month this many months after the grant (0: never).") var expiryMonths: UInt32 = 6
        @Option(help: "Instead: a fixed use-by date (Japan time, YYYY-MM-DD) for every lot; lots expire at 00:00 the next day.") var useBy: String?
        @Option(help: "The most one resident may receive, in yen.") var perResidentCap: UInt64
        @Option(help: "A rebate rate of a point campaign, CATEGORY:BASIS_POINTS (repeat; 1000 = 10%); with --rebate-monthly-cap.") var rebate: [String] = []
        @Option(help: "The most rebate one resident earns in a Japan-time month, in yen.") var rebateMonthlyCap: UInt64?

        func run() async throws {
            guard let asset = Asset(name: self.asset), asset != .coin else { throw ValidationError("--asset must be point or thanks") }
            let rebate = try WalletCommand.rebateRule(rates: self.rebate, monthlyCap: rebateMonthlyCap)
            let funder = try self.funder.map { try WalletCommand.account($0, "funder") }
            var expiry = expiryMonths == 0 ? ExpiryRule(kind: .never, months: 0) : ExpiryRule(kind: .endOfMonthAfterGrant, months: expiryMonths)
            if let useBy {
                let parts = useBy.split(separator: "-").compactMap { Int($0) }
                guard parts.count == 3, case let rule = ExpiryRule.useBy(year: parts[0], month: parts[1], day: parts[2]), rule.useByDay != nil else {
                    throw ValidationError("--use-by '\(useBy)' is not a date YYYY-MM-DD")
                }
                expiry = rule
            }
            try await submission.submit { key in
                .createProgram(CreateProgram(asset: asset, name: name, funder: funder ?? key.publicKey, budgetYen: budget, expiry: expiry, perResidentCapYen: perResidentCap, rebate: rebate))
            }
        }
    }

    struct Grant: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Grant points or thanks from a program (its issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "The resident's address.") var to: String
        @Option(help: "Amount.") var amount: UInt64

        func body() throws -> TransactionBody {
            let to = try WalletCommand.account(self.to, "to")
            return .grant(KizunaCore.Grant(program: program, to: to, amount: amount))
        }
    }

    struct Redeem: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Cash out everything the merchant received (the merchant's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The payout reference (e.g. the bank transfer id).") var reference: String

        func body() throws -> TransactionBody {
            .redeem(KizunaCore.Redeem(reference: reference))
        }
    }

    struct Refund: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refund a resident's coins in yen (the coin issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The resident's address.") var account: String
        @Option(help: "Amount in yen.") var amount: UInt64
        @Option(help: "moved_away, deceased, service_termination (exempt from the statutory limit: need --city-key) or other.") var reason: String
        @Option(help: "The city's key file: the co-signer an exempt reason needs.") var cityKey: String?

        func run() async throws {
            let reason = try WalletCommand.named(self.reason, \RefundReason.name, else: "--reason must be one of \(RefundReason.allCases.map(\.name).joined(separator: ", "))")
            guard !reason.isExempt || cityKey != nil else {
                throw ValidationError("--reason \(reason.name) is exempt from the statutory limit and needs the city's co-signature: give --city-key")
            }
            let cosigners = try cityKey.map { [try KeyFile.load(path: $0)] } ?? []
            let account = try WalletCommand.account(self.account, "account")
            try await submission.submit(cosigners: cosigners) { _ in .refund(KizunaCore.Refund(account: account, amount: amount, reason: reason)) }
        }
    }

    struct AppointDelegateCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(
            commandName: "appoint-delegate",
            abstract: "Let another key grant from a program within limits of its own (the program issuer's key).",
            discussion: "Appointing a key that is already a delegate of the program replaces its terms (and ends a revocation); what it granted still counts."
        )
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "The delegate's address (a key of its own: not a resident's, merchant's or authority's).") var delegate: String
        @Option(help: "The most the delegate may grant in all, in yen (≤ the program's budget).") var budget: UInt64
        @Option(help: "The most the delegate may grant one resident, in yen (≤ the program's per-resident cap).") var perResidentCap: UInt64
        @Option(help: "The most the delegate may grant in one Japan-time day, in yen.") var perDayCap: UInt64
        @Option(help: "When the appointment lapses, RFC 3339 (e.g. 2027-03-31T23:59:59+09:00); default: until revoked.") var expires: String?

        func body() throws -> TransactionBody {
            let delegate = try WalletCommand.account(self.delegate, "delegate")
            let expiresAt = try WalletCommand.time(expires, "expires", absent: UInt64.max)
            let appointment = AppointDelegate(program: program, delegate: delegate, budgetYen: budget, perResidentCapYen: perResidentCap, perDayCapYen: perDayCap, expiresAt: expiresAt)
            return .appointDelegate(appointment)
        }
    }

    struct RevokeDelegateCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-delegate", abstract: "End a delegate's appointment to a program at once (the program issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "The delegate's address.") var delegate: String

        func body() throws -> TransactionBody {
            let delegate = try WalletCommand.account(self.delegate, "delegate")
            return .revokeDelegate(RevokeDelegate(program: program, delegate: delegate))
        }
    }

    struct SetProgramTermsCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-program-terms",
            abstract: "Set when a program grants and rebates, and which merchants its rebate covers (the program issuer's key).",
            discussion: "Times are RFC 3339 (e.g. 2027-02-01T00:00:00+09:00) and compared with block time. Setting terms again replaces them."
        )
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "From when (default: from creation).") var starts: String?
        @Option(help: "Until when, exclusive (default: no end).") var ends: String?
        @Option(help: "A merchant the rebate covers (repeat; default: every merchant of its categories).") var merchant: [String] = []

        func body() throws -> TransactionBody {
            let merchants = try merchant.map { try WalletCommand.account($0, "merchant") }
            let terms = SetProgramTerms(
                program: program, startsAt: try WalletCommand.time(starts, "starts", absent: 0), endsAt: try WalletCommand.time(ends, "ends", absent: UInt64.max), merchants: merchants
            )
            guard Set(terms.merchants).count == terms.merchants.count else { throw ValidationError("--merchant names a merchant twice") }
            return .setProgramTerms(terms)
        }
    }

    struct TopUpProgramCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "top-up-program", abstract: "Add to a program's budget (the program issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64
        @Option(help: "Yen to add to the budget.") var amount: UInt64

        func body() throws -> TransactionBody {
            .topUpProgram(TopUpProgram(program: program, amountYen: amount))
        }
    }

    struct CloseProgramCommand: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(commandName: "close-program", abstract: "Close a program for good: no more grants or rebates (the program issuer's key).")
        @OptionGroup var submission: Submission
        @Option(help: "Program id.") var program: UInt64

        func body() throws -> TransactionBody {
            .closeProgram(CloseProgram(program: program))
        }
    }

    struct Freeze: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Freeze an account: lost phone or card (the registrar's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The account's address.") var account: String

        func body() throws -> TransactionBody {
            let account = try WalletCommand.account(self.account, "account")
            return .freeze(AccountAction(account: account))
        }
    }

    struct Unfreeze: WalletSubmittingCommand {
        static let configuration = CommandConfiguration(abstract: "Unfreeze an account (the registrar's key).")
        @OptionGroup var submission: Submission
        @Option(help: "The account's address.") var account: String

        func body() throws -> TransactionBody {
            let account = try WalletCommand.account(self.account, "account")
            return .unfreeze(AccountAction(account: account))
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a frozen account's value to a new registered key (the registrar's key, co-signed with the city's).")
        @OptionGroup var submission: Submission
        @Option(help: "The city's key file (the co-signer).") var cityKey: String
        @Option(help: "The frozen account.") var from: String
        @Option(help: "The new, registered account.") var to: String

        func run() async throws {
            let city = try KeyFile.load(path: cityKey)
            let from = try WalletCommand.account(self.from, "from")
            let to = try WalletCommand.account(self.to, "to")
            try await submission.submit(cosigners: [city]) { _ in .recover(KizunaCore.Recover(from: from, to: to)) }
        }
    }
}
