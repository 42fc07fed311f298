"""Signed checkpoints catch a rewritten chain: a new Anvil started from an older --state file."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from sqlmodel import Session
from web3 import Web3

from certificates.issue import build_certificate, signer_for, write_certificate
from contracts.anvil import free_port, start_anvil
from readmodel.db import get_engine
from tests.certificates.conftest import AuditRunner
from tests.certificates.world import SIGNER, anchor_pending, build_world


def test_checkpoint_fails_after_a_chain_rewrite(tmp_path: Path, run_audit: AuditRunner, auditor_key: Path) -> None:
    state = tmp_path / "anvil-state.json"
    first = start_anvil(free_port(), state_path=state)
    try:
        world = build_world(tmp_path, first.url)
    finally:
        first.stop()  # graceful: the state file now holds batches 1 and 2
    older = tmp_path / "older-state.json"
    shutil.copy(state, older)

    second = start_anvil(free_port(), state_path=state)
    try:
        world = replace(world, rpc_url=second.url)
        anchor_pending(world)  # batch 3, only on the chain that will be rewritten
        with Session(get_engine(world.db_url)) as session:
            cert = build_certificate(session=session, ticket_id=world.ticket, signer=signer_for(world.settings()))
        assert cert["batches"][-1]["batch_no"] == 3
        certificate = tmp_path / "certificate.json"
        write_certificate(certificate, cert)

        checkpoint = tmp_path / "checkpoint.json"
        common = ["--key-file", str(auditor_key)]
        saved = run_audit("checkpoint", "save", "--rpc", second.url, "--out", str(checkpoint), "--registry",
                          world.deployment.registry, *common)
        assert saved.returncode == 0, saved.stdout + saved.stderr
        document = json.loads(checkpoint.read_text())
        assert len(document["anchors"]) == 3 and document["signature"].startswith("0x")
        same = run_audit("checkpoint", "check", str(checkpoint), "--rpc", second.url, *common)
        assert same.returncode == 0, same.stdout + same.stderr
        assert "PASS  Chain still contains the checkpoint" in same.stdout
        assert run_audit("verify", str(certificate), "--rpc", second.url, "--signer", SIGNER).returncode == 0
    finally:
        second.stop()

    # The chain is rewritten: a new node from the older state, which then mines other blocks.
    rewritten = start_anvil(free_port(), state_path=older)
    try:
        w3 = Web3(Web3.HTTPProvider(rewritten.url))
        for _ in range(3):
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        result = run_audit("checkpoint", "check", str(checkpoint), "--rpc", rewritten.url, *common)
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert "FAIL  Chain still contains the checkpoint" in out
        assert "no longer anchored in the registry" in out
        assert "has another hash now (the chain was rewritten)" in out
        assert "PASS  Checkpoint signed by you" in out

        # The certificate that relied on batch 3 fails against this chain too.
        stale = run_audit("verify", str(certificate), "--rpc", rewritten.url, "--signer", SIGNER)
        assert stale.returncode == 1 and "batch 3: its root" in stale.stdout

        # An edited checkpoint file is refused by its signature.
        document["head"]["block_number"] = 1
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps(document))
        forged = run_audit("checkpoint", "check", str(edited), "--rpc", rewritten.url, *common)
        assert forged.returncode == 1 and "FAIL  Checkpoint signed by you" in forged.stdout
    finally:
        rewritten.stop()
