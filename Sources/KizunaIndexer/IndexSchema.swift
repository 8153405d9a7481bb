/// The index's PostgreSQL schema (docs/indexer.md §2–§4): the private schema `kizuna`,
/// readable by the indexer's own role only, and the schema `kizuna_bi` of views for the city's
/// BI tools — the only thing the BI role is granted. No view of `kizuna_bi` has a column that
/// holds an account address, and none shows a group of fewer residents than the suppression
/// threshold (suppressed groups are left out, not shown empty).
///
/// Each statement is run on its own (the extended protocol takes one statement at a time),
/// in one transaction, under an advisory lock so two indexers starting together do not race.
public enum IndexSchema {
    /// 2: invoices, the `payer_role` aggregate dimension (issue 21).
    public static let version: Int32 = 2
    /// The advisory lock key the writer holds for as long as it runs ("kizuna" in ASCII).
    public static let writerLockKey: Int64 = 0x6B_697A_756E_61

    public static let tables: [String] = [
        "CREATE SCHEMA IF NOT EXISTS kizuna",
        "REVOKE ALL ON SCHEMA kizuna FROM PUBLIC",
        """
        CREATE TABLE IF NOT EXISTS kizuna.indexer_state (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            schema_version integer NOT NULL,
            chain_id text NOT NULL,
            genesis_hash text NOT NULL,
            height bigint NOT NULL CHECK (height >= 0),
            tip_hash text NOT NULL,
            state_root text NOT NULL,
            tip_time timestamptz NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.blocks (
            height bigint PRIMARY KEY,
            hash text NOT NULL UNIQUE,
            parent_hash text NOT NULL,
            time timestamptz NOT NULL,
            time_ms bigint NOT NULL,
            day date NOT NULL,
            state_root text NOT NULL,
            proposer text NOT NULL,
            transaction_count integer NOT NULL,
            certificate bytea NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.transactions (
            id text PRIMARY KEY,
            height bigint NOT NULL REFERENCES kizuna.blocks (height),
            index integer NOT NULL,
            kind text NOT NULL,
            signer text NOT NULL,
            nonce bigint NOT NULL,
            counterparty text,
            amount numeric(20, 0),
            program bigint,
            canonical bytea NOT NULL,
            UNIQUE (height, index)
        )
        """,
        "CREATE INDEX IF NOT EXISTS transactions_signer ON kizuna.transactions (signer, height)",
        "CREATE INDEX IF NOT EXISTS transactions_counterparty ON kizuna.transactions (counterparty, height)",
        """
        CREATE TABLE IF NOT EXISTS kizuna.receipts (
            transaction_id text PRIMARY KEY REFERENCES kizuna.transactions (id),
            height bigint NOT NULL,
            index integer NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.settlements (
            merchant text NOT NULL,
            sequence bigint NOT NULL,
            line integer NOT NULL,
            height bigint NOT NULL REFERENCES kizuna.blocks (height),
            time timestamptz NOT NULL,
            reference text NOT NULL,
            asset text NOT NULL,
            funder text NOT NULL,
            gross bigint NOT NULL,
            fee bigint NOT NULL,
            net bigint NOT NULL,
            PRIMARY KEY (merchant, sequence, line)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.invoices (
            id text PRIMARY KEY,
            issuer text NOT NULL,
            payer text NOT NULL,
            amount bigint NOT NULL,
            paid bigint NOT NULL,
            payments integer NOT NULL,
            due_at timestamptz NOT NULL,
            reference text NOT NULL,
            issued_at timestamptz NOT NULL,
            last_paid_at timestamptz,
            paid_late boolean NOT NULL,
            cancelled_at timestamptz,
            as_of_height bigint NOT NULL REFERENCES kizuna.blocks (height),
            UNIQUE (issuer, reference),
            CHECK (paid <= amount)
        )
        """,
        "CREATE INDEX IF NOT EXISTS invoices_payer ON kizuna.invoices (payer)",
        """
        CREATE TABLE IF NOT EXISTS kizuna.programs (
            id bigint PRIMARY KEY,
            name text NOT NULL,
            asset text NOT NULL,
            funder text NOT NULL,
            issuer text NOT NULL,
            budget numeric(20, 0) NOT NULL,
            granted numeric(20, 0) NOT NULL,
            used numeric(20, 0) NOT NULL,
            expired numeric(20, 0) NOT NULL,
            outstanding numeric(20, 0) NOT NULL,
            remaining numeric(20, 0) NOT NULL,
            per_resident_cap numeric(20, 0) NOT NULL,
            rebate boolean NOT NULL,
            as_of_height bigint NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.program_days (
            program_id bigint NOT NULL REFERENCES kizuna.programs (id),
            day date NOT NULL,
            granted numeric(20, 0) NOT NULL,
            used numeric(20, 0) NOT NULL,
            expired numeric(20, 0) NOT NULL,
            outstanding numeric(20, 0) NOT NULL,
            remaining numeric(20, 0) NOT NULL,
            as_of_height bigint NOT NULL,
            PRIMARY KEY (program_id, day)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.payment_aggregates (
            day date NOT NULL,
            dimension text NOT NULL,
            key text NOT NULL,
            suppressed boolean NOT NULL,
            payments bigint,
            yen bigint,
            residents integer,
            minimum_residents integer NOT NULL,
            as_of_height bigint NOT NULL,
            PRIMARY KEY (day, dimension, key),
            CHECK (suppressed = (payments IS NULL AND yen IS NULL AND residents IS NULL)),
            CHECK (suppressed OR residents >= minimum_residents)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS kizuna.unused_balances (
            base_date date PRIMARY KEY,
            closed boolean NOT NULL,
            outstanding_yen bigint NOT NULL,
            deposit_required_yen bigint NOT NULL,
            refund_limit_yen bigint NOT NULL,
            as_of_height bigint NOT NULL
        )
        """,
        "REVOKE ALL ON ALL TABLES IN SCHEMA kizuna FROM PUBLIC",
    ]

