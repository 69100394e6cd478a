// A real OAuth 2.0 / OpenID provider (oidc-provider, a certified implementation) for the tests.
//
//   node oidc_server.mjs PORT [ACCESS_TOKEN_TTL_SECONDS]
//
// Listens on 127.0.0.1:PORT (0: any free port) with one confidential client that may use the
// client-credentials grant (RFC 6749 section 4.4) and authenticates with client_secret_basic or
// client_secret_post. Access tokens are JWTs (RS256) with audience "config-server" (resource "urn:config-server") (the
// default resource, so a plain client-credentials request gets one), valid for TTL seconds.
// The signing key is generated at start and published at /jwks. The client id and secret come
// from the environment (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET) so they never appear on a command
// line. When listening, prints one line: "READY <issuer>".
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import { load } from './modules.mjs';

const { default: Provider } = await load('oidc-provider');

const port = Number.parseInt(process.argv[2] ?? '0', 10);
const ttl = Number.parseInt(process.argv[3] ?? process.env.OIDC_ACCESS_TOKEN_TTL ?? '300', 10);
const clientId = process.env.OIDC_CLIENT_ID ?? 'config-client';
const clientSecret = process.env.OIDC_CLIENT_SECRET;
if (!clientSecret) {
  console.error('OIDC_CLIENT_SECRET must be set');
  process.exit(2);
}
const RESOURCE = 'urn:config-server'; // a resource indicator must be an absolute URI
const AUDIENCE = 'config-server';
const SCOPE = 'config.read';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };

function configuration(issuer) {
  return {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: SCOPE,
      },
      {
        // The same secret, for the client_secret_post method (one method per registered client).
        client_id: `${clientId}-post`,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
        scope: SCOPE,
      },
    ],
    jwks: { keys: [jwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return { scope: SCOPE, audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    ttl: { ClientCredentials: () => ttl },
    scopes: [SCOPE],
  };
}

// The issuer needs the port, so bind first (port 0 picks a free one), then mount the provider.

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration(issuer));
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
