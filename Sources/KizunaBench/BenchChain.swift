import KizunaCore

/// The keys and genesis of a one-validator chain that the ledger, single-node and audit
/// benchmarks build their workloads on: fresh random keys, the default asset policies, a
/// fixed genesis time.
struct BenchChain {
    let validatorKey = PrivateKey()
    let registrar = PrivateKey()
    let city = PrivateKey()
    let issuer = PrivateKey()
    let genesis: Genesis

    init(chainId: String) {
        genesis = Genesis(
            chainId: chainId, genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "bench", organisation: "benchmark", publicKey: validatorKey.publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: issuer.publicKey, registrar: registrar.publicKey, city: city.publicKey, auditor: PrivateKey().publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        )
    }
}
