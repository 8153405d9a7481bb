public import KizunaCore

/// Programs as cities run them (issue 18, docs/ledger-rules.md "Live programs"): a period and
/// the merchants a campaign covers, top-ups, and closing. Each is the program issuer's.
extension Ledger {
    /// `set_program_terms`: the program's period and the merchants its rebate covers.
    func setProgramTerms(_ body: SetProgramTerms, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard body.endsAt > body.startsAt else {
            throw TransactionError(.invalidProgram, "the period must end after it starts")
        }
        guard body.endsAt > context.timestamp else {
            throw TransactionError(.invalidProgram, "the period would already be over at this block's time; close the program instead")
        }
        if !body.merchants.isEmpty {
            guard program.definition.rebate != nil else {
                throw TransactionError(.invalidProgram, "only a program with a rebate rule covers named merchants")
            }
            for merchant in body.merchants {
                guard let account = try overlay.account(merchant) else {
                    throw TransactionError(.unknownAccount, "the merchant \(merchant.address) is not registered")
                }
                guard account.role == .merchant else {
                    throw TransactionError(.wrongRole, "\(merchant.address) is a \(account.role.name), not a merchant")
                }
            }
        }
        overlay.setProgramTerms(body.program, ProgramTermsState(terms: body))
    }

    /// `top_up_program`: adds to the program's budget.
    func topUpProgram(_ body: TopUpProgram, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        var program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard body.amountYen > 0 else { throw TransactionError(.invalidAmount, "a top-up must be at least ¥1") }
        guard let budget = program.definition.budgetYen.adding(body.amountYen) else {
            throw TransactionError(.overflow, "the program's budget would not fit in 64 bits")
        }
        program.definition.budgetYen = budget
        overlay.setProgram(program)
        try overlay.addAmount(StateKey.programToppedUp(body.program), body.amountYen)
    }

    /// `close_program`: no more grants or rebates from the program, for good.
    func closeProgram(_ body: CloseProgram, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        _ = try issuedProgram(body.program, signer: signer, overlay: overlay)
        var state = try overlay.programTerms(body.program) ?? ProgramTermsState(terms: SetProgramTerms(program: body.program))
        state.closedAt = context.timestamp
        overlay.setProgramTerms(body.program, state)
    }

    /// The program a change by its issuer names — terms, a top-up, a close, a delegate's
    /// appointment or revocation — if it exists, `signer` is its issuer and it is not the
    /// charge bonus; with `openOnly`, also not closed (a revocation is allowed after a close).
    func issuedProgram(_ id: UInt64, signer: PublicKey, overlay: StateOverlay, openOnly: Bool = true) throws -> ProgramState {
        guard let program = try overlay.program(id) else { throw TransactionError(.unknownProgram, "there is no program \(id)") }
        guard signer == program.issuer else {
            throw TransactionError(.notAuthorised, "only the issuer of program \(id) may change it or appoint its delegates")
        }
        guard id != Ledger.chargeBonusProgram else {
            throw TransactionError(.notAuthorised, "the charge-bonus program follows the genesis policy and grants only through charges")
        }
        if openOnly, let closedAt = try overlay.programTerms(id)?.closedAt {
            throw TransactionError(.programClosed, "program \(id) was closed at \(CivilTime.formatJapan(milliseconds: closedAt))")
        }
        return program
    }

    /// Refuses a grant from a program that is closed or outside its period.
    func checkProgramApplies(_ id: UInt64, context: BlockContext, overlay: StateOverlay) throws {
        guard let state = try overlay.programTerms(id) else { return }
        if let closedAt = state.closedAt {
            throw TransactionError(.programClosed, "program \(id) was closed at \(CivilTime.formatJapan(milliseconds: closedAt))")
        }
        guard state.terms.isInPeriod(context.timestamp) else {
            let when = context.timestamp < state.terms.startsAt
                ? "starts at \(CivilTime.formatJapan(milliseconds: state.terms.startsAt))"
                : "ended at \(CivilTime.formatJapan(milliseconds: state.terms.endsAt))"
            throw TransactionError(.programNotActive, "program \(id) \(when)")
        }
    }
}
