#!/usr/bin/env node
// Official TypeScript MCP client, SDK v2 (@modelcontextprotocol/client, pinned in package.json):
// the TypeScript client that speaks protocol 2026-07-28 (ts_client.mjs uses the v1 package,
// which stops at 2025-11-25). Same CLI and output as ts_client.mjs, plus --protocol:
//
//   node interop/ts2_client.mjs <mcp-url> [--token T] [--call TOOL] [--args JSON]
//                               [--protocol legacy|auto|2026-07-28] [--timeout SECS]
//
//   --protocol legacy      initialize handshake at 2025-11-25 (the SDK's default). Default.
//   --protocol auto        server/discover probe, falls back to initialize.
//   --protocol 2026-07-28  pinned modern era (versionNegotiation {pin}); no fallback.
//
// Prints exactly ONE JSON line on stdout and exits 0 (exit 2 only for bad command-line usage):
//   success: {"ok":true,"protocol":"…","tools":[…],"call":{"isError":b,"text":"…","structured":…}|null}
//   failure: {"ok":false,"stage":"connect|list|call","error":"…","status":<http status|null>, …}
// Extra failure fields: code (JSON-RPC code of a ProtocolError, or the SdkErrorCode string),
// www_authenticate, challenge_error, challenge_scope (401), scope (403), discovered /
// discovery_error (401) — see ts_client.mjs. On a 403 insufficient_scope this SDK throws its own
// InsufficientScopeError carrying the challenged scope; that is what `scope` reports.
import { parseArgs } from 'node:util';
import {
    Client,
    StreamableHTTPClientTransport,
    SdkError,
    SdkHttpError,
    ProtocolError,
    InsufficientScopeError,
    discoverOAuthProtectedResourceMetadata,
    extractWWWAuthenticateParams,
} from '@modelcontextprotocol/client';

console.log = console.info = console.debug = (...a) => console.error(...a);

const USAGE =
    'usage: node ts2_client.mjs <mcp-url> [--token T] [--call TOOL] [--args JSON] [--protocol legacy|auto|2026-07-28] [--timeout SECS]';
function usage(msg) {
    process.stderr.write(`${msg}\n${USAGE}\n`);
    process.exit(2);
}

let opts;
try {
    opts = parseArgs({
        allowPositionals: true,
        options: {
            token: { type: 'string' },
            call: { type: 'string' },
            args: { type: 'string' },
            protocol: { type: 'string', default: 'legacy' },
            timeout: { type: 'string', default: '20' },
        },
    });
} catch (e) {
    usage(e.message);
}
if (opts.positionals.length !== 1) usage('expected exactly one <mcp-url>');
const url = new URL(opts.positionals[0]);
const { token, call, protocol } = opts.values;
let callArgs = {};
if (opts.values.args !== undefined) {
    try {
        callArgs = JSON.parse(opts.values.args);
    } catch (e) {
        usage(`--args is not valid JSON: ${e.message}`);
    }
}
let mode;
if (protocol === 'legacy' || protocol === 'auto') mode = protocol;
else if (/^\d{4}-\d{2}-\d{2}$/.test(protocol)) mode = { pin: protocol };
else usage(`unknown --protocol ${protocol}`);
const timeoutMs = Number(opts.values.timeout) * 1000;
if (!(timeoutMs > 0)) usage('--timeout must be a positive number of seconds');

let printed = false;
function emit(obj) {
    if (printed) return;
    printed = true;
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// Records the last response to a POST (the MCP messages); the GET SSE stream is ignored.
let lastPost = null;
const recordingFetch = async (input, init) => {
    const res = await fetch(input, init);
    if ((init?.method ?? 'GET').toUpperCase() === 'POST') lastPost = res;
    return res;
};

let stage = 'connect';
const timer = setTimeout(() => {
    emit({ ok: false, stage, error: `timed out after ${opts.values.timeout}s`, status: null });
    process.exit(0);
}, timeoutMs);

const transport = new StreamableHTTPClientTransport(url, {
    requestInit: token !== undefined ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
    fetch: recordingFetch,
});
const client = new Client({ name: 'mcp-auth-interop-ts2', version: '0.0.0' }, { versionNegotiation: { mode } });

function message(err) {
    if (!(err instanceof Error)) return String(err);
    const cause = err.cause instanceof Error ? `: ${err.cause.code ?? err.cause.message}` : '';
    return err.message + cause;
}

async function discover(resourceMetadataUrl) {
    try {
        // resourceMetadataUrl undefined => the SDK probes the well-known URIs itself.
        return { discovered: await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl }) };
    } catch (e) {
        return { discovered: null, discovery_error: message(e) };
    }
}

async function failure(err) {
    const out = { ok: false, stage, error: message(err), status: null };
    if (err instanceof SdkHttpError && typeof err.status === 'number') out.status = err.status;
    else if (err instanceof InsufficientScopeError) out.status = 403;
    else if (lastPost) out.status = lastPost.status;
    if (err instanceof ProtocolError || err instanceof SdkError) out.code = err.code;

    const res = lastPost && !lastPost.ok && lastPost.status === out.status ? lastPost : null;
    const header = res?.headers.get('www-authenticate') ?? null;
    const params = header ? extractWWWAuthenticateParams(res) : {};
    if (header) {
        out.www_authenticate = header;
        if (params.error) out.challenge_error = params.error;
    }
    if (err instanceof InsufficientScopeError) out.scope = err.requiredScope ?? null;
    else if (out.status === 403) out.scope = params.scope ?? null;
    if (out.status === 401) {
        out.challenge_scope = params.scope ?? null;
        Object.assign(out, await discover(params.resourceMetadataUrl));
    }
    return out;
}

let result;
try {
    await client.connect(transport);
    stage = 'list';
    const { tools } = await client.listTools();
    let callOut = null;
    if (call !== undefined) {
        stage = 'call';
        const r = await client.callTool({ name: call, arguments: callArgs });
        callOut = {
            isError: r.isError === true,
            text: (r.content ?? []).filter(c => c.type === 'text').map(c => c.text).join(''),
            structured: r.structuredContent ?? null,
        };
    }
    result = {
        ok: true,
        protocol: client.getNegotiatedProtocolVersion() ?? null,
        tools: tools.map(t => t.name),
        call: callOut,
    };
} catch (err) {
    result = await failure(err);
}
clearTimeout(timer);
emit(result);
await client.close().catch(() => {});
process.exit(0);