    /// The BI schema: views only, over the private tables, run with their owner's rights.
    public static let views: [String] = [
        "CREATE SCHEMA IF NOT EXISTS kizuna_bi",
        "REVOKE ALL ON SCHEMA kizuna_bi FROM PUBLIC",
        """
        CREATE OR REPLACE VIEW kizuna_bi.daily_payments AS
            SELECT day, dimension, key, payments, yen, residents, as_of_height
            FROM kizuna.payment_aggregates
            WHERE dimension IN ('category', 'district') AND NOT suppressed AND residents >= minimum_residents
        """,
        """
        CREATE OR REPLACE VIEW kizuna_bi.daily_payments_by_hour_and_age_band AS
            SELECT day, dimension, key, payments, yen, residents, as_of_height
            FROM kizuna.payment_aggregates
            WHERE dimension IN ('hour', 'age_band', 'day', 'payer_role') AND NOT suppressed AND residents >= minimum_residents
        """,
        """
        CREATE OR REPLACE VIEW kizuna_bi.program_burn_down AS
            SELECT p.id AS program_id, p.name, p.asset, p.budget, d.day,
                   d.granted, d.used, d.expired, d.outstanding, d.remaining,
                   CASE WHEN p.budget = 0 THEN NULL ELSE round(100.0 * d.used / p.budget, 2) END AS used_percent,
                   d.as_of_height
            FROM kizuna.program_days d JOIN kizuna.programs p ON p.id = d.program_id
        """,
        """
        CREATE OR REPLACE VIEW kizuna_bi.unused_balance AS
            SELECT base_date, closed, outstanding_yen, deposit_required_yen, refund_limit_yen, as_of_height
            FROM kizuna.unused_balances
        """,
        """
        CREATE OR REPLACE VIEW kizuna_bi.indexed_tip AS
            SELECT chain_id, height, tip_hash, state_root, tip_time, updated_at
            FROM kizuna.indexer_state
        """,
        "REVOKE ALL ON ALL TABLES IN SCHEMA kizuna_bi FROM PUBLIC",
    ]

    /// The grants of the BI role: the views' schema and SELECT on its views, nothing else.
    /// `role` is checked to be a plain identifier by the configuration.
    public static func grants(biRole role: String) -> [String] {
        [
            "GRANT USAGE ON SCHEMA kizuna_bi TO \"\(role)\"",
            "GRANT SELECT ON ALL TABLES IN SCHEMA kizuna_bi TO \"\(role)\"",
            "REVOKE ALL ON SCHEMA kizuna FROM \"\(role)\"",
            "REVOKE ALL ON ALL TABLES IN SCHEMA kizuna FROM \"\(role)\"",
        ]
    }
}
