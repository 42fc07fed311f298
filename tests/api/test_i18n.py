"""The page language: ?lang wins, then Accept-Language (by weight), else Chinese."""

from __future__ import annotations

import pytest

from api.i18n import DEFAULT_LANGUAGE, negotiate


@pytest.mark.parametrize(("asked", "header", "lang"), [
    (None, "en-US,en;q=0.9", "en"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    (None, "en;q=0.3, zh;q=0.7", "zh"),  # by weight, not by order
    (None, "fr-FR, en;q=0.5", "en"),  # first one we have
    (None, "EN_us", "en"),
    (None, "zh-Hant-TW", "zh"),
    (None, "de, *;q=0.1", DEFAULT_LANGUAGE),
    (None, "", DEFAULT_LANGUAGE),
    (None, "zh;q=0, en;q=abc", DEFAULT_LANGUAGE),
    ("en", "zh-CN", "en"),
    ("xx", "en", "en"),
])
def test_language_negotiation(asked: str | None, header: str, lang: str) -> None:
    assert negotiate(asked, header) == lang
