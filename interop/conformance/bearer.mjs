// Preload for the conformance suite and the Inspector CLI: adds `Authorization: Bearer <token>`
// to every HTTP request sent to one origin, through a global undici dispatcher.
//
//   MCP_CONFORMANCE_BEARER=<token> MCP_CONFORMANCE_ORIGIN=http://127.0.0.1:8002 \
//     node --import ./bearer.mjs node_modules/conformance-stable/dist/index.js server --url …
//
// The suite's server command takes only a URL. It talks HTTP through Node's global `fetch` (the
// MCP SDK transport and its raw probes) and through undici's `request` (DNS rebinding probes);
// both send every request through the global dispatcher, which this sets. A few header probes
// (SEP-2243) use `node:http` directly; `http.request` gets the same header. Requests to any
// other origin, and requests that already carry an Authorization header, pass unchanged.
// Without MCP_CONFORMANCE_BEARER this file does nothing, so the same command runs the suite
// without a token.
import http from 'node:http';
import { Agent, setGlobalDispatcher } from 'undici';

const token = process.env.MCP_CONFORMANCE_BEARER;
const origin = process.env.MCP_CONFORMANCE_ORIGIN;

if (token) {
    if (!origin) throw new Error('bearer.mjs: set MCP_CONFORMANCE_ORIGIN with MCP_CONFORMANCE_BEARER');
    const target = new URL(origin).origin;
    const value = `Bearer ${token}`;

    // Dispatch options carry headers as an object, a flat [k, v, k, v] array, or an iterable
    // of pairs; return them with Authorization added unless one is there already.
    const withAuth = (headers) => {
        if (headers == null) return { authorization: value };
        if (Array.isArray(headers)) {
            const flat = headers.length > 0 && Array.isArray(headers[0]) ? headers.flat() : headers;
            for (let i = 0; i < flat.length; i += 2) {
                if (String(flat[i]).toLowerCase() === 'authorization') return headers;
            }
            return [...flat, 'authorization', value];
        }
        if (typeof headers[Symbol.iterator] === 'function') return withAuth([...headers].flat());
        for (const k of Object.keys(headers)) {
            if (k.toLowerCase() === 'authorization') return headers;
        }
        return { ...headers, authorization: value };
    };

    const dispatcher = new Agent().compose((dispatch) => (opts, handler) => {
        const to = opts.origin ? new URL(String(opts.origin)).origin : null;
        return dispatch(to === target ? { ...opts, headers: withAuth(opts.headers) } : opts, handler);
    });
    setGlobalDispatcher(dispatcher);

    // node:http, for `http.request(options, cb)` with `hostname`/`host` and `port`, or a URL.
    const original = http.request;
    const targetUrl = new URL(target);
    const matches = (o) => {
        const host = o.hostname ?? (o.host ? String(o.host).replace(/:\d+$/, '') : undefined);
        const port = String(o.port ?? (targetUrl.protocol === 'https:' ? 443 : 80));
        return host === targetUrl.hostname && port === (targetUrl.port || '80');
    };
    http.request = function request(...args) {
        const i = typeof args[0] === 'object' && !(args[0] instanceof URL) ? 0 : 1;
        const url = i === 1 ? new URL(String(args[0])) : null;
        const opts = args[i] && typeof args[i] === 'object' ? args[i] : {};
        const probe = url ? { hostname: url.hostname, port: url.port || 80 } : opts;
        if (matches(probe)) {
            const headers = withAuth(opts.headers);
            if (i === 0) args[0] = { ...opts, headers };
            else if (typeof args[1] === 'object') args[1] = { ...opts, headers };
            else args.splice(1, 0, { headers });
        }
        return original.apply(this, args);
    };
}
