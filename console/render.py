"""Templates and the way pages show times and money: in the reader's language and time zone.

Templates are Jinja2 with autoescaping; every word on a page comes from ``console/i18n.py`` through
``t(...)``. Times are shown in the person's time zone (their preference, else the policy's calendar
time zone) with Babel's CLDR patterns for the language; money through ``domain/money.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_skeleton
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.i18n import HTML_LANG, LANGUAGE_NAMES, LANGUAGES
from console.i18n import catalog, label
from domain.encoding import parse_time
from domain.money import format_money

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = "/console/static"
CLDR = {"zh": "zh_Hans_CN", "en": "en_GB"}

_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Formatter:
    """Times and money for one reader."""

    def __init__(self, language: str, time_zone: str) -> None:
        self.language, self.tz = language, zone(time_zone)

    def time(self, value: str | datetime | None) -> str:
        if value is None or value == "":
            return "—"
        try:
            at = value if isinstance(value, datetime) else parse_time(value)
        except ValueError:
            return str(value)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return format_datetime(at.astimezone(self.tz), "medium", locale=CLDR[self.language])

    def day(self, value: date) -> str:
        """A calendar day with its weekday, short ("Wed 2 Dec", "12月2日周三"): rosters follow the week."""
        return format_skeleton("MMMEd", value, locale=CLDR[self.language])

    def money(self, amount_minor: int, currency: str) -> str:
        return format_money(amount_minor, currency, "zh" if self.language == "zh" else "en")

    def until(self, value: str | None, now: datetime) -> str:
        """What is left before ``value`` ("2 h 05 min"), or how long ago it passed."""
        if not value:
            return "—"
        seconds = int((parse_time(value) - now).total_seconds())
        words = catalog(self.language)
        sign, seconds = ("", seconds) if seconds >= 0 else ("-", -seconds)
        hours, minutes = divmod(seconds // 60, 60)
        return f"{sign}{hours} {words['unit_h']} {minutes:02d} {words['unit_min']}"


def here(request: Request) -> str:
    """The page to come back to (after a language switch): a form's answer comes back to its page."""
    path = request.url.path
    if request.method != "GET":
        parts = path.strip("/").split("/")
        return "/" + "/".join(parts[:-1]) if len(parts) >= 3 else path
    return path + (f"?{request.url.query}" if request.url.query else "")


def render(request: Request, template: str, *, language: str, time_zone: str, status_code: int = 200,
           user: Any = None, **context: Any) -> HTMLResponse:
    words = catalog(language)

    def t(key: str, **values: Any) -> str:
        text = words[key]
        return text.format(**values) if values else text

    page = _ENV.get_template(template).render(
        request=request, t=t, label=lambda kind, value: label(language, kind, value), lang=language,
        html_lang=HTML_LANG[language], languages=LANGUAGES, language_names=LANGUAGE_NAMES,
        fmt=Formatter(language, time_zone), static=STATIC, user=user, path=request.url.path, here=here(request),
        **context)
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "private, no-store"})
