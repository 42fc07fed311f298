"""One way to connect to Temporal, for the worker, the API and the CLI: dev server, a cluster with
mutual TLS, or Temporal Cloud with an API key, all from settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from settings import Settings
from temporal.codec import data_converter_for


def _read(name: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # a directory, a missing file, no permission: the setting is wrong
        raise ValueError(f"{name}={path} cannot be read: {exc.strerror or exc}") from exc


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client certificate is configured; plain TLS for an API key; none otherwise.

    Raises:
        ValueError: the TLS settings are incomplete or name a file that cannot be read.
    """
    if settings.temporal_tls_cert or settings.temporal_tls_key:
        if not (settings.temporal_tls_cert and settings.temporal_tls_key):
            raise ValueError("QT_TEMPORAL_TLS_CERT and QT_TEMPORAL_TLS_KEY must be set together")
        ca = settings.temporal_tls_ca
        return TLSConfig(
            client_cert=_read("QT_TEMPORAL_TLS_CERT", settings.temporal_tls_cert),
            client_private_key=_read("QT_TEMPORAL_TLS_KEY", settings.temporal_tls_key),
            server_root_ca_cert=_read("QT_TEMPORAL_TLS_CA", ca) if ca else None,
            domain=settings.temporal_tls_server_name or None,
        )
    return bool(settings.temporal_api_key.get_secret_value())


async def connect_temporal(settings: Settings, *, attempts: int = 1, runtime: Runtime | None = None) -> Client:
    """Connects with the configured address, namespace and credentials, retrying while it starts.

    Raises:
        ValueError: the TLS or payload-key settings are wrong; raised at once, never retried.
    """
    api_key = settings.temporal_api_key.get_secret_value() or None
    # Built before the loop: a configuration error fails the same way on every attempt.
    tls = tls_config(settings)
    data_converter = data_converter_for(settings.payload_keys.get_secret_value())
    for attempt in range(attempts):
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                        tls=tls, api_key=api_key, data_converter=data_converter,
                                        runtime=runtime)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise RuntimeError("attempts must be at least 1")
