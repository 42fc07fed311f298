"""Sign-in, sign-out, invitations, preferences and the admin page of users and roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, PolicyDep, SessionDep, SettingsDep
from api.i18n import LANGUAGES, negotiate
from api.schemas import AUTH, BODY, RequestBody, problems
from console.auth import (
    LOGIN_CSRF_COOKIE,
    MIN_PASSWORD,
    PREFIX,
    ROLES,
    SESSION_COOKIE,
    ConsoleUser,
    UserDep,
    check_csrf,
    digest,
    hash_password,
    new_token,
    password_problem,
    require,
    set_cookie,
    sign_in,
)
from console.forms import FormError, checked, one, read_form
from console.render import render
from readmodel import accounts
from readmodel.alert_models import Person
from settings import Settings

router = APIRouter(prefix=PREFIX, include_in_schema=False)
api_router = APIRouter(prefix=f"{PREFIX}/api", tags=["console accounts"])

PERSON_ID = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$"
TIME_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/London",
              "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")
AdminUser = Annotated[ConsoleUser, require()]


class InviteBody(RequestBody):
    """An invitation: who the person is (the directory entry) and their role."""

    person_id: str = Field(pattern=PERSON_ID)
    display_name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")
    email: str = Field(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")
    team: str = Field("", max_length=64, pattern=r"^([a-z0-9][a-z0-9_-]{0,63})?$")
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    suppliers: str = Field("", max_length=1000, pattern=r"^(\*|[A-Za-z0-9_.|-]*)$")


class Invitation(BaseModel):
    person_id: str
    role: str
    invite_url: str
    expires_at: str


def _safe_next(value: str) -> str:
    """Only a path of the console: never another site (an open redirect) or a protocol-relative URL."""
    return value if re.fullmatch(r"/console(/[A-Za-z0-9_./?=&%-]*)?", value) and "//" not in value else "/console"


def _language(request: Request, asked: str | None = None) -> str:
    return negotiate(asked or request.query_params.get("lang"), request.headers.get("accept-language"))


def _invite(session: Any, settings: Settings, body: InviteBody) -> Invitation:
    now = datetime.now(UTC)
    token = new_token()
    expires = now + timedelta(hours=settings.console_invite_hours)
    person = Person(id=body.person_id, display_name=body.display_name, email=body.email, team=body.team,
                    role=body.role, active=True, updated_at=now)
    suppliers = body.suppliers if body.role == "supplier_manager" else ""
    accounts.invite(session=session, person=person, role=body.role, suppliers=suppliers, invite_hash=digest(token),
                    expires_at=expires, now=now)
    # The token travels in the fragment: browsers never send it, so no access log ever holds it.
    url = f"{settings.public_base_url.rstrip('/')}{PREFIX}/invite#{token}"
    return Invitation(person_id=body.person_id, role=body.role, invite_url=url, expires_at=expires.isoformat())


@api_router.post("/invitations", response_model=Invitation, status_code=status.HTTP_201_CREATED,
                  responses=problems(*AUTH, *BODY))
def invite_by_key(body: InviteBody, caller: AdminDep, session: SessionDep, settings: SettingsDep) -> Invitation:
    """Invite a person to the console (admin API key): the first administrator is invited this way."""
    return _invite(session, settings, body)


def _login_page(request: Request, settings: Settings, language: str, *, problem: str = "", notice: str = "",
                person_id: str = "", next_path: str = "/console", status_code: int = 200) -> Response:
    csrf = new_token()
    response = render(request, "login.html", language=language, time_zone="UTC", status_code=status_code,
                      csrf=csrf, problem=problem, notice=notice, person_id=person_id, next_path=next_path,
                      attempts=settings.console_login_attempts, minutes=int(settings.console_lockout_minutes))
    set_cookie(response, LOGIN_CSRF_COOKIE, csrf, 3600)
    return response


@router.get("/login")
def login_page(request: Request, settings: SettingsDep, next: str = "/console", notice: str = "") -> Response:
    notice = notice if notice in ("signed_out", "password_set") else ""
    return _login_page(request, settings, _language(request), next_path=_safe_next(next), notice=notice)


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await read_form(request)
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), one(form, "csrf"))
    language = _language(request, one(form, "lang"))
    person_id, password = one(form, "person_id")[:64], one(form, "password")
    outcome = await run_in_threadpool(sign_in, session, settings, person_id, password)
    if isinstance(outcome, str):
        return _login_page(request, settings, language, problem=outcome, person_id=person_id,
                           next_path=_safe_next(one(form, "next")), status_code=status.HTTP_401_UNAUTHORIZED)
    token, _user = outcome
    response = RedirectResponse(_safe_next(one(form, "next", "/console")), status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(response, SESSION_COOKIE, token, int(settings.console_session_hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX, secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, user: UserDep, session: SessionDep) -> Response:
    check_csrf(user.csrf, one(await read_form(request), "csrf"))
    accounts.end_session(session=session, token_hash=user.token_hash)
    response = RedirectResponse(f"{PREFIX}/login?notice=signed_out&lang={user.language}",
                                status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True, samesite="strict")
    return response


@router.get("")
def home(user: UserDep) -> Response:
    target = {"supplier_manager": "suppliers", "admin": "admin"}.get(user.role, "board")
    return RedirectResponse(f"{PREFIX}/{target}", status_code=status.HTTP_303_SEE_OTHER)


def _invite_page(request: Request, language: str, *, problem: str = "", status_code: int = 200) -> Response:
    csrf = new_token()
    response = render(request, "invite.html", language=language, time_zone="UTC", status_code=status_code,
                      csrf=csrf, problem=problem, minimum=MIN_PASSWORD)
    set_cookie(response, LOGIN_CSRF_COOKIE, csrf, 3600)
    return response


@router.get("/invite")
def invite_page(request: Request) -> Response:
    """The page an invitation link opens; its script moves the code from the link's fragment into the form."""
    return _invite_page(request, _language(request))


