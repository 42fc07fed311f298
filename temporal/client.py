"""One way to connect to Temporal, for the worker, the API and the CLI: dev server, a cluster with
mutual TLS, or Temporal Cloud with an API key, all from settings."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from settings import Settings
from temporal.codec import data_converter_for


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client certificate is configured; plain TLS for an API key; none otherwise."""
    if settings.temporal_tls_cert or settings.temporal_tls_key:
        if not (settings.temporal_tls_cert and settings.temporal_tls_key):
            raise ValueError("QT_TEMPORAL_TLS_CERT and QT_TEMPORAL_TLS_KEY must be set together")
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
            domain=settings.temporal_tls_server_name or None,
        )
    return bool(settings.temporal_api_key.get_secret_value())


async def connect_temporal(settings: Settings, *, attempts: int = 1, runtime: Runtime | None = None) -> Client:
    """Connects with the configured address, namespace and credentials, retrying while it starts."""
    api_key = settings.temporal_api_key.get_secret_value() or None
    for attempt in range(attempts):
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                        tls=tls_config(settings), api_key=api_key,
                                        data_converter=data_converter_for(settings.payload_keys.get_secret_value()),
                                        runtime=runtime)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise RuntimeError("attempts must be at least 1")
