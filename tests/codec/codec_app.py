"""The codec router alone, served by uvicorn in the HTTP tests (settings from QT_ env vars)."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import codec
from settings import get_settings

app = FastAPI()
app.include_router(codec.router)
app.add_middleware(codec.CodecCORSMiddleware, origin=get_settings().temporal_ui_origin)


@app.get("/other")
def other() -> dict[str, str]:
    """A non-codec path: CORS must not apply here."""
    return {"ok": "yes"}
