"""Per-client rate limits on the public routes: anyone can call them, and each call can cost real work.

``/verify*`` checks certificates against the chain for anyone, and the certificate routes build and
sign a certificate for whoever holds a customer token; without a bound, one client can keep the API
busy. The limit (``QT_PUBLIC_RATE_LIMIT``, in the notation of the `limits` library) counts requests
per client address in a moving window, per API process; over it the answer is 429 with
``Retry-After``. Staff routes are not limited here: they need a key.
"""

from __future__ import annotations

import math
import re
import time

from fastapi import status
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

# /verify, /verify/{ticket_id}, /tickets/{ticket_id}/certificate(.png|.svg), /reports and below
PUBLIC_PATHS = re.compile(r"^(/verify(/.*)?|/tickets/[^/]+/certificate(\.png|\.svg)?|/reports(/.*)?)$")


class PublicRateLimitMiddleware:
    """Answers 429 with ``Retry-After`` once a client address exceeds the limit on a public route."""

    def __init__(self, app: ASGIApp, limit: str) -> None:
        self.app = app
        # parse_many raises ValueError on a malformed limit: the API then refuses to start.
        self.items: list[RateLimitItem] = parse_many(limit) if limit.strip() else []
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.items or not PUBLIC_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        for item in self.items:
            if not self.limiter.hit(item, "public", address):
                reset_at = self.limiter.get_window_stats(item, "public", address).reset_time
                retry_after = max(1, math.ceil(reset_at - time.time()))
                answer = JSONResponse({"detail": f"too many requests from {address}: at most {item}; "
                                                 f"retry in {retry_after} s"},
                                      status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                                      headers={"Retry-After": str(retry_after)})
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
