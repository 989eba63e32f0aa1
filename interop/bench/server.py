"""The Python SDK side of the load benchmark (benches/load, scripts/bench.sh).

The official `mcp` SDK (PyPI, pinned in interop/requirements.txt) serving the same tools as the
Rust servers, stateless Streamable HTTP, with bearer auth: RS256 JWTs verified with PyJWT against
the benchmark's public key (signature, issuer, audience, expiry), `mcp` required by the SDK's own
RequireAuthMiddleware. No per-tool checks: the SDK has none.

    .venv/bin/python interop/bench/server.py --port 0 --public-key key.pub.pem \
        --issuer https://bench.invalid --sse

Prints `LISTEN 127.0.0.1:<port>` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

import jwt
import uvicorn
from pydantic import AnyHttpUrl

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer


class JwtVerifier(TokenVerifier):
    def __init__(self, public_key: str, issuer: str, audience: str) -> None:
        self.key = public_key
        self.issuer = issuer
        self.audience = audience

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id", "")),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=claims.get("sub"),
        )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--public-key", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--sse", action="store_true", help="SSE responses (default JSON)")
    args = p.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY on Linux (asyncio sets it too; belt and braces).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    resource = f"http://127.0.0.1:{port}/mcp"

    with open(args.public_key, encoding="ascii") as f:
        key = f.read()
    server = MCPServer(
        "bench",
        token_verifier=JwtVerifier(key, args.issuer, resource),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(args.issuer),
            resource_server_url=AnyHttpUrl(resource),
            required_scopes=["mcp"],
            validate_token_resource=False,  # JwtVerifier checks `aud` itself
        ),
        log_level="WARNING",
    )

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two numbers.")
    def add(a: int, b: int) -> str:
        return str(a + b)

    app = server.streamable_http_app(stateless_http=True, json_response=not args.sse)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    srv = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(srv.serve(sockets=[sock]))
        while not srv.started:
            await asyncio.sleep(0.02)
        print(f"LISTEN 127.0.0.1:{port}", flush=True)
        await task

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
