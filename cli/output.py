"""What every auditor command prints and how it exits: PASS/FAIL lines, the verdict, exit codes."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console

from domain.certificate_checks import Check, CheckStatus, overall_verdict

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILED = 1
EXIT_UNREADABLE = 2
MARKS = {CheckStatus.PASS: "[green]PASS[/]", CheckStatus.FAIL: "[bold red]FAIL[/]",
          CheckStatus.WARN: "[yellow]NOTE[/]", CheckStatus.SKIP: "[dim]SKIP[/]"}


def die(message: str, code: int = EXIT_UNREADABLE) -> typer.Exit:
    """Print ``message`` as an error and return the ``typer.Exit`` to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def print_checks(checks: list[Check]) -> bool:
    """Print each check and the overall verdict; return whether everything passed."""
    for check in checks:
        console.print(f"{MARKS[check.status]}  [bold]{check.title}[/]: {check.summary}")
        limit = 50
        for line in check.details[:limit]:
            console.print(f"        - {line}")
        if len(check.details) > limit:
            console.print(f"        ... and {len(check.details) - limit} more")
    verdict = overall_verdict(checks)
    style = "bold green" if verdict.ok else "bold red"
    console.print(f"\n[{style}]{verdict.headline}[/]")
    return verdict.ok



def now() -> str:
    """The present, as exports and checkpoints stamp it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
