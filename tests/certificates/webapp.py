"""The smallest app serving the certificate and verification routers (for the browser test)."""

from __future__ import annotations

from fastapi import FastAPI

from api.assets import install_web
from api.routes import certificates, verify
from domain.policy import load_policy
from settings import get_settings

app = FastAPI(title="Qualitrail certificates (test)")
app.include_router(certificates.router)
app.include_router(verify.router)
install_web(app, docs=False)  # the same headers and assets as the real app
app.state.policy = load_policy(get_settings().policy_file)  # the real app's lifespan loads it
