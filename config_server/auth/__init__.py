"""Who is calling: credentials checked at the edge, each turned into one ``Principal``.

::

    principal.py   Principal (method, id, name, roles) and the anonymous caller
    basic.py       HTTP Basic against an htpasswd file (bcrypt, argon2id), re-read on change
    jwt.py         bearer JWTs (OAuth 2.0 resource server): PyJWT checks, claims to a Principal
    jwks.py        the keys that verify them: a JWKS URL (fetched, cached, refreshed) or a key file
    tls.py         the server's TLS context (reloaded on change), client certificates as principals
    throttle.py    failed attempts per client address, turned into 429 past a limit

What a principal may do is decided by ``config_server.policy``; the HTTP middleware that ties them
together is ``config_server.http.security``.
"""
