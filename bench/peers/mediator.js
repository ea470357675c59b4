'use strict';
// Peer E of bench/run.sh: a hand-written REST -> SOAP mediator in Node.js doing the job of
// soapgate's full-mediation route D, with the usual libraries (express + node-soap):
//   POST /e/{1k,10k}/items  {"category": "books", "limit": 100}
//   1. bearer RS256 JWT: signature against the JWKS (fetched once at start), exp/nbf/iss/aud,
//      scope `items:read`; verified tokens cached by SHA-256 of the token (as soapgate does);
//   2. rate limit: fixed one-second window per subject, limit far above the load (costs, never refuses);
//   3. threat checks: the same regular expressions as soapgate's built-in sql/xpath/xml/script sets,
//      over path, query, header values and every JSON string;
//   4. input check: category a string, limit an integer (what D's WSDL validation checks);
//   5. node-soap client (same WSDL, endpoint overridden to the canned backend, keep-alive agent);
//   6. the same JSON as D: {"item": [ {id, sku, name, price, inStock, category}, ... ]}, where
//      node-soap's Number price becomes the decimal's text again and a lone item an array.
// Config from the environment (bench/run.sh sets it): PORT, BACKEND, WSDL, JWKS_URL, ISSUER,
// AUDIENCE, RATE_LIMIT and THREATS (1 = on, the default; run.sh turns off what D lacks).
const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const axios = require('axios');
const soap = require('soap');

const PORT = Number(process.env.PORT || 8090);
const BACKEND = process.env.BACKEND || 'http://127.0.0.1:8081';
const WSDL = process.env.WSDL;
const JWKS_URL = process.env.JWKS_URL || `${BACKEND}/jwks.json`;
const ISSUER = process.env.ISSUER;
const AUDIENCE = process.env.AUDIENCE;
const RATE_LIMIT = process.env.RATE_LIMIT !== '0';
const THREATS = process.env.THREATS !== '0';
const LIMIT_PER_SECOND = 1000000;

const PATTERNS = [
  // sql
  /\bunion\b\s+(?:all\s+)?\bselect\b/i, /\bselect\b[\s\S]{1,200}?\bfrom\b\s+\w/i, /\binsert\s+into\b/i,
  /\bdelete\s+from\b/i, /\bdrop\s+(?:table|database|schema)\b/i, /\bupdate\s+\w+\s+set\b/i,
  /'\s*(?:or|and)\s+(?:'[^']*'|\d+)\s*(?:=|<|>|like\b)/i, /'\s*;\s*(?:drop|delete|insert|update|shutdown|exec)\b/i,
  /'\s*(?:--|#)/i, /\/\*[\s\S]*?\*\//, /\b(?:waitfor\s+delay|pg_sleep\s*\(|sleep\s*\(\s*\d|benchmark\s*\()/i,
  /\bxp_cmdshell\b/i,
  // xpath
  /['"]\s*(?:or|and)\s+['"]?[^'"]*['"]?\s*=\s*['"]/i, /\b(?:or|and)\s+\d+\s*=\s*\d+/i,
  /(?:\/|\[)\s*(?:text|node|comment|processing-instruction)\s*\(\s*\)/i,
  /\b(?:string-length|substring|count|local-name|name|contains)\s*\(\s*(?:\/|\.\.?\/|\*)/i, /\]\s*\|\s*\//, /\/\/\*/,
  // xml
  /<!\s*(?:ENTITY|DOCTYPE|ELEMENT|ATTLIST)\b/i, /<!\[CDATA\[/, /<\?xml/i, /\bxmlns(?::\w+)?\s*=/i, /\bxi:include\b/i,
  // script
  /<\s*script\b/i, /\bjavascript\s*:/i, /\bvbscript\s*:/i, /<[^>]*\bon[a-z]+\s*=/i,
  /<\s*(?:iframe|object|embed|svg|img|link|meta|style)\b/i,
];

function suspicious(s) {
  for (const re of PATTERNS) if (re.test(s)) return true;
  return false;
}

function jsonSuspicious(v) {
  if (typeof v === 'string') return suspicious(v);
  if (Array.isArray(v)) return v.some(jsonSuspicious);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => suspicious(k) || jsonSuspicious(x));
  return false;
}

function problem(res, status, code, title, extra = {}) {
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, code, ...extra }));
}

