// A real OpenID Connect provider (npm `oidc-provider`) for soapgate's auth tests; see README.md.
// Usage: node provider.mjs <port|0>  ->  prints `READY <port>`; exits on stdin EOF or SIGTERM.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const SCOPES = ['customers:read', 'customers:write', 'orders:read'];
const API = 'urn:soapgate:api'; // the default resource: JWT access tokens, RS256
const RESOURCES = {
  [API]: { accessTokenFormat: 'jwt' },
  'urn:soapgate:api-es': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'urn:soapgate:opaque': { accessTokenFormat: 'opaque' },
};
const client = (client_id, client_secret, token_endpoint_auth_method) => ({
  client_id,
  client_secret,
  token_endpoint_auth_method,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: SCOPES.join(' '),
});

// Signing keys are generated at startup (never committed); the first key of a type signs.
function newKey(type) {
  const options = type === 'rsa' ? { modulusLength: 2048 } : { namedCurve: 'P-256' };
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${type}-${randomUUID()}`, use: 'sig' };
}
let keys = [newKey('rsa'), newKey('ec')];
const adapter = createMemoryAdapter(); // one token store, kept across key rotations

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter,
    clients: [
      client('gateway-tests', 's3cret', 'client_secret_basic'),
      client('gateway-tests-post', 's3cret', 'client_secret_post'),
      client('other', '0ther', 'client_secret_basic'),
    ],
    jwks: { keys },
    scopes: ['openid', ...SCOPES],
    cookies: { keys: ['soapgate-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => API,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (!RESOURCES[resource]) throw new errors.InvalidTarget();
          return { scope: SCOPES.join(' '), audience: resource, accessTokenTTL: 3600, ...RESOURCES[resource] };
        },
      },
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider error:', err));
  return provider;
}

// Listen first (port 0 allowed), then build the provider for the now known issuer.
// oidc-provider's keystore is fixed at construction, so key rotation builds a new provider
// (same issuer, same in-memory token store) and swaps it in behind the same socket.
let handle = (_req, res) => res.writeHead(503).end();
const server = createServer((req, res) => {
  if (process.env.OIDC_TEST_ADMIN === '1' && req.method === 'POST' && req.url === '/test/rotate') {
    keys = [newKey('rsa'), ...keys];
    handle = makeProvider(issuer).callback();
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ kids: keys.map((k) => k.kid) }));
  }
  return handle(req, res);
});
let issuer;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  handle = makeProvider(issuer).callback();
  process.stdout.write(`READY ${port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
