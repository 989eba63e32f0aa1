#!/usr/bin/env node
// Official TypeScript MCP client (@modelcontextprotocol/sdk, pinned in package.json) driven by
// the mcp-auth integration tests.
//
//   node interop/ts_client.mjs <mcp-url> [--token T] [--call TOOL] [--args JSON] [--protocol legacy] [--timeout SECS]
//
// SDK v1 speaks only the initialize handshake (2025-11-25); for 2026-07-28 use ts2_client.mjs.
//
// Prints exactly ONE JSON line on stdout and exits 0 (exit 2 only for bad command-line usage):
//   success: {"ok":true,"protocol":"…","tools":[…],"call":{"isError":b,"text":"…","structured":…}|null}
//   failure: {"ok":false,"stage":"connect|list|call","error":"…","status":<http status|null>, …}
// Extra failure fields:
//   code              JSON-RPC error code, when the server answered with a JSON-RPC error
//   www_authenticate  the raw WWW-Authenticate header of the failing response, if any
//   challenge_error   the `error` parameter of that header (e.g. "invalid_token", "insufficient_scope")
//   challenge_scope   the `scope` parameter of a 401 challenge
//   scope             the `scope` parameter of a 403 challenge (step-up)
//   discovered        on 401: the RFC 9728 metadata the SDK discovered (resource_metadata from the
//                     header, else the SDK's own well-known probing); null if discovery failed
//   discovery_error   why discovery failed
// Header parsing and discovery are done by the SDK's own helpers from client/auth.js; the transport
// turns HTTP errors into a StreamableHTTPError that keeps only the status, so a fetch wrapper
// keeps the failing response to read its headers.
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    discoverOAuthProtectedResourceMetadata,
    extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

// Nothing but the result line may reach stdout.
console.log = console.info = console.debug = (...a) => console.error(...a);

function usage(msg) {
    process.stderr.write(`${msg}\nusage: node ts_client.mjs <mcp-url> [--token T] [--call TOOL] [--args JSON] [--protocol legacy] [--timeout SECS]\n`);
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
const { token, call } = opts.values;
let callArgs = {};
if (opts.values.args !== undefined) {
    try {
        callArgs = JSON.parse(opts.values.args);
    } catch (e) {
        usage(`--args is not valid JSON: ${e.message}`);
    }
}
// Accepted for a CLI shared with ts2_client.mjs / py_client.py; SDK v1 only has the initialize handshake.
if (opts.values.protocol !== 'legacy') usage(`--protocol ${opts.values.protocol}: SDK v1 supports only 'legacy' (use ts2_client.mjs)`);
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
const client = new Client({ name: 'mcp-auth-interop-ts', version: '0.0.0' });

function message(err) {
    if (!(err instanceof Error)) return String(err);
    const cause = err.cause instanceof Error ? `: ${err.cause.code ?? err.cause.message}` : '';
    return err.message + cause;
}

async function failure(err) {
    const out = { ok: false, stage, error: message(err), status: null };
    if (err instanceof StreamableHTTPError && err.code > 0) out.status = err.code;
    else if (lastPost) out.status = lastPost.status;
    if (err instanceof McpError) out.code = err.code;

    const res = lastPost && !lastPost.ok ? lastPost : null;
    const header = res?.headers.get('www-authenticate') ?? null;
    if (header) {
        out.www_authenticate = header;
        const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams(res);
        if (error) out.challenge_error = error;
        if (out.status === 403) out.scope = scope ?? null;
        if (out.status === 401) out.challenge_scope = scope ?? null;
        if (out.status === 401) {
            try {
                // resourceMetadataUrl undefined => the SDK probes the well-known URIs itself.
                out.discovered = await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl });
            } catch (e) {
                out.discovered = null;
                out.discovery_error = message(e);
            }
        }
    } else if (out.status === 401) {
        out.challenge_scope = null;
        try {
            out.discovered = await discoverOAuthProtectedResourceMetadata(url);
        } catch (e) {
            out.discovered = null;
            out.discovery_error = message(e);
        }
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
    result = { ok: true, protocol: transport.protocolVersion ?? null, tools: tools.map(t => t.name), call: callOut };
} catch (err) {
    result = await failure(err);
}
clearTimeout(timer);
emit(result);
await client.close().catch(() => {});
process.exit(0);
