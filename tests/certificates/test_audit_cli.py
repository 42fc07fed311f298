"""The auditor tool as a real process: verify, tamper tests, a forked node, export and replay."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from sqlmodel import Session

from certificates.issue import build_certificate, signer_for, write_certificate
from contracts.anvil import free_port, start_anvil
from domain.certificate import sign_certificate
from readmodel.db import get_engine
from tests.certificates.conftest import AuditRunner
from tests.certificates.world import OTHER_KEY, SIGNER, World, copy_world, tamper


def _write_cert(world: World, path: Path, ticket_id: str | None = None) -> dict[str, Any]:
    with Session(get_engine(world.db_url)) as session:
        cert = build_certificate(session=session, ticket_id=ticket_id or world.ticket,
                                 signer=signer_for(world.settings()))
    write_certificate(path, cert)
    return cert


def _failed(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "NOT VERIFIED" in out or "FAILED" in out, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"


def test_verify_a_genuine_certificate(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    path = tmp_path / "certificate.json"
    _write_cert(world, path)
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified: every check passed." in result.stdout
    for title in ("Unchanged since it was signed", "Signed by the operator", "Service record complete and in order",
                  "Every step is in an anchored batch", "Recorded on the blockchain", "Compensation vouchers"):
        assert f"PASS  {title}" in result.stdout

    as_json = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER, "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["ok"] is True


def test_edited_database_row_fails(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    tampered = copy_world(world, tmp_path)
    # Someone with database access makes the breach look like it happened at another time.
    tamper(tampered.db_url, "UPDATE milestone SET at = ? WHERE subject = ? AND seq = 2",
           "2026-11-25T01:59:59.000000Z", tampered.ticket)
    path = tmp_path / "certificate.json"
    _write_cert(tampered, path)  # the operator's own server signs what its database now says
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER)
    _failed(result, "FAIL  Service record complete and in order",
            "milestone 2 (sla_breach): leaf hash does not match the milestone's content")


def test_edited_leaf_and_content_fails_inclusion(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    # A smarter intruder also recomputes the leaf of the last milestone: its proof no longer fits.
    from domain.milestones import leaf_hash

    tampered = copy_world(world, tmp_path)
    cert = _write_cert(tampered, tmp_path / "before.json")
    last = cert["milestones"][-1]
    data = {**last["data"], "resolution_code": "customer_error"}
    new_leaf = leaf_hash(tampered.ticket, last["seq"], last["kind"], last["at"], last["prev"], data)
    tamper(tampered.db_url, "UPDATE milestone SET data = ?, leaf = ? WHERE subject = ? AND seq = ?",
           json.dumps(data, sort_keys=True, separators=(",", ":")), new_leaf, tampered.ticket, last["seq"])
    path = tmp_path / "certificate.json"
    _write_cert(tampered, path)
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER)
    _failed(result, "FAIL  Every step is in an anchored batch", f"milestone {last['seq']} (resolved)",
            "FAIL  Recorded on the blockchain", "the registry rejects its proof")


def test_one_altered_byte_fails(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    path = tmp_path / "certificate.json"
    cert = _write_cert(world, path)
    raw = bytearray(path.read_bytes())
    # The amount of the voucher: 2000 -> 9000, one byte.
    position = raw.index(b'"amount": 2000')
    raw[position + len(b'"amount": ')] = ord("9")
    altered = tmp_path / "altered.json"
    altered.write_bytes(bytes(raw))
    result = run_audit("verify", str(altered), "--rpc", world.rpc_url, "--signer", SIGNER)
    _failed(result, "FAIL  Unchanged since it was signed", f"digest in the certificate {cert['digest']}",
            "FAIL  Compensation vouchers", "worth CN¥20.00 on chain, the certificate says CN¥90.00")

    # A byte that breaks the JSON itself is named too.
    broken = tmp_path / "broken.json"
    broken.write_bytes(bytes(raw).replace(b"{", b"[", 1))
    _failed(run_audit("verify", str(broken), "--rpc", world.rpc_url), "FAIL  Readable certificate")


def test_another_signing_key_fails(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    path = tmp_path / "forged.json"
    with Session(get_engine(world.db_url)) as session:
        genuine = build_certificate(session=session, ticket_id=world.ticket, signer=signer_for(world.settings()))
    write_certificate(path, sign_certificate(genuine, OTHER_KEY))
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER)
    _failed(result, "FAIL  Signed by the operator", "which is not the operator key you trust")
    # Without --signer the tool cannot know the operator, and says so rather than passing silently.
    unpinned = run_audit("verify", str(path), "--rpc", world.rpc_url)
    assert unpinned.returncode == 0 and "NOTE  Signed by the operator" in unpinned.stdout


def test_auditors_forked_node_verifies_the_same_certificate(world: World, tmp_path: Path,
                                                             run_audit: AuditRunner) -> None:
    path = tmp_path / "certificate.json"
    _write_cert(world, path)
    with start_anvil(free_port(), fork_url=world.rpc_url) as fork:
        result = run_audit("verify", str(path), "--rpc", fork.url, "--signer", SIGNER,
                           "--registry", world.deployment.registry)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified: every check passed." in result.stdout
    assert fork.url in result.stdout


def test_wrong_chain_fails(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    path = tmp_path / "certificate.json"
    _write_cert(world, path)
    with start_anvil(free_port()) as empty:  # a chain where nothing was ever anchored
        result = run_audit("verify", str(path), "--rpc", empty.url, "--signer", SIGNER)
    _failed(result, "FAIL  Genuine Qualitrail contracts", "is not the published EvidenceRegistry")


def test_export_and_replay(world: World, tmp_path: Path, run_audit: AuditRunner) -> None:
    export = tmp_path / "leaves.jsonl"
    done = run_audit("export", "--out", str(export), "--database-url", world.db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = export.read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["format"] == "qualitrail.export.v2"
    assert {r["batch_no"] for r in records} == {1, 2}
    assert set(records[0]) == {"subject", "seq", "kind", "at", "prev", "data", "leaf", "batch_no", "index",
                               "batch_format"}
    assert {r["batch_format"] for r in records} == {2}  # format 1 batches carry no key, as before

    replay = ["replay", "--rpc", world.rpc_url, "--registry", world.deployment.registry]
    ok = run_audit(*replay, "--export", str(export))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Replay verified" in ok.stdout

    # Altered: one milestone's content; missing: one leaf dropped; extra: a leaf no batch holds.
    altered = [dict(r) for r in records]
    altered[2] = {**altered[2], "data": {**altered[2]["data"], "level": "90"}}
    dropped = altered.pop(5)
    extra = {**records[0], "batch_no": 9, "seq": 99, "leaf": "0x" + "ab" * 32, "index": 0}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(r) for r in [header, *altered, extra]) + "\n")
    result = run_audit(*replay, "--export", str(bad))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "REPLAY FAILED" in out
    assert f"ALTERED  {altered[2]['subject']} #{altered[2]['seq']} ({altered[2]['kind']}), batch 1: content does " \
           "not hash to its leaf" in out
    assert f"MISSING  batch {dropped['batch_no']}: 1 of its" in out
    assert "EXTRA" in out and "claims batch 9, which is not anchored on chain" in out
