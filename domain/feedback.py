"""Feedback from every channel (rule 14): the policy's triage rules, the spam score, duplicate keys.

Pure code shared by the intake (API, e-mail receiver), the triage workflow and its activities.

Triage, in order (each step documented in ``config/policy.toml`` ``[feedback]``):

1. A spam score at or above ``spam_threshold`` makes the feedback ``spam``: kept, never a ticket.
2. The first keyword rule whose keywords occur in the text (case-insensitive) decides the kind, and
   for a complaint or request the category, priority and team; no rule: the kind the sender chose
   (``kinds``), ``request`` when they chose none.
3. A ``suggestion`` is recorded as a suggestion.
4. A complaint or request from a customer with an open ticket is attached to that ticket (when
   ``attach_to_open_ticket``); otherwise it becomes a new ticket.

The spam score adds ``link_points`` per link (``http://``, ``https://``, ``www.``), ``word_points``
per listed spam word found, and ``repeat_points`` once when one character repeats
``repeat_run`` times in a row. It is deliberately simple and explainable: a sender whose message
scored as spam still has it kept and visible to staff.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FeedbackKind = Literal["complaint", "request", "suggestion"]
FEEDBACK_KINDS: tuple[str, ...] = ("complaint", "request", "suggestion")
FeedbackChannel = Literal["web", "app", "branch", "email", "observer"]
Outcome = Literal["ticket", "attached", "suggestion", "spam"]
CODE = r"^[a-z0-9][a-z0-9_-]{0,63}$"
LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TicketShape(_Strict):
    """What a complaint or request becomes: the new ticket's category, priority and team."""

    category: str = Field(pattern=CODE)
    priority: Literal["P1", "P2", "P3", "P4"] = "P3"
    team: str = Field("", pattern=r"^([a-z0-9][a-z0-9_-]{0,63})?$")  # "": the default team


class TriageRule(_Strict):
    name: str = Field(pattern=CODE)
    keywords: list[str] = Field(min_length=1, max_length=200)
    kind: FeedbackKind
    category: str = Field("", pattern=r"^([a-z0-9][a-z0-9_-]{0,63})?$")
    priority: Literal["P1", "P2", "P3", "P4"] = "P3"
    team: str = Field("", pattern=r"^([a-z0-9][a-z0-9_-]{0,63})?$")

    @field_validator("keywords")
    @classmethod
    def _non_empty(cls, keywords: list[str]) -> list[str]:
        if any(not k.strip() for k in keywords):
            raise ValueError("keywords must not be empty")
        return keywords


class SpamModel(_Strict):
    link_points: int = Field(1, ge=0, le=100)
    words: list[str] = Field(default_factory=list, max_length=500)
    word_points: int = Field(3, ge=0, le=100)
    repeat_run: int = Field(12, ge=2, le=1000)
    repeat_points: int = Field(2, ge=0, le=100)


class FeedbackModel(_Strict):
    """``[feedback]`` of the policy file."""

    max_text_chars: int = Field(2000, ge=10, le=20_000)
    max_email_bytes: int = Field(64 * 1024, ge=1024, le=10 * 1024 * 1024)
    duplicate_window_hours: float = Field(24, ge=0, le=24 * 366)
    spam_threshold: int = Field(4, ge=1, le=1000)
    attach_to_open_ticket: bool = True
    default_team: str = Field("after-sales", pattern=CODE)
    rules: list[TriageRule] = Field(default_factory=list, max_length=100)
    kinds: dict[str, TicketShape] = Field(default_factory=lambda: {
        "complaint": TicketShape(category="complaint"), "request": TicketShape(category="after_sales")})
    spam: SpamModel = Field(default_factory=SpamModel)

    @field_validator("kinds")
    @classmethod
    def _both_kinds(cls, kinds: dict[str, TicketShape]) -> dict[str, TicketShape]:
        if sorted(kinds) != ["complaint", "request"]:
            raise ValueError("kinds must give the ticket shape of exactly complaint and request")
        return kinds