@router.post("/invite")
async def accept_invite(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await read_form(request)
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), one(form, "csrf"))
    language = _language(request, one(form, "lang"))
    token, password = one(form, "token").strip()[:100], one(form, "password")
    now = datetime.now(UTC)
    account = accounts.by_invitation(session=session, invite_hash=digest(token), now=now) if token else None
    if account is None:
        return _invite_page(request, language, problem="invite_invalid", status_code=status.HTTP_403_FORBIDDEN)
    problem = password_problem(password, account.person_id)
    if problem is None and password != one(form, "repeat"):
        problem = "passwords_differ"
    if problem is not None:
        return _invite_page(request, language, problem=problem, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    hashed = await run_in_threadpool(hash_password, settings, password)
    accounts.set_password(session=session, person_id=account.person_id, password_hash=hashed, now=now)
    accounts.set_preferences(session=session, person_id=account.person_id, language=language,
                             time_zone=account.time_zone, now=now)
    return RedirectResponse(f"{PREFIX}/login?notice=password_set&lang={language}",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.get("/preferences")
def preferences_page(request: Request, user: UserDep, policy: PolicyDep) -> Response:
    return render(request, "preferences.html", language=user.language, time_zone=_zone(user, policy), user=user,
                  zones=TIME_ZONES, current=user.time_zone or policy.calendar.timezone)


def _zone(user: ConsoleUser, policy: Any) -> str:
    return user.time_zone or str(policy.calendar.timezone)


@router.post("/preferences")
async def set_preferences(request: Request, user: UserDep, session: SessionDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    language = one(form, "language", user.language)
    zone = one(form, "time_zone", user.time_zone)
    if language not in LANGUAGES:
        raise FormError(["language"], f"language: one of {', '.join(LANGUAGES)}")
    if zone and zone not in TIME_ZONES:
        raise FormError(["time_zone"], "time_zone: not a time zone the console offers")
    accounts.set_preferences(session=session, person_id=user.person_id, language=language, time_zone=zone,
                             now=datetime.now(UTC))
    return RedirectResponse(_safe_next(one(form, "next", "/console")), status_code=status.HTTP_303_SEE_OTHER)


def _admin_page(request: Request, user: ConsoleUser, session: Any, policy: Any, *, status_code: int = 200,
                **context: Any) -> Response:
    rows, _ = accounts.list_accounts(session=session)
    return render(request, "admin.html", language=user.language, time_zone=_zone(user, policy), user=user,
                  status_code=status_code, accounts=rows, roles=ROLES, **context)


@router.get("/admin")
def admin_page(request: Request, user: AdminUser, session: SessionDep, policy: PolicyDep) -> Response:
    return _admin_page(request, user, session, policy)


@router.post("/admin/invite")
async def admin_invite(request: Request, user: AdminUser, session: SessionDep, settings: SettingsDep,
                       policy: PolicyDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    fields = ("person_id", "display_name", "email", "team", "role", "suppliers")
    try:
        body = checked(InviteBody, {name: one(form, name) for name in fields})
    except FormError as exc:
        return _admin_page(request, user, session, policy, status_code=exc.status_code, problem=exc.detail)
    invitation = _invite(session, settings, body)
    return _admin_page(request, user, session, policy, status_code=status.HTTP_201_CREATED,
                       invite_link=invitation.invite_url, invited=body.person_id)


class RoleBody(RequestBody):
    person_id: str = Field(pattern=PERSON_ID)
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    suppliers: str = Field("", max_length=1000, pattern=r"^(\*|[A-Za-z0-9_.|-]*)$")
    active: bool


@router.post("/admin/role")
async def admin_role(request: Request, user: AdminUser, session: SessionDep, policy: PolicyDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        body = checked(RoleBody, {"person_id": one(form, "person_id"), "role": one(form, "role"),
                                  "suppliers": one(form, "suppliers"), "active": one(form, "active") == "1"})
    except FormError as exc:
        return _admin_page(request, user, session, policy, status_code=exc.status_code, problem=exc.detail)
    if body.person_id == user.person_id and (body.role != "admin" or not body.active):
        return _admin_page(request, user, session, policy, status_code=status.HTTP_409_CONFLICT,
                           problem="person_id: an administrator cannot take away their own access")
    if not accounts.set_role(session=session, person_id=body.person_id, role=body.role,
                             suppliers=body.suppliers if body.role == "supplier_manager" else "",
                             active=body.active, now=datetime.now(UTC)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {body.person_id}")
    return RedirectResponse(f"{PREFIX}/admin", status_code=status.HTTP_303_SEE_OTHER)