// --- JWT (RS256) ---------------------------------------------------------------------------
const keys = new Map(); // kid -> KeyObject
const verified = new Map(); // sha256(token) -> claims
function b64json(s) { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')); }

function verify(token) {
  const h = crypto.createHash('sha256').update(token).digest('base64');
  const now = Date.now() / 1000;
  let claims = verified.get(h);
  if (!claims) {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('malformed token');
    const header = b64json(parts[0]);
    if (header.alg !== 'RS256') throw new Error('algorithm not allowed');
    const key = keys.get(header.kid);
    if (!key) throw new Error('unknown key');
    const ok = crypto.verify('RSA-SHA256', Buffer.from(parts[0] + '.' + parts[1]), key, Buffer.from(parts[2], 'base64url'));
    if (!ok) throw new Error('bad signature');
    claims = b64json(parts[1]);
    if (claims.iss !== ISSUER) throw new Error('wrong issuer');
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(AUDIENCE)) throw new Error('wrong audience');
    if (typeof claims.exp !== 'number') throw new Error('no exp');
    if (verified.size > 10000) verified.clear();
    verified.set(h, claims);
  }
  if (claims.exp + 60 < now || (typeof claims.nbf === 'number' && claims.nbf - 60 > now)) {
    throw new Error('expired');
  }
  return claims;
}

// --- rate limit: fixed window per subject ----------------------------------------------------
const windows = new Map();
function allowed(subject) {
  const w = Math.floor(Date.now() / 1000);
  let e = windows.get(subject);
  if (!e || e.window !== w) { e = { window: w, count: 0 }; windows.set(subject, e); }
  e.count += 1;
  return e.count <= LIMIT_PER_SECOND;
}

// --- conversion to D's JSON ------------------------------------------------------------------
function toArray(x) { return x == null ? [] : Array.isArray(x) ? x : [x]; }
function convert(result) {
  return {
    item: toArray(result && result.item).map((i) => ({
      id: i.id,
      sku: i.sku,
      name: i.name,
      price: String(i.price), // node-soap parses xs:decimal into a JS Number
      inStock: i.inStock,
      category: i.category,
    })),
  };
}

async function main() {
  const jwks = (await axios.get(JWKS_URL)).data;
  for (const k of jwks.keys) keys.set(k.kid, crypto.createPublicKey({ key: k, format: 'jwk' }));

  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const request = axios.create({ httpAgent: agent });
  const clients = {};
  for (const size of ['1k', '10k']) {
    clients[size] = await soap.createClientAsync(WSDL, { request, endpoint: `${BACKEND}/items-${size}` });
  }

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.json({ limit: '256kb' }));
  app.post('/e/:size/items', async (req, res) => {
    const client = clients[req.params.size];
    if (!client) return problem(res, 404, 'NOT_FOUND', 'Not found');
    const m = /^Bearer ([A-Za-z0-9\-_.]+)$/.exec(req.get('authorization') || '');
    if (!m) return problem(res, 401, 'AUTH_REQUIRED', 'Authentication required');
    let claims;
    try { claims = verify(m[1]); } catch (e) { return problem(res, 401, 'AUTH_INVALID_TOKEN', 'Invalid token'); }
    if (!String(claims.scope || '').split(' ').includes('items:read')) {
      return problem(res, 403, 'AUTH_INSUFFICIENT_SCOPE', 'Insufficient scope');
    }
    if (RATE_LIMIT && !allowed(claims.sub || claims.client_id)) {
      return problem(res, 429, 'RATE_LIMITED', 'Too many requests');
    }
    if (THREATS && (suspicious(decodeURIComponent(req.path))
        || Object.entries(req.query).some(([k, v]) => suspicious(k) || jsonSuspicious(v))
        || Object.values(req.headers).some((v) => jsonSuspicious(v))
        || jsonSuspicious(req.body))) {
      return problem(res, 400, 'THREAT_DETECTED', 'Request rejected');
    }
    const b = req.body;
    if (!b || typeof b.category !== 'string' || !Number.isInteger(b.limit)) {
      return problem(res, 400, 'SCHEMA_VIOLATION', 'Request does not match the schema');
    }
    try {
      const [result] = await client.GetItemsAsync({ category: b.category, limit: b.limit });
      res.type('application/json').send(JSON.stringify(convert(result)));
    } catch (e) {
      problem(res, 502, 'UPSTREAM_FAULT', 'Backend error');
    }
  });
  app.listen(PORT, '127.0.0.1', () => console.log(`mediator listening on 127.0.0.1:${PORT}`));
}

main().catch((e) => { console.error(e); process.exit(1); });
