"""The case library over real HTTP (rule 13): Chinese and English keyword search, filters, similar cases
for a new ticket, and the routes' answers to hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from analysis.cases import CaseDoc, typical_cases
from analysis.generator import GeneratedTicket
from cli.data import ticket_rows, write_typical_cases
from readmodel import analysis as store
from readmodel import cases as case_store
from readmodel.db import session_scope
from settings import Settings
from tests.helpers import serve_api_with, tmp_db_url

AGENT = {"X-API-Key": "k-agent"}
PLANTED = [
    CaseDoc(id="seed:planted-zh", source="seed", problem="冷柜压缩机结霜严重，制冷失效，食材变质",
            cause="defrost_sensor", measure="更换除霜温控器，并在保养清单中加入除霜检查", outcome="同类报修下降 60%",
            category="after_sales", team="after-sales", step="diagnosis", lang="zh"),
    CaseDoc(id="seed:planted-en", source="seed", problem="chest freezer compressor frosting over, stopped cooling",
            cause="defrost_sensor", measure="replace the defrost thermostat; defrost check added to maintenance",
            outcome="repeat repairs down 60%", category="after_sales", team="after-sales", step="diagnosis",
            lang="en"),
]


def _new_ticket(ticket_id: str, text: str) -> GeneratedTicket:
    now = datetime.now(UTC)
    return GeneratedTicket(id=ticket_id, created_at=now, category="after_sales", team="after-sales", channel="app",
                           priority="P2", summary=text[:80], description=text, lang="zh", customer="C1",
                           root_cause="", failed=False, step=None, problem=None)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp: Path = tmp_path_factory.mktemp("cases-api")
    url = tmp_db_url(tmp)
    assert write_typical_cases(url, 240, 13) == 240
    with session_scope(url) as session:
        case_store.add_cases(session, [asdict(c) for c in PLANTED])
        leak = "新工单：滚筒洗衣机门封漏水，师傅上门检查说正常，第二天又漏水了"
        rows, facts = ticket_rows([_new_ticket("T-new-leak", leak), _new_ticket("T-new-other", "zzz qqq")])
        for row in rows:
            row["status"], row["root_cause"] = "open", None
        store.insert_history(session, rows, facts)
        session.commit()
    settings = Settings(database_url=url, var_dir=tmp,  # type: ignore[call-arg]
                        api_keys="k-agent:agent,k-merchant:merchant,k-quality:quality")  # type: ignore[arg-type]
    with serve_api_with(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_typical_cases_are_generated_not_typed() -> None:
    cases = typical_cases(240, 13)
    assert len(cases) == 240 and len({c.id for c in cases}) == 240
    assert {c.lang for c in cases} == {"zh", "en"} and len({c.cause for c in cases}) == 10
    assert typical_cases(240, 13) == cases  # the same seed, the same library


@pytest.mark.parametrize(("query", "planted"), [("冷柜结霜", "seed:planted-zh"), ("制冷失效 压缩机", "seed:planted-zh"),
                                                 ("freezer frosting", "seed:planted-en"),
                                                 ("compressor stopped cooling", "seed:planted-en")])
def test_search_returns_the_planted_case_first(api: httpx.Client, query: str, planted: str) -> None:
    answer = api.get("/cases", params={"q": query}, headers=AGENT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"][0]["id"] == planted and body["data"][0]["measure"]
    assert body["count"] == len(body["data"]) >= 1


def test_filters_narrow_the_search(api: httpx.Client) -> None:
    both = api.get("/cases", params={"q": "漏水 leak", "limit": 50}, headers=AGENT).json()["data"]
    assert {c["lang"] for c in both} == {"zh", "en"}
    english = api.get("/cases", params={"q": "漏水 leak", "lang": "en", "limit": 50}, headers=AGENT).json()["data"]
    assert english and {c["lang"] for c in english} == {"en"} and {c["cause"] for c in english} == {"misdiagnosis"}
    billing = api.get("/cases", params={"q": "charged twice refund", "team": "billing"}, headers=AGENT).json()["data"]
    assert billing and {c["team"] for c in billing} == {"billing"}
    none = api.get("/cases", params={"q": "charged twice refund", "team": "logistics", "source": "meeting"},
                   headers=AGENT).json()
    assert none == {"query": "charged twice refund", "count": 0, "data": []}


def test_similar_cases_appear_for_a_new_ticket(api: httpx.Client) -> None:
    answer = api.get("/tickets/T-new-leak/similar-cases", headers=AGENT)
    assert answer.status_code == 200, answer.text
    cases = answer.json()["data"]
    assert len(cases) == 5 and all(c["cause"] == "misdiagnosis" for c in cases)
    two = api.get("/tickets/T-new-leak/similar-cases", params={"limit": 2}, headers=AGENT).json()["data"]
    assert len(two) == 2
    assert api.get("/tickets/T-new-other/similar-cases", headers=AGENT).json() == {"ticket_id": "T-new-other",
                                                                                   "data": []}
    missing = api.get("/tickets/T-nobody/similar-cases", headers=AGENT)
    assert missing.status_code == 404 and "T-nobody" in missing.json()["detail"]
    for path, params, field in (("/tickets/bad%20id!/similar-cases", {}, "ticket_id"),
                                ("/tickets/" + "T" * 65 + "/similar-cases", {}, "ticket_id"),
                                ("/tickets/%ED%A0%80abc/similar-cases", {}, "ticket_id"),
                                ("/tickets/T-new-leak/similar-cases", {"limit": 0}, "limit"),
                                ("/tickets/T-new-leak/similar-cases", {"limit": 10**30}, "limit")):
        answer = api.get(path, params=params, headers=AGENT)
        assert answer.status_code == 422, (path, answer.text)
        assert any(e["loc"][-1] == field for e in answer.json()["detail"])


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "x" * 501}, "q"), ({"q": "a\x00b"}, "q"), ({"q": "\ud800"}, "q"),
    ({"q": "leak", "limit": 0}, "limit"), ({"q": "leak", "limit": 51}, "limit"), ({"q": "leak", "limit": "x"}, "limit"),
    ({"q": "leak", "lang": "fr"}, "lang"), ({"q": "leak", "source": "x"}, "source"),
    ({"q": "leak", "team": "Bad Team!"}, "team"), ({"q": "leak", "category": "a" * 65}, "category"),
])
def test_search_refuses_bad_input_naming_the_field(api: httpx.Client, params: dict[str, object], field: str) -> None:
    if params.get("q") == "\ud800":
        answer = api.get("/cases?q=%ED%A0%80", headers=AGENT)  # the UTF-8-ish bytes of a lone surrogate
        assert answer.status_code in (200, 422), answer.text  # undecodable bytes: replaced, never a 500
        return
    answer = api.get("/cases", params=params, headers=AGENT)
    assert answer.status_code == 422, answer.text
    assert any(e["loc"][-1] == field for e in answer.json()["detail"])


def test_search_cost_is_bounded(api: httpx.Client) -> None:
    # The longest query allowed, of many distinct words, in both scripts: answered, and quickly.
    words = " ".join(f"w{i} 漏水{i}" for i in range(60))[:500]
    answer = api.get("/cases", params={"q": words, "limit": 50}, headers=AGENT)
    assert answer.status_code == 200 and answer.elapsed.total_seconds() < 2
    assert api.get("/cases", params={"q": "leak"}, headers={"X-API-Key": "k-merchant"}).status_code == 403
    assert api.get("/tickets/T-new-leak/similar-cases").status_code == 401


def test_analysis_routes_refuse_bad_input_and_unknown_things(api: httpx.Client) -> None:
    quality = {"X-API-Key": "k-quality"}
    assert api.get("/analysis/runs/latest", headers=AGENT).status_code == 403
    assert api.get("/analysis/proposals", headers=AGENT).status_code == 403
    assert api.get("/analysis/proposals/P-00", headers={"X-API-Key": "nope"}).status_code == 401
    none = api.get("/analysis/runs/latest", headers=quality)
    assert none.status_code == 404 and "no analysis" in none.json()["detail"]
    assert api.get("/analysis/runs/2026-07-01", headers=quality).status_code == 404
    assert api.get("/analysis/proposals", headers=quality).json() == {"data": []}
    unknown = "P-" + "0" * 16
    for answer in (api.get(f"/analysis/proposals/{unknown}", headers=quality),
                   api.post(f"/analysis/proposals/{unknown}/accept", headers=quality)):
        assert answer.status_code == 404 and unknown in answer.json()["detail"]
    for path, params, field in (("/analysis/runs/2026-13-01", {}, "run_key"),
                                ("/analysis/runs/%ED%A0%80", {}, "run_key"),
                                ("/analysis/proposals/P-xyz", {}, "problem_key"),
                                ("/analysis/proposals/" + "P-" + "a" * 5000, {}, "problem_key"),
                                ("/analysis/proposals", {"status": "open\x00"}, "status")):
        answer = api.get(path, params=params, headers=quality)
        assert answer.status_code == 422, (path, answer.text)
        assert any(e["loc"][-1] == field for e in answer.json()["detail"]), answer.text
    bad = api.post("/analysis/proposals/P-xyz/accept", headers=quality, content=b"[" * 10000)
    assert bad.status_code == 422
