"""A pull-based configuration server that speaks the Spring Cloud Config wire protocol.

The package map (folder names are the architecture; each module holds one concept)::

    cli.py            argparse subcommands: serve, encrypt, decrypt, reencrypt, passwd, audit verify,
                      validate, hook install
    settings.py       the server's settings, each declared once (flags > env > --config > default)
    components.py     the composition root: every resource under a typed AppKey, one cleanup_ctx each
    errors.py         the one exception tree (statuses live in http/errors.py)
    secret.py         Secret (a value whose repr hides it) and the one token fingerprint
    caching.py        the one LRU and the one single flight
    filewatch.py      FileWatch: re-read a file when it changes (users, policy, TLS material)
    logs.py           --log-format: text for a terminal, JSON lines (OpenTelemetry field names)
    tracing.py        the one seam to OpenTelemetry: W3C traceparent parsing, spans (no-op without the SDK)
    errortracking.py  unhandled errors: error id, fingerprint, once-a-minute log, counts; optional Sentry
    service.py        EnvironmentService: an ordered list of Sources, overrides, decryption, caches
    names.py profiles.py resolve.py     the pure core: validation, profile rules, precedence
    imports.py        spring.config.import in served files: which repository paths a document imports
    checks.py         is a configuration good? Problem, CheckContext, the Check seam, the 199 Warning
    formats/          parsing (YAML, .properties, JSON), flattening, placeholders, renderings,
                      representations (serialised forms with ETags); pure
    sources/          the Source protocol (base.py); git/ (files: config lookup, source: the async
                      seam, repository: blocking GitPython, refs: labels and URIs, repos: pattern
                      and composite specs and rules, patterns: the Source over many repositories,
                      lastgood: --serve-last-good); vault.py
    vault/            the Vault adapter: settings, errors (hvac translation), client (login,
                      renewal), kv, transit, references ({vault}:path#key values)
    crypto/           {cipher} schemes (symmetric, rsa), keystores, prefixes, the key ring
    auth/             who is calling: principal, basic (htpasswd), jwt + jwks (bearer tokens), tls
                      (server context, client certificates), throttle (failed attempts), gate
    policy.py         the access policy: who may do which action on what (pure matching)
    audit.py audit_verify.py   the HMAC-chained audit log (fails closed); its verification
    probes.py         liveness (the event loop's heartbeat) and readiness (clones, staleness, Vault, audit)
    metrics/          Prometheus: timings (histogram state components keep), server (the per-app
                      registry, event counters), collector (state read at scrape time)
    validation/       config-server validate and the pre-receive hook: parse, {cipher}, resolve every
                      application x profile, JSON Schemas; problems at file:line
    live/             hub (long-poll watchers), updates (recompute and wake), webhooks (forge pushes),
                      quota (long polls held, in all and per principal), fleet (which client
                      instances hold which ETag and commit: the fleet view)
    cluster/          replicas as one: signing (the peer HMAC, replay refused), peers (--peers, the
                      forwarding of accepted webhooks), workers (--workers N on one port)
    http/             app (middlewares, route table), protocol (header timeout, connections per
                      address, parser errors), routes (raw path -> Endpoint), security
                      (authentication, authorisation, audit, security headers, body limits), headers,
                      errors (the only status mapping), bodies (read whole, with a limit),
                      telemetry (the request's span and log line), handlers: environment,
                      encryption, monitor, health, probes, metrics (/actuator/prometheus and the
                      request timing middleware), clients (/actuator/clients), openapi (the document)

The wire model (Environment, PropertySource), the key grammar and the merge live in the client
distribution (``config_client.wire``, ``keys``, ``merge``), which this package depends on.
"""

__version__ = "0.1.0"
