"""The languages of the pages a person reads: Chinese and English, chosen per request.

``?lang=zh|en`` wins (the switch on every page); otherwise ``Accept-Language`` is negotiated with
``babel``; a request that names neither gets Chinese, the language of the company's customers.
Each page keeps its own words in a catalog beside its renderer, one entry per language.
"""

from __future__ import annotations

from babel.core import negotiate_locale

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
# The switch names each language in itself.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# The value for <html lang>: the Chinese pages are written in Simplified Chinese.
HTML_LANG = {"zh": "zh-Hans", "en": "en"}


def _preferred(accept_language: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower().replace("_", "-")  # babel answers the tag as given: normalise it first
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(asked: str | None, accept_language: str | None) -> str:
    """The language of one answer.

    Args:
        asked: The ``lang`` query parameter, if any.
        accept_language: The request's ``Accept-Language`` header, if any.

    Returns:
        One of :data:`LANGUAGES`.
    """
    if asked in LANGUAGES:
        return str(asked)
    found = negotiate_locale(_preferred(accept_language or ""), list(LANGUAGES), sep="-")
    return found if found in LANGUAGES else DEFAULT_LANGUAGE
