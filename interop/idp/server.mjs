#!/usr/bin/env node
// A real OAuth 2.0 / OpenID Connect authorization server for the mcp-auth integration tests:
// oauth2-mock-server (pinned in interop/package.json) on 127.0.0.1, with what the tests need
// around it:
//
//   * client-credentials tokens from POST /token, shaped by extra form fields:
//       scope, aud (repeatable), claims (JSON object merged into the payload),
//       expires_in (seconds; negative → already expired), nbf_in (seconds from now),
//       opaque=1 (return an opaque token instead of a JWT, known to /introspect)
//   * RFC 7662 POST /introspect that really checks: client authentication (basic or post)
//     against --client, tokens it issued, their expiry and revocation
//   * GET /jwks served here (counted, optionally with Cache-Control, failing or stalling)
//   * control endpoints under /__control: stats, reset-stats, rotate, mode, revoke,
//     orphan-token (signed by a key that is not published)
//
// Usage: node interop/idp/server.mjs [--port N] [--alg RS256] [--keys FILE]
//                                    [--client id:secret] [--lifetime SECONDS]
// Prints one JSON line {"issuer": "...", "port": N} once listening. Stops by itself when its
// stdin closes (the test process is gone) or after --lifetime seconds (default 300).

import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => {
    if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const port = Number(args.port ?? 0);
const alg = args.alg ?? 'RS256';
const lifetime = Number(args.lifetime ?? 300);
const [clientId, clientSecret] = (args.client ?? 'mcp-rs:rs-secret').split(':');

// --- Stop by itself ----------------------------------------------------------------------
setTimeout(() => process.exit(0), lifetime * 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

// --- Keys: current signing key, published set, optional persistence ----------------------
const issuer = new OAuth2Issuer();
const service = new OAuth2Service(issuer);
let currentKid;
const retired = new Set();

if (args.keys && existsSync(args.keys)) {
  const saved = JSON.parse(readFileSync(args.keys, 'utf8'));
  for (const jwk of saved.keys) await issuer.keys.add(jwk);
  currentKid = saved.current;
} else {
  currentKid = (await issuer.keys.generate(alg, { kid: `k-${randomBytes(6).toString('hex')}` })).kid;
  saveKeys();
}
function saveKeys() {
  if (!args.keys) return;
  writeFileSync(args.keys, JSON.stringify({ current: currentKid, keys: issuer.keys.toJSON(true) }));
}
// Sign with the current key only (the store would otherwise round-robin).
const originalGet = issuer.keys.get.bind(issuer.keys);
issuer.keys.get = (kid) => originalGet(kid ?? currentKid);

// --- Token shaping and bookkeeping ------------------------------------------------------------
const issued = new Map(); // token -> payload (what introspection knows)
const revoked = new Set();

service.on('beforeTokenSigning', (token, req) => {
  const body = req.body ?? {};
  const now = Math.floor(Date.now() / 1000);
  const client = basicCredentials(req)?.[0] ?? body.client_id;
  if (client !== undefined) {
    token.payload.client_id = client;
    token.payload.sub = client;
  }
  if (body.expires_in !== undefined) token.payload.exp = now + Number(body.expires_in);
  if (body.nbf_in !== undefined) token.payload.nbf = now + Number(body.nbf_in);
  if (body.claims !== undefined) Object.assign(token.payload, JSON.parse(body.claims));
  if (token.payload.scope === undefined) delete token.payload.scope;
  if (token.payload.aud === undefined) delete token.payload.aud;
  req.shapedPayload = { ...token.payload };
});

service.on('beforeResponse', (response, req) => {
  const payload = req.shapedPayload;
  if (response.statusCode !== 200 || payload === undefined) return;
  if (req.body?.opaque === '1') response.body.access_token = `opaque-${randomBytes(24).toString('hex')}`;
  issued.set(response.body.access_token, payload);
});

// --- HTTP --------------------------------------------------------------------------------------
const stats = {};
const count = (name) => { stats[name] = (stats[name] ?? 0) + 1; };
let jwksMode = 'ok'; // ok | error | stall | garbage
let jwksCacheControl;

function basicCredentials(req) {
  const h = req.headers.authorization;
  if (!h || !h.toLowerCase().startsWith('basic ')) return undefined;
  const text = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  return [dec(text.slice(0, i)), dec(text.slice(i + 1))];
}

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req) {
  let data = '';
  for await (const chunk of req) {
    data += chunk;
    if (data.length > 1 << 20) throw new Error('body too large');
  }
  return data;
}

async function introspect(req, res) {
  const form = new URLSearchParams(await readBody(req));
  const creds = basicCredentials(req) ?? [form.get('client_id'), form.get('client_secret')];
  if (!sameSecret(creds[0], clientId) || !sameSecret(creds[1], clientSecret)) {
    return send(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic' });
  }
  const token = form.get('token');
  const payload = token === null ? undefined : issued.get(token);
  const now = Math.floor(Date.now() / 1000);
  if (payload === undefined || revoked.has(token) || !(payload.exp > now)) {
    return send(res, 200, { active: false });
  }
  return send(res, 200, { ...payload, active: true, token_type: 'Bearer' });
}

async function control(req, res, url) {
  const what = url.pathname.slice('/__control/'.length);
  const body = req.method === 'POST' ? await readBody(req) : '';
  switch (what) {
    case 'stats':
      return send(res, 200, stats);
    case 'reset-stats':
      for (const k of Object.keys(stats)) delete stats[k];
      return send(res, 200, {});
    case 'rotate': {
      const kid = `k-${randomBytes(6).toString('hex')}`;
      await issuer.keys.generate(alg, { kid });
      if (url.searchParams.get('retire') === '1') retired.add(currentKid);
      currentKid = kid;
      saveKeys();
      return send(res, 200, { kid });
    }
    case 'mode':
      jwksMode = url.searchParams.get('jwks') ?? jwksMode;
      jwksCacheControl = url.searchParams.get('cache_control') ?? jwksCacheControl;
      return send(res, 200, { jwks: jwksMode });
    case 'revoke':
      revoked.add(JSON.parse(body).token);
      return send(res, 200, {});
    case 'orphan-token': {
      // Same issuer, a key nobody published.
      const other = new OAuth2Issuer();
      other.url = issuer.url;
      await other.keys.generate(alg, { kid: `orphan-${randomBytes(6).toString('hex')}` });
      const claims = body ? JSON.parse(body) : {};
      const token = await other.buildToken({ scopesOrTransform: (_h, p) => Object.assign(p, claims) });
      return send(res, 200, { token });
    }
    default:
      return send(res, 404, { error: 'unknown control' });
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (url.pathname.startsWith('/__control/')) return await control(req, res, url);
    if (url.pathname === '/jwks' && req.method === 'GET') {
      count('jwks');
      if (jwksMode === 'stall') return; // never answered; the client's timeout must fire
      if (jwksMode === 'error') return send(res, 503, { error: 'temporarily_unavailable' });
      if (jwksMode === 'garbage') return send(res, 200, '<html>gateway</html>');
      const keys = issuer.keys.toJSON().filter((k) => !retired.has(k.kid));
      const headers = jwksCacheControl ? { 'cache-control': jwksCacheControl } : {};
      return send(res, 200, { keys }, headers);
    }
    if (url.pathname === '/introspect' && req.method === 'POST') {
      count('introspect');
      return await introspect(req, res);
    }
    if (url.pathname.startsWith('/.well-known/')) count(url.pathname.slice('/.well-known/'.length));
    if (url.pathname === '/token') count('token');
    return service.requestHandler(req, res);
  } catch (e) {
    return send(res, 500, { error: 'server_error', error_description: String(e) });
  }
});

server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  issuer.url = `http://127.0.0.1:${actual}`;
  process.stdout.write(`${JSON.stringify({ issuer: issuer.url, port: actual, kid: currentKid })}\n`);
});
server.on('error', (e) => {
  process.stderr.write(`idp: ${e.message}\n`);
  process.exit(1);
});
