"""Mystery shopping over real HTTP: an external evaluator files scored evaluations, each a milestone
of its own subject that gets anchored on a real chain; the quality department reads the scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from web3 import Web3

from chain.registry import EvidenceRegistryClient
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.merkle import verify_proof
from domain.milestones import leaf_hash, tree_leaf
from domain.policy import load_policy
from readmodel.db import get_engine
from readmodel.models import AnchorBatch, Milestone
from tests.certificates.world import World, anchor_pending, build_world
from tests.helpers import serve

EVALUATOR = {"X-API-Key": "k-evaluator"}
QUALITY = {"X-API-Key": "k-quality"}
AGENT = {"X-API-Key": "k-agent"}
NOTES = "Agent Liu kept me waiting 12 minutes at the Nanjing Road branch, then was very helpful"


def body(evaluation_id: str, **overrides: Any) -> dict[str, Any]:
    b = {"evaluation_id": evaluation_id, "target_kind": "team", "target": "after-sales",
         "visited_at": "2026-11-20T10:30:00+08:00",
         "scores": {"professionalism": 4, "process_compliance": 3, "emergency_handling": 5}, "notes": NOTES}
    b.update(overrides)
    return b


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    node: AnvilProcess = start_anvil(free_port())
    try:
        yield build_world(tmp_path_factory.mktemp("evaluations"), node.url)
    finally:
        node.stop()


@pytest.fixture(scope="module")
def api(world: World) -> Iterator[httpx.Client]:
    from api.deps import get_policy
    from api.main import create_app
    from settings import get_settings

    settings = world.settings(api_keys="k-evaluator:external_evaluator,k-quality:quality,k-agent:agent")
    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    # No lifespan here (no Temporal): the settings and the policy file are given directly.
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_policy] = lambda: load_policy(settings.policy_file)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_an_evaluation_is_filed_once_and_anchored_as_its_own_subject(api: httpx.Client, world: World) -> None:
    filed = api.post("/evaluations", json=body("EV-1"), headers=EVALUATOR)
    assert filed.status_code == 201, filed.text
    again = api.post("/evaluations", json=body("EV-1"), headers=EVALUATOR)
    assert again.status_code == 200 and again.json()["leaf"] == filed.json()["leaf"]
    clash = api.post("/evaluations", json=body("EV-1", scores={**body("x")["scores"], "professionalism": 1}),
                     headers=EVALUATOR)
    assert clash.status_code == 409 and "EV-1" in clash.json()["detail"]

    shown = api.get("/evaluations/EV-1", headers=QUALITY).json()
    assert shown["notes"] == NOTES and shown["evaluator"].startswith("external_evaluator#")
    assert shown["month"] == "2026-11" and shown["scores"]["emergency_handling"] == 5

    anchor_pending(world)
    with Session(get_engine(world.db_url)) as session:
        m = session.exec(select(Milestone).where(Milestone.subject == "eval-EV-1")).one()
        batch = session.get(AnchorBatch, m.batch_no)
    data = json.loads(m.data)
    assert NOTES not in m.data and data["notes_hash"] == shown["notes_hash"] and data["score.professionalism"] == "4"
    assert (m.seq, m.kind, m.leaf) == (0, "mystery_evaluation_filed", shown["leaf"])
    assert leaf_hash(m.subject, m.seq, m.kind, m.at, m.prev, data) == m.leaf
    assert batch is not None and m.proof is not None
    assert verify_proof(tree_leaf(bytes.fromhex(m.leaf[2:]), m.kind, batch.format),
                        [bytes.fromhex(p[2:]) for p in json.loads(m.proof)], bytes.fromhex(batch.root[2:]))
    registry = EvidenceRegistryClient(Web3(Web3.HTTPProvider(world.rpc_url)), world.deployment.registry)
    assert registry.anchor_info(bytes.fromhex(batch.root[2:])) is not None


def test_scores_per_team_and_agent_per_month(api: httpx.Client) -> None:
    api.post("/evaluations", json=body("EV-2", scores={"professionalism": 2, "process_compliance": 5,
                                                       "emergency_handling": 3}, notes=""), headers=EVALUATOR)
    api.post("/evaluations", json=body("EV-3", target_kind="agent", target="liu.yang", notes=""), headers=EVALUATOR)
    api.post("/evaluations", json=body("EV-4", visited_at="2026-10-31T23:00:00+00:00", notes=""), headers=EVALUATOR)
    scores = api.get("/evaluations/scores", params={"month": "2026-11"}, headers=QUALITY).json()
    by_target = {(s["target_kind"], s["target"]): s for s in scores["data"]}
    assert by_target[("team", "after-sales")]["evaluations"] == 2
    assert by_target[("team", "after-sales")]["mean_scores"] == {"emergency_handling": 4.0, "process_compliance": 4.0,
                                                                 "professionalism": 3.0}
    assert by_target[("agent", "liu.yang")]["evaluations"] == 1
    listed = api.get("/evaluations", params={"month": "2026-10"}, headers=QUALITY).json()
    assert [e["evaluation_id"] for e in listed["data"]] == ["EV-4"]
    assert api.get("/evaluations/EV-2", headers=QUALITY).json()["notes"] is None


@pytest.mark.parametrize(("change", "loc"), [
    ({"scores": {"professionalism": 4, "process_compliance": 3}}, ["body", "scores", "emergency_handling"]),
    ({"scores": {"professionalism": 6, "process_compliance": 3, "emergency_handling": 5}},
     ["body", "scores", "professionalism"]),
    ({"scores": {"professionalism": 4, "process_compliance": 3, "emergency_handling": 5, "smile": 5}},
     ["body", "scores", "smile"]),
    ({"notes": "x" * 5001}, ["body", "notes"]),
    ({"visited_at": "2026-11-20T10:30:00"}, ["body", "visited_at"]),
    ({"visited_at": "2099-01-01T00:00:00Z"}, ["body", "visited_at"]),
    ({"target_kind": "branch"}, ["body", "target_kind"]),
    ({"target": "no spaces please"}, ["body", "target"]),
    ({"evaluation_id": "!"}, ["body", "evaluation_id"]),
    ({"extra": 1}, ["body", "extra"]),
])
def test_bad_evaluations_are_refused_naming_the_field(api: httpx.Client, change: dict[str, Any],
                                                      loc: list[str]) -> None:
    r = api.post("/evaluations", json={**body("EV-BAD"), **change}, headers=EVALUATOR)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert api.get("/evaluations/EV-BAD", headers=QUALITY).status_code == 404


def test_only_evaluators_file_and_only_quality_reads(api: httpx.Client) -> None:
    assert api.post("/evaluations", json=body("EV-5")).status_code == 401
    assert api.post("/evaluations", json=body("EV-5"), headers=QUALITY).status_code == 403
    assert api.post("/evaluations", json=body("EV-5"), headers=AGENT).status_code == 403
    for path in ("/evaluations", "/evaluations/EV-1", "/evaluations/scores?month=2026-11"):
        assert api.get(path, headers=EVALUATOR).status_code == 403, path
        assert api.get(path, headers=AGENT).status_code == 403, path
    assert api.get("/evaluations/scores", params={"month": "2026-13"}, headers=QUALITY).status_code == 422
    assert api.get("/evaluations/scores", headers=QUALITY).status_code == 422
