"""Every word of the console exists in both languages, and every word a template asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

from console.i18n import LABELS, MESSAGES, catalog, label

TEMPLATES = Path(__file__).resolve().parents[2] / "console" / "templates"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_message_has_chinese_and_english() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh and en and zh != en or key == "app_name", key
        assert CJK.search(zh), f"{key}: the Chinese text has no Chinese"
        assert not CJK.search(en), f"{key}: the English text has Chinese"
        # Placeholders are the same in both.
        assert sorted(re.findall(r"{(\w+)}", zh)) == sorted(re.findall(r"{(\w+)}", en)), key
    for kind, values in LABELS.items():
        for value, (zh, en) in values.items():
            assert zh and en, (kind, value)
            assert CJK.search(zh) and not CJK.search(en), (kind, value)


def test_every_key_a_template_uses_exists() -> None:
    used: set[str] = set()
    kinds: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r"""\bt\(\s*["'](\w+)["']""", text))
        kinds |= set(re.findall(r"""\blabel\(\s*["'](\w+)["']""", text))
    assert used and kinds
    assert sorted(used - set(MESSAGES)) == []
    assert sorted(kinds - set(LABELS)) == []


def test_labels_fall_back_to_the_code() -> None:
    assert label("en", "status", "waiting_on_customer") == "waiting on customer"
    assert label("zh", "status", "waiting_on_customer") == "等待客户"
    assert label("en", "milestone", "a_new_kind") == "a_new_kind"
    assert catalog("xx") == catalog("zh")  # an unknown language reads Chinese, the default
