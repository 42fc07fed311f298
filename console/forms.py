"""Reading a posted form: strict UTF-8, bounded, checked against the API's own body models.

The body size is already capped by the API's body limit (``api/main.py``). A field that is not
valid UTF-8 (a lone surrogate sent percent-encoded, say) or holds a NUL is refused naming the field;
an error never repeats the value (it may be a password).
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request, status
from pydantic import BaseModel, ValidationError

MAX_FIELDS = 64
M = TypeVar("M", bound=BaseModel)


class FormError(HTTPException):
    """422 naming the field(s); the page shows the message next to the form."""

    def __init__(self, fields: list[str], message: str) -> None:
        super().__init__(status.HTTP_422_UNPROCESSABLE_CONTENT, message)
        self.fields = fields


async def read_form(request: Request) -> dict[str, list[str]]:
    raw = await request.body()
    if not raw:
        return {}  # no field at all: the CSRF check refuses it
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(["body"], "body: send the form as application/x-www-form-urlencoded")
    try:
        text = raw.decode("ascii")  # a browser percent-encodes everything else
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise FormError(["body"], "body: not valid UTF-8") from exc
    except ValueError as exc:  # too many fields
        raise FormError(["body"], f"body: more than {MAX_FIELDS} fields") from exc
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise FormError([name.replace("\x00", "")], f"{name.replace(chr(0), '')}: must not contain NUL characters")
        form.setdefault(name, []).append(value)
    return form


def one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def checked(model: type[M], data: dict[str, Any]) -> M:
    """``model`` built from ``data``, or a FormError naming each bad field (never echoing its value)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()]
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise FormError(fields, message) from exc
