"""The smallest app serving the certificate and verification routers (for the browser test)."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import certificates, verify

app = FastAPI(title="Qualitrail certificates (test)")
app.include_router(certificates.router)
app.include_router(verify.router)
