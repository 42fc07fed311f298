"""docs/evidence-format.md's worked example, checked byte for byte against our code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from eth_utils import keccak

from domain.merkle import build_tree
from domain.milestones import (
    LEAF_DOMAIN,
    canonical_bytes,
    format_time,
    kind_hash,
    leaf_hash,
    new_milestone,
    tree_leaf,
    verify_chain,
)
from settings import ROOT

DOC = (ROOT / "docs" / "evidence-format.md").read_text(encoding="utf-8")


def _examples() -> list[tuple[bytes, str]]:
    blocks = re.findall(r"```json\n(.*?)\n```", DOC, flags=re.S)
    leaves = re.findall(r"Leaf \d: `(0x[0-9a-f]{64})`", DOC)
    assert len(blocks) == 2 and len(leaves) == 2
    return [(b.encode("ascii"), leaf) for b, leaf in zip(blocks, leaves, strict=True)]


def test_documented_bytes_hash_to_documented_leaves() -> None:
    assert LEAF_DOMAIN.hex() in DOC
    for raw, leaf in _examples():
        doc = json.loads(raw)
        ours = canonical_bytes(doc["subject"], doc["seq"], doc["kind"], doc["at"], doc["prev"], doc["data"])
        assert ours == raw
        assert leaf_hash(doc["subject"], doc["seq"], doc["kind"], doc["at"], doc["prev"], doc["data"]) == leaf
        assert "0x" + keccak(LEAF_DOMAIN + raw).hex() == leaf  # independent keccak implementation


def test_building_the_example_chain_gives_the_documented_leaves() -> None:
    (raw0, leaf0), (raw1, leaf1) = _examples()
    d0, d1 = json.loads(raw0), json.loads(raw1)
    m0 = new_milestone(d0["subject"], None, d0["kind"], datetime(2026, 11, 25, 1, 30, tzinfo=UTC), d0["data"])
    m1 = new_milestone(d1["subject"], m0, d1["kind"], datetime(2026, 11, 25, 2, 0, 0, 123000, tzinfo=UTC),
                       d1["data"])
    assert (m0.leaf, m1.leaf) == (leaf0, leaf1)
    assert format_time(m1.at) == d1["at"]


def test_chain_detects_edit_deletion_and_reordering() -> None:
    links = [json.loads(raw) | {"leaf": leaf} for raw, leaf in _examples()]
    assert verify_chain(links[0]["subject"], links) == []
    edited = [dict(links[0], data={**links[0]["data"], "priority": "P1"}), links[1]]
    assert verify_chain(links[0]["subject"], edited)[0].seq == 0
    assert verify_chain(links[0]["subject"], [links[1]])  # first link deleted
    assert verify_chain(links[0]["subject"], [links[1], links[0]])  # reordered


def _documented(label: str) -> str:
    found = re.findall(label + r"[^`]*`(0x[0-9a-f]{64})`", DOC)
    assert len(found) == 1, label
    return found[0]


def test_documented_batch_formats_give_the_documented_tree_leaves_and_roots() -> None:
    (raw0, leaf0), (raw1, leaf1) = _examples()
    l0, l1 = bytes.fromhex(leaf0[2:]), bytes.fromhex(leaf1[2:])
    assert "0x" + kind_hash("opened").hex() == _documented(re.escape('`keccak256("opened")`'))
    assert "0x" + kind_hash("sla_breach").hex() == _documented(re.escape('`keccak256("sla_breach")`'))
    n0, n1 = tree_leaf(l0, "opened", 2), tree_leaf(l1, "sla_breach", 2)
    assert "0x" + n0.hex() == _documented("Tree leaf 0:") == "0x" + keccak(keccak(l0 + keccak(b"opened"))).hex()
    assert "0x" + n1.hex() == _documented("Tree leaf 1:") == "0x" + keccak(keccak(l1 + keccak(b"sla_breach"))).hex()
    assert "0x" + build_tree([n0, n1]).root.hex() == _documented("- Root:")
    assert "0x" + build_tree([l0, l1]).root.hex() == _documented("as format 1 the same batch has root")
    assert tree_leaf(l0, "opened", 1) == l0  # format 1: the milestone leaf itself


def test_non_ascii_text_is_escaped_so_every_implementation_hashes_the_same_bytes() -> None:
    # Chinese team names and categories are common; the format fixes them as \uXXXX escapes.
    raw = canonical_bytes("T-1", 0, "opened", "2026-11-25T01:30:00.000000Z", "0x" + "00" * 32,
                          {"team": "售后服务"})
    assert b'"team":"\\u552e\\u540e\\u670d\\u52a1"' in raw
    assert json.loads(raw)["data"]["team"] == "售后服务"


@pytest.mark.parametrize("data", [{"amount": 100}, {"amount": None}, {1: "x"}, {"note": b"x"}])
def test_milestone_data_other_than_text_is_refused_not_hashed(data: dict[object, object]) -> None:
    # A number would hash as 100 here and as "100" in another implementation: refused outright.
    with pytest.raises(TypeError, match="str to str"):
        canonical_bytes("T-1", 0, "opened", "2026-11-25T01:30:00.000000Z", "0x" + "00" * 32,
                        data)  # type: ignore[arg-type]


def test_a_new_milestone_keeps_its_subject_and_links_to_the_previous_one() -> None:
    at = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    first = new_milestone("T-7", None, "opened", at)
    second = new_milestone("T-7", first, "assigned", at, {"agent": "a1"})
    assert (first.subject, first.seq, first.prev) == ("T-7", 0, "0x" + "00" * 32)
    assert (second.subject, second.seq, second.prev, second.data) == ("T-7", 1, first.leaf, {"agent": "a1"})


def test_chain_problems_name_the_link_at_fault() -> None:
    links = [json.loads(raw) | {"leaf": leaf} for raw, leaf in _examples()]
    gap = verify_chain(links[0]["subject"], [links[1]])  # first link deleted
    assert [p.seq for p in gap] == [1, 1]
    assert "sequence 1 where 0 was expected" in gap[0].problem