class ObserversModel(_Strict):
    """``[observers]``: the customer observer panel (rule 15)."""

    max_active: int = Field(100, ge=1, le=100_000)
    term_days: float = Field(365, gt=0, le=3660)
    review_days: float = Field(14, gt=0, le=90)
    reminder_days: list[float] = Field(default_factory=lambda: [7.0, 12.0], max_length=10)
    meeting_after_days: float = Field(21, gt=0, le=120)
    suggestion_category: str = Field("observer_suggestion", pattern=CODE)
    suggestion_priority: Literal["P1", "P2", "P3", "P4"] = "P2"
    suggestion_team: str = Field("quality", pattern=CODE)


# ---------------------------------------------------------------- workflow inputs and results


@dataclass
class FeedbackInput:
    """The triage workflow's input: the stored feedback's reference, nothing personal."""

    ref: str


@dataclass
class TriageDecision:
    ref: str
    outcome: str  # an Outcome
    kind: str
    rule: str
    category: str = ""
    priority: str = ""
    team: str = ""
    ticket_id: str = ""  # the new ticket (outcome ticket) or the open one (attached)
    spam_score: int = 0


@dataclass
class TriageFacts:
    """What triage needs to know about a stored feedback, read by an activity."""

    text: str
    kind_asked: str
    spam_score: int
    open_ticket: str | None
    observer: bool = False  # an enrolled observer's suggestion: always its own, faster ticket


# ---------------------------------------------------------------- pure rules


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: how duplicates and keywords are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def spam_score(text: str, spam: SpamModel) -> int:
    """The documented spam score of a text (see the module docstring)."""
    norm = normalise(text)
    score = spam.link_points * len(LINK.findall(norm))
    score += spam.word_points * sum(1 for w in spam.words if normalise(w) in norm)
    if re.search(r"(.)\1{" + str(spam.repeat_run - 1) + ",}", norm):
        score += spam.repeat_points
    return score


def duplicate_key(customer_key: str, text: str) -> str:
    """Same customer, same words (normalised, whitespace ignored: Chinese needs none): the same key."""
    words = "".join(normalise(text).split())
    return hashlib.sha256(f"{customer_key}\x00{words}".encode()).hexdigest()


def triage(ref: str, facts: TriageFacts, policy: FeedbackModel, ticket_id: str,
           observers: ObserversModel | None = None) -> TriageDecision:
    """Decide what one piece of feedback becomes (the module docstring gives the order).

    An observer's suggestion (rule 15) skips the rules: it is a ticket of the observers' own category,
    priority and team, whose shorter targets the policy gives that category.
    """
    if facts.observer and observers is not None:
        return TriageDecision(ref, "ticket", "suggestion", "observer", observers.suggestion_category,
                              observers.suggestion_priority, observers.suggestion_team, ticket_id, facts.spam_score)
    if facts.spam_score >= policy.spam_threshold:
        return TriageDecision(ref, "spam", facts.kind_asked or "request", "spam", spam_score=facts.spam_score)
    norm = normalise(facts.text)
    rule = next((r for r in policy.rules if any(normalise(k) in norm for k in r.keywords)), None)
    kind: str
    priority: str
    if rule is not None:
        kind, name = rule.kind, rule.name
        shape = policy.kinds.get(kind)
        category = rule.category or (shape.category if shape else "")
        priority, team = rule.priority, rule.team or (shape.team if shape else "")
    else:
        kind = facts.kind_asked if facts.kind_asked in FEEDBACK_KINDS else "request"
        name = f"kind:{kind}"
        shape = policy.kinds.get(kind)
        category, priority, team = (shape.category, shape.priority, shape.team) if shape else ("", "", "")
    if kind == "suggestion":
        return TriageDecision(ref, "suggestion", kind, name, spam_score=facts.spam_score)
    team = team or policy.default_team
    if facts.open_ticket and policy.attach_to_open_ticket:
        return TriageDecision(ref, "attached", kind, name, category, priority, team, facts.open_ticket,
                              facts.spam_score)
    return TriageDecision(ref, "ticket", kind, name, category, priority, team, ticket_id, facts.spam_score)


def feedback_ticket_id(ref: str) -> str:
    """The ticket a feedback becomes, if it becomes one: fixed at intake, so the receipt can name it."""
    return "T-" + ref


def summary_of(text: str, limit: int = 80) -> str:
    """A ticket summary from the feedback's first line."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "") or "feedback"
    return first if len(first) <= limit else first[: limit - 1] + "…"
