public import KizunaCore

/// Delegated grant keys (issue 18, docs/ledger-rules.md §"Delegates"): a program's issuer
/// appoints a key — a participation platform — that may grant from that one program within
/// its own budget, per-resident cap, per-day cap and expiry, until revoked.
extension Ledger {
    /// `appoint_delegate`: the issuer appoints a key, or re-appoints it with new terms.
    func appointDelegate(_ body: AppointDelegate, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        let program = try issuedProgram(body.program, signer: signer, overlay: overlay)
        guard body.delegate != signer else {
            throw TransactionError(.invalidDelegation, "the issuer grants from program \(body.program) already; appoint another key")
        }
        guard body.budgetYen > 0, body.budgetYen <= program.definition.budgetYen else {
            throw TransactionError(.invalidDelegation, "the delegate's budget must be ¥1 to the program's budget of ¥\(program.definition.budgetYen)")
        }
        guard body.perResidentCapYen > 0, body.perResidentCapYen <= program.definition.perResidentCapYen else {
            throw TransactionError(.invalidDelegation, "the delegate's per-resident cap must be 1 to the program's cap of \(program.definition.perResidentCapYen)")
        }
        guard body.perDayCapYen > 0 else { throw TransactionError(.invalidDelegation, "the per-day cap must be at least 1") }
        guard body.expiresAt > context.timestamp else {
            throw TransactionError(.invalidDelegation, "the appointment would expire at or before this block's time")
        }
        guard !genesis.validators.validators.contains(where: { $0.publicKey == body.delegate }) else {
            throw TransactionError(.wrongRole, "a validator key cannot be a delegate")
        }
        if let account = try overlay.account(body.delegate) {
            guard account.role == .delegate else {
                throw TransactionError(.wrongRole, "\(body.delegate.address) is a \(account.role.name) account; a delegate needs a key of its own")
            }
            guard !account.frozen else { throw TransactionError(.frozen, "the delegate's account is frozen") }
        } else {
            // The appointment registers the key: it holds no value and can sign only grants.
            overlay.setAccount(body.delegate, AccountState(role: .delegate, registeredAt: context.timestamp))
        }
        var state = try overlay.delegate(body.program, body.delegate) ?? DelegateState(terms: body, appointedAt: context.timestamp)
        guard body.budgetYen >= state.granted else {
            throw TransactionError(.invalidDelegation, "the delegate has already granted ¥\(state.granted); the new budget cannot be lower")
        }
        state.terms = body
        state.revokedAt = nil
        overlay.setDelegate(body.program, body.delegate, state)
    }

    /// `revoke_delegate`: the issuer ends an appointment at once.
    func revokeDelegate(_ body: RevokeDelegate, signer: PublicKey, context: BlockContext, overlay: inout StateOverlay) throws {
        _ = try issuedProgram(body.program, signer: signer, overlay: overlay, openOnly: false)
        guard var state = try overlay.delegate(body.program, body.delegate) else {
            throw TransactionError(.delegateInactive, "\(body.delegate.address) is not a delegate of program \(body.program)")
        }
        guard state.revokedAt == nil else {
            throw TransactionError(.delegateInactive, "\(body.delegate.address) was already revoked from program \(body.program)")
        }
        state.revokedAt = context.timestamp
        overlay.setDelegate(body.program, body.delegate, state)
    }

    /// The checks a delegate's grant passes besides the program's own: the appointment holds
    /// at the block time, and the delegate's budget, per-resident and per-day caps have room.
    /// Returns the delegate's record updated for the grant, for the caller to write.
    func delegateGrant(_ body: Grant, delegate: PublicKey, appointment: DelegateState, context: BlockContext, overlay: StateOverlay) throws -> DelegateState {
        var state = appointment
        guard state.isActive(at: context.timestamp) else {
            let why = state.revokedAt != nil ? "was revoked" : "expired"
            throw TransactionError(.delegateInactive, "the appointment to program \(body.program) \(why); the delegate can no longer grant")
        }
        guard let granted = state.granted.adding(body.amount), granted <= state.terms.budgetYen else {
            throw TransactionError(.delegateBudgetExhausted, "the delegate has ¥\(state.terms.budgetYen - state.granted) of its budget left, the grant asks for \(body.amount)")
        }
        let already = try overlay.amount(StateKey.delegateResident(body.program, delegate, body.to))
        guard let total = already.adding(body.amount), total <= state.terms.perResidentCapYen else {
            throw TransactionError(.perResidentCapExceeded, "the delegate already granted this resident \(already) of its per-resident cap of \(state.terms.perResidentCapYen)")
        }
        let today = LedgerCalendar.japanDayAndHour(context.timestamp).day
        guard let onDay = state.granted(onDay: today).adding(body.amount), onDay <= state.terms.perDayCapYen else {
            throw TransactionError(.delegateDailyCapExceeded, "the delegate granted \(state.granted(onDay: today)) today of its per-day cap of \(state.terms.perDayCapYen)")
        }
        state.granted = granted
        state.day = today
        state.grantedOnDay = onDay
        return state
    }
}
