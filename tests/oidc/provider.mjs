// A real OpenID Connect provider (npm `oidc-provider`) for soapgate's auth tests; see README.md.
// Usage: node provider.mjs <port|0>  ->  prints `READY <port>`; exits on stdin EOF or SIGTERM.
// With OIDC_TLS_CERT and OIDC_TLS_KEY (PEM files) it serves https (issuer https://127.0.0.1:<port>);
// OIDC_TLS_CLIENT_CA (PEM) then also enables RFC 8705 tls_client_auth for the client
// `gateway-mtls` (subject CN=soapgate-client, chained to that CA).
import { X509Certificate, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
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
const TLS = process.env.OIDC_TLS_CERT && process.env.OIDC_TLS_KEY;
const CLIENT_CA = TLS && process.env.OIDC_TLS_CLIENT_CA;

// RFC 8705 client authentication: the certificate the TLS layer received (and verified against
// OIDC_TLS_CLIENT_CA), compared by subject DN.
const peerCertificate = (ctx) => ctx.req.socket.getPeerX509Certificate?.()?.toString();
const mTLS = {
  enabled: true,
  tlsClientAuth: true,
  getCertificate: peerCertificate,
  certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
  certificateSubjectMatches: (ctx, property, expected) => {
    const pem = peerCertificate(ctx);
    return property === 'tls_client_auth_subject_dn' && !!pem && new X509Certificate(pem).subject === expected;
  },
};
const mtlsClient = {
  client_id: 'gateway-mtls',
  token_endpoint_auth_method: 'tls_client_auth',
  tls_client_auth_subject_dn: 'CN=soapgate-client',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: SCOPES.join(' '),
};
const adapter = createMemoryAdapter(); // one token store, kept across key rotations

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter,
    clients: [
      client('gateway-tests', 's3cret', 'client_secret_basic'),
      client('gateway-tests-post', 's3cret', 'client_secret_post'),
      client('other', '0ther', 'client_secret_basic'),
      ...(CLIENT_CA ? [mtlsClient] : []),
    ],
    jwks: { keys },
    // Claims beyond the standard ones, in every access token and introspection answer: the
    // gateway must read them (and the numbers' digits) as they are.
    extraTokenClaims: async () => ({ tenant: 'acme', tenant_no: 4242, weight: 0.1 + 0.2 }),
    ...(CLIENT_CA ? { clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'tls_client_auth'] } : {}),
    scopes: ['openid', ...SCOPES],
    cookies: { keys: ['soapgate-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      ...(CLIENT_CA ? { mTLS } : {}),
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
const listener = (req, res) => {
  if (process.env.OIDC_TEST_ADMIN === '1' && req.method === 'POST' && req.url === '/test/rotate') {
    keys = [newKey('rsa'), ...keys];
    handle = makeProvider(issuer).callback();
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ kids: keys.map((k) => k.kid) }));
  }
  return handle(req, res);
};
// requestCert: the client certificate is asked for but optional (only tls_client_auth needs one).
const server = TLS
  ? createTlsServer(
    {
      cert: readFileSync(process.env.OIDC_TLS_CERT),
      key: readFileSync(process.env.OIDC_TLS_KEY),
      ...(CLIENT_CA ? { ca: readFileSync(CLIENT_CA), requestCert: true, rejectUnauthorized: false } : {}),
    },
    listener,
  )
  : createServer(listener);
let issuer;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `${TLS ? 'https' : 'http'}://127.0.0.1:${port}`;
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
