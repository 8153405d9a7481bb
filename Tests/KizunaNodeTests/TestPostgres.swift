import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL server the indexer's tests use: `KIZUNA_TEST_POSTGRES_URL`
/// (`postgres://USER@HOST:PORT/DATABASE`, a superuser; `tools/test-postgres start` makes a
/// throwaway cluster and prints it; `.ci/run` does so for CI). Each test gets its own
/// database and its own two roles — the indexer's, which owns the schema, and the BI role.
///
/// Without the variable the tests fail under `CI=true` (PostgreSQL must be there) and are
/// skipped, with a note, elsewhere.
struct TestPostgres {
    let host: String
    let port: Int
    let superuser: String
    let database: String
    let indexerRole: String
    let biRole: String
    static let logger = Logger(label: "kizuna.test.postgres")

    /// A new database and roles; nil (after recording an issue under CI) when there is no server.
    static func make() async throws -> TestPostgres? {
        guard let text = ProcessInfo.processInfo.environment["KIZUNA_TEST_POSTGRES_URL"], !text.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("KIZUNA_TEST_POSTGRES_URL is not set under CI=true: .ci/run starts PostgreSQL (tools/test-postgres start); the indexer's tests need it")
            } else {
                print("skipped: KIZUNA_TEST_POSTGRES_URL is not set (eval \"$(tools/test-postgres start)\" starts a throwaway cluster)")
            }
            return nil
        }
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql", let host = url.host, let user = url.user else {
            Issue.record("KIZUNA_TEST_POSTGRES_URL must look like postgres://USER@HOST:PORT/DATABASE, not \(text)")
            return nil
        }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let postgres = TestPostgres(host: host, port: url.port ?? 5432, superuser: user, database: "kizuna_index_\(suffix)", indexerRole: "kizuna_indexer_\(suffix)", biRole: "kizuna_bi_\(suffix)")
        let admin = try await postgres.connect(user: user, database: url.path.isEmpty ? "postgres" : String(url.path.dropFirst()))
        defer { Task { try? await admin.close() } }
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(postgres.indexerRole) LOGIN"), logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(postgres.biRole) LOGIN"), logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(postgres.database) OWNER \(postgres.indexerRole)"), logger: logger)
        // PostgreSQL 15 no longer lets PUBLIC create in the schema public; the BI role must not
        // see anything there either.
        let owned = try await postgres.connect(user: user, database: postgres.database)
        try await owned.query("REVOKE ALL ON SCHEMA public FROM PUBLIC", logger: logger)
        try await owned.close()
        return postgres
    }

    func connect(user: String, database: String? = nil) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: nil, database: database ?? self.database, tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: Int.random(in: 1...1_000_000), logger: Self.logger)
    }

    /// The `[postgres]` table of an indexer configuration for this database.
    var configurationTOML: String {
        """
        [postgres]
        host = "\(host)"
        port = \(port)
        user = "\(indexerRole)"
        database = "\(database)"
        biRole = "\(biRole)"
        """
    }
}
