"""Official Python MCP client (the `mcp` package pinned in requirements.txt) driven by the
mcp-auth integration tests. Run it with the repo's venv:

    .venv/bin/python interop/py_client.py <mcp-url> [--token T] [--call TOOL] [--args JSON]
                                          [--protocol legacy|auto|2026-07-28] [--timeout SECS]

Prints exactly ONE JSON line on stdout and exits 0 (exit 2 only for bad command-line usage):
  success: {"ok":true,"protocol":"…","tools":[…],"call":{"isError":b,"text":"…","structured":…}|null}
  failure: {"ok":false,"stage":"connect|list|call","error":"…","status":<http status|null>, …}
Extra failure fields (same names as ts_client.mjs):
  code              JSON-RPC error code of the MCPError the SDK raised (HTTP errors are synthesized
                    into JSON-RPC errors by the SDK's transport, usually -32603)
  www_authenticate  the raw WWW-Authenticate header of the failing response, if any
  challenge_error   its `error` parameter ("invalid_token", "insufficient_scope", …)
  challenge_scope   the `scope` parameter of a 401 challenge
  scope             the `scope` parameter of a 403 challenge (step-up)
  discovered        on 401: the RFC 9728 metadata found by the SDK's discovery helpers (the
                    header's resource_metadata, then the path and root well-known URIs, exactly
                    the order OAuthClientProvider uses) and validated by its
                    ProtectedResourceMetadata model; null if none validated
  resource_match    whether discovered.resource matches the server URL by the SDK's RFC 8707 check
  discovery_error   why discovery failed

--protocol:
  legacy      ClientSession.initialize() (the initialize handshake; the SDK offers 2025-11-25). Default.
  2026-07-28  ClientSession.discover() (stateless 2026-07-28 era: server/discover, then every
              request carries _meta and the Mcp-Method / Mcp-Name headers).
  auto        what mcp.Client does by default: probe server/discover, fall back to initialize.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio
import httpx2
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_field_from_www_auth,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    handle_protected_resource_response,
)
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

PROTOCOL_CHOICES = ["legacy", "auto", *MODERN_PROTOCOL_VERSIONS]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--token")
    p.add_argument("--call")
    p.add_argument("--args", default="{}")
    p.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="legacy")
    p.add_argument("--timeout", type=float, default=20.0)
    ns = p.parse_args()
    try:
        ns.args = json.loads(ns.args)
    except ValueError as e:
        p.error(f"--args is not valid JSON: {e}")
    if not isinstance(ns.args, dict):
        p.error("--args must be a JSON object")
    return ns


def leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (possibly nested) task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class Recorder:
    """httpx2 response hook keeping the last response to a POST (the MCP messages)."""

    def __init__(self) -> None:
        self.last_post: httpx2.Response | None = None

    async def __call__(self, response: httpx2.Response) -> None:
        if response.request.method == "POST":
            self.last_post = response


async def discover_prm(http: httpx2.AsyncClient, url: str, failing: httpx2.Response | None) -> dict[str, Any]:
    """RFC 9728 discovery with the SDK's helpers, in OAuthClientProvider's order."""
    out: dict[str, Any] = {}
    header_url = extract_resource_metadata_from_www_auth(failing) if failing is not None else None
    tried = []
    for candidate in build_protected_resource_metadata_discovery_urls(header_url, url):
        tried.append(candidate)
        try:
            response = await http.send(create_oauth_metadata_request(candidate))
        except httpx2.HTTPError as e:
            out["discovery_error"] = f"{candidate}: {e!r}"
            continue
        prm = await handle_protected_resource_response(response)
        if prm is not None:
            out["discovered"] = prm.model_dump(mode="json", exclude_unset=True)
            out["resource_match"] = check_resource_allowed(
                requested_resource=resource_url_from_server_url(url), configured_resource=str(prm.resource)
            )
            out.pop("discovery_error", None)
            return out
    out["discovered"] = None
    out.setdefault("discovery_error", f"no valid protected resource metadata at {tried}")
    return out


async def run(ns: argparse.Namespace) -> dict[str, Any]:
    recorder = Recorder()
    headers = {"Authorization": f"Bearer {ns.token}"} if ns.token is not None else None
    http = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(ns.timeout),
        event_hooks={"response": [recorder]},
    )
    stage = "connect"
    result: dict[str, Any]
    try:
        async with http:
            try:
                with anyio.fail_after(ns.timeout):
                    async with streamable_http_client(ns.url, http_client=http) as (read, write):
                        async with ClientSession(
                            read, write, client_info=Implementation(name="mcp-auth-interop-py", version="0.0.0")
                        ) as session:
                            if ns.protocol == "legacy":
                                await session.initialize()
                            elif ns.protocol == "auto":
                                from mcp.client._probe import negotiate_auto  # what mcp.Client(mode="auto") runs

                                await negotiate_auto(session)
                            else:
                                await session.discover()
                            stage = "list"
                            tools = await session.list_tools()
                            call = None
                            if ns.call is not None:
                                stage = "call"
                                r = await session.call_tool(ns.call, ns.args)
                                call = {
                                    "isError": bool(r.is_error),
                                    "text": "".join(c.text for c in r.content if getattr(c, "type", None) == "text"),
                                    "structured": r.structured_content,
                                }
                            result = {
                                "ok": True,
                                "protocol": session.protocol_version,
                                "tools": [t.name for t in tools.tools],
                                "call": call,
                            }
            except BaseException as raw:  # noqa: BLE001 - every failure becomes a JSON line
                if isinstance(raw, KeyboardInterrupt | SystemExit):
                    raise
                result = await failure(http, ns.url, stage, leaf(raw), recorder)
    except BaseException as raw:  # errors while closing the client after a result was built
        if isinstance(raw, KeyboardInterrupt | SystemExit):
            raise
        if "result" not in locals():
            result = {"ok": False, "stage": stage, "error": describe(leaf(raw)), "status": None}
    return result


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def failure(
    http: httpx2.AsyncClient, url: str, stage: str, exc: BaseException, recorder: Recorder
) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "stage": stage, "error": describe(exc), "status": None}
    if isinstance(exc, MCPError):
        out["code"] = exc.error.code
    last = recorder.last_post
    if last is not None and not isinstance(exc, TimeoutError):
        out["status"] = last.status_code
    failing = last if last is not None and last.status_code >= 400 and out["status"] is not None else None
    if failing is not None:
        header = failing.headers.get("www-authenticate")
        if header:
            out["www_authenticate"] = header
            if (err := extract_field_from_www_auth(failing, "error")) is not None:
                out["challenge_error"] = err
            if failing.status_code == 403:
                out["scope"] = extract_scope_from_www_auth(failing)
        if failing.status_code == 401:
            out["challenge_scope"] = extract_scope_from_www_auth(failing) if header else None
            with anyio.move_on_after(10):
                out.update(await discover_prm(http, url, failing))
    return out


def main() -> None:
    ns = parse_args()
    result = anyio.run(run, ns)
    sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
