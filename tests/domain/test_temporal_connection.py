"""Temporal connection settings: mTLS files, Temporal Cloud API key, both-or-neither."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.service import TLSConfig

from settings import Settings
from temporal.client import tls_config


def test_plain_dev_server_has_no_tls() -> None:
    assert tls_config(Settings()) is False


def test_api_key_implies_tls() -> None:
    assert tls_config(Settings(temporal_api_key=SecretStr("cloud-key"))) is True


def test_mutual_tls_reads_the_files(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    for path in (cert, key, ca):
        path.write_bytes(b"-----BEGIN TEST-----\n" + path.name.encode())
    tls = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key, temporal_tls_ca=ca,
                              temporal_tls_server_name="ns.tmprl.cloud"))
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == cert.read_bytes() and tls.server_root_ca_cert == ca.read_bytes()
    assert tls.domain == "ns.tmprl.cloud"


def test_certificate_without_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="QT_TEMPORAL_TLS_KEY"):
        tls_config(Settings(temporal_tls_cert=tmp_path / "c.pem"))
