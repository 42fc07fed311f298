"""Temporal's remote codec protocol, so the Temporal UI (or `temporal --codec-endpoint`) can show payloads.

``POST /codec/decode`` and ``POST /codec/encode`` take and return ``{"payloads": [...]}`` with each payload
in protobuf JSON form (metadata values and data base64). Decoding hands plaintext customer data to the
caller, so only staff who may read ticket contents (quality, supervisor, auditor, admin) may call it.
The Temporal UI can only send ``Authorization: Bearer <token>``, so the API key is accepted there too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from google.protobuf import json_format
from pydantic import BaseModel, ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.deps import Caller, SettingsDep, current_caller, require_roles
from api.schemas import AUTH, BODY, problems
from temporal.codec import EncryptionCodec, PayloadDecryptionError, codec_from_settings

router = APIRouter(prefix="/codec", tags=["codec"])

# What the Temporal UI sends with a codec request (X-Namespace always, Authorization when configured).
CODEC_HEADERS = ["X-Namespace", "Content-Type", "Authorization", "X-API-Key"]
CODEC_ROLES = ("quality", "supervisor", "auditor")  # admin is always admitted by require_roles
_check_role = require_roles(*CODEC_ROLES)


class Payloads(BaseModel):
    """The codec server body: payloads in protobuf JSON form."""

    payloads: list[dict[str, Any]]


def codec_caller(settings: SettingsDep,
                 x_api_key: Annotated[str | None, Header(description="Staff API key")] = None,
                 authorization: Annotated[str | None, Header(description="Bearer <staff API key>")] = None,
                 ) -> Caller:
    """The same key check as the rest of the API, with the key also accepted as a bearer token."""
    key = x_api_key
    if not key and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            key = token.strip()
    return _check_role(current_caller(settings, key))


CodecCallerDep = Annotated[Caller, Depends(codec_caller)]


@lru_cache(maxsize=4)
def _codec_for(keys: str) -> EncryptionCodec | None:
    # Parse the key setting once per distinct value rather than on every request.
    return codec_from_settings(keys)


def get_codec(settings: SettingsDep) -> EncryptionCodec:
    codec = _codec_for(settings.payload_keys.get_secret_value())
    if codec is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "payload encryption is not configured (QT_PAYLOAD_KEYS is empty)")
    return codec


CodecDep = Annotated[EncryptionCodec, Depends(get_codec)]
# 400: not a Temporal payload, not decryptable or not JSON text; 503: no payload keys configured.
ERRORS = problems(*AUTH, *BODY, 503)


def _parse(body: Payloads) -> list[Payload]:
    try:
        return [json_format.ParseDict(item, Payload()) for item in body.payloads]
    except json_format.ParseError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a Temporal payload: {exc}") from None


async def _run(step: Callable[[Sequence[Payload]], Awaitable[list[Payload]]], body: Payloads) -> Payloads:
    try:
        done = await step(_parse(body))
    except PayloadDecryptionError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return Payloads(payloads=[json_format.MessageToDict(p) for p in done])


async def read_payloads(request: Request, caller: CodecCallerDep, codec: CodecDep) -> Payloads:
    """The body, read only once the caller's key is checked (FastAPI reads a declared body first).

    A stranger's request is refused without a byte of its body read or parsed.
    """
    try:
        return Payloads.model_validate_json(await request.body())
    except ValidationError as exc:
        # FastAPI's own 422 shape, located in the body as for a declared body parameter; a body that
        # is not JSON at all is not echoed back (it may be a megabyte), as FastAPI does.
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"]), **({} if e["loc"] else {"input": {}})}
                                      for e in exc.errors(include_url=False)]) from None


PayloadsBody = Annotated[Payloads, Depends(read_payloads)]
# The body is read by hand (after the key check), so FastAPI cannot describe it itself.
BODY_SCHEMA: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Payloads"}}}}}


@router.post("/decode", response_model=Payloads, responses=ERRORS, openapi_extra=BODY_SCHEMA)
async def decode(caller: CodecCallerDep, codec: CodecDep, body: PayloadsBody) -> Payloads:
    """Decrypts payloads (unencrypted ones pass through unchanged)."""
    return await _run(codec.decode, body)


@router.post("/encode", response_model=Payloads, responses=ERRORS, openapi_extra=BODY_SCHEMA)
async def encode(caller: CodecCallerDep, codec: CodecDep, body: PayloadsBody) -> Payloads:
    """Encrypts payloads with the current key (the UI uses it for signal and query arguments)."""
    return await _run(codec.encode, body)


class CodecCORSMiddleware:
    """CORS for ``/codec/*`` only, and only for the Temporal UI's origin.

    Starlette's CORSMiddleware applies to every path; the rest of the API is not meant to be called from
    browsers on other origins, so requests outside ``/codec/`` bypass it. No credentials (cookies) are
    allowed: the key travels in a header the UI sets explicitly.
    """

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=[origin], allow_methods=["POST"],
                                   allow_headers=CODEC_HEADERS, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(router.prefix + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
