"""`qualitrail audit ...`: verify certificates and the whole anchored record against your own node.

Nothing here trusts the operator's servers for a verdict. ``verify`` reads a certificate file (or
fetches the certificate a QR photo points to, and checks it is the one the QR names) and checks it
against the RPC endpoint *you* pass. ``export`` (run by the operator) writes every anchored leaf;
``replay`` rebuilds every batch from such an export and compares it with the registry's events
on your node. ``checkpoint save``/``check`` pin roots and block hashes you have seen, signed with
your own key, so a later rewrite of the chain is caught.

Exit status: 0 when everything checks, 1 when any check fails (the output names what failed),
2 when the input cannot be read at all.

Run as ``python -m cli.audit`` or, once mounted on the root CLI, ``qualitrail audit``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import typer

from cli.checkpoint import checkpoint_app
from cli.output import EXIT_FAILED, MARKS, console, die, now, print_checks
from cli.points_audit import points
from cli.replay import EXPORT_FORMAT, replay
from cli.report_audit import report
from cli.sample_audit import sample
from domain.certificate import CertificateFormatError, parse_certificate
from domain.certificate_checks import CheckStatus, overall_verdict

audit_app = typer.Typer(
    help="Auditor tools: verify certificates, replay the anchored record, pin checkpoints — against "
    "your own EVM node, trusting nothing but the chain.",
    no_args_is_help=True,
)
audit_app.add_typer(checkpoint_app, name="checkpoint")
audit_app.command()(replay)
audit_app.command()(points)
audit_app.command()(sample)
audit_app.command()(report)


# ---------------------------------------------------------------------------------- verify


def _read_qr(path: Path) -> str:
    import zxingcpp
    from PIL import Image

    with Image.open(path) as image:
        results = zxingcpp.read_barcodes(image.convert("RGB"))
    texts = [r.text for r in results if r.text]
    if not texts:
        raise die(f"no QR code found in {path}")
    return str(texts[0])


def _fetch_from_qr(url: str, timeout: float) -> tuple[bytes, str, str]:
    """Fetch the certificate a QR URL names. Returns (its bytes, digest from the QR, ticket id)."""
    import httpx

    parts = urlsplit(url)
    digest = (parse_qs(parts.query).get("d") or [""])[0]
    if parts.scheme not in ("http", "https") or "/verify/" not in parts.path or not digest:
        raise die(f"the QR code does not hold a Qualitrail verification URL: {url}")
    ticket_id = unquote(parts.path.rsplit("/verify/", 1)[1])
    try:
        # Only to obtain the document: every check below runs locally and against your node.
        response = httpx.get(url, headers={"Accept": "application/json"}, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise die(f"could not fetch the certificate from {url}: {exc}") from exc
    if response.status_code == 404:
        # The server answers an unknown ticket and a digest it cannot match alike (it must not reveal
        # which ids exist), so the tool cannot tell them apart either.
        console.print(f"{MARKS[CheckStatus.FAIL]}  [bold]Matches the QR code[/]: the server has no certificate "
                      f"with the QR code's digest {digest} for ticket {ticket_id} (the record was changed since "
                      "the QR code was made, or the code is not this server's)")
        console.print("\n[bold red]NOT VERIFIED: Matches the QR code.[/]")
        raise typer.Exit(EXIT_FAILED)
    if response.status_code != 200:
        raise die(f"{url} answered {response.status_code}: {response.text[:300]}")
    return response.content, digest, ticket_id


@audit_app.command()
def verify(
    source: Path = typer.Argument(..., help="certificate.json, or a PNG/JPEG photo of its QR code"),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of YOUR node (or a fork of the chain)"),
    signer: str | None = typer.Option(None, "--signer", help="operator signing address you trust"),
    registry: str | None = typer.Option(None, "--registry", help="registry address you trust"),
    min_confirmations: int = typer.Option(1, "--min-confirmations", min=1,
                                          help="blocks required on top of each anchor (anchor block included)"),
    offline: bool = typer.Option(False, "--offline", help="skip the chain checks"),
    save: Path | None = typer.Option(None, "--save", help="write the certificate fetched from a QR code here"),
    as_json: bool = typer.Option(False, "--json", help="print the checks as JSON"),
    timeout: float = typer.Option(20.0, "--timeout", help="seconds per network request"),
) -> None:
    """Verify a certificate: digest, signature, hash chain, Merkle proofs, roots and vouchers on chain."""
    from certificates.verify import verify_certificate
    from chain.rpc import connect

    if not source.exists():
        raise die(f"{source} does not exist")
    if rpc is None and not offline:
        raise die("give --rpc URL (your own node, so the chain checks trust nobody) or --offline")
    raw = source.read_bytes()
    expected_digest: str | None = None
    if raw[:8] == b"\x89PNG\r\n\x1a\n" or raw[:3] == b"\xff\xd8\xff" or source.suffix.lower() in (".png", ".jpg",
                                                                                                 ".jpeg"):
        url = _read_qr(source)
        if not as_json:
            console.print(f"QR code: {url}")
        raw, expected_digest, ticket_id = _fetch_from_qr(url, timeout)
    # A file or a server's answer, read one way: shape and nesting depth checked before anything else
    # (a hostile server's deeply nested JSON is a failed verification, not a crash).
    try:
        cert = parse_certificate(raw)
    except CertificateFormatError as exc:
        # A damaged file is a failed verification, not a usage error: say what is wrong.
        console.print(f"{MARKS[CheckStatus.FAIL]}  [bold]Readable certificate[/]: {exc}")
        console.print("\n[bold red]NOT VERIFIED: Readable certificate.[/]")
        raise typer.Exit(EXIT_FAILED) from exc
    if expected_digest is not None:
        if cert.get("ticket_id") != ticket_id:
            console.print(f"{MARKS[CheckStatus.FAIL]}  [bold]Matches the QR code[/]: the QR code names ticket "
                          f"{ticket_id}, the certificate is about {cert.get('ticket_id')}")
            raise typer.Exit(EXIT_FAILED)
        if save is not None:
            save.write_text(json.dumps(cert, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    w3 = None if offline or rpc is None else connect(rpc, timeout=timeout)
    checks = verify_certificate(cert, w3=w3, trusted_signer=signer, expected_digest=expected_digest,
                                min_confirmations=min_confirmations, trusted_registry=registry)
    if as_json:
        print(json.dumps({"ok": overall_verdict(checks).ok, "checks": [c.as_dict() for c in checks]}, indent=2))
        ok = overall_verdict(checks).ok
    else:
        if isinstance(cert, dict):
            console.print(f"Certificate for ticket [bold]{cert.get('ticket_id')}[/], digest "
                          f"{cert.get('digest')}, checked against {'no node' if offline else rpc}")
        ok = print_checks(checks)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


# ---------------------------------------------------------------------------------- export


@audit_app.command()
def export(
    out: Path = typer.Option(..., "--out", help="file to write (JSON Lines)"),
    database_url: str | None = typer.Option(None, "--database-url", help="read model (default: settings)"),
) -> None:
    """Write every anchored leaf of the read model (for `replay`), in batch and tree order."""
    from readmodel.db import session_scope
    from readmodel.evidence import anchored_leaves, batch_formats
    from settings import get_settings

    url = database_url or get_settings().db_url
    count = 0
    with session_scope(url) as session, out.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"format": EXPORT_FORMAT, "exported_at": now()}) + "\n")
        index: dict[int, int] = defaultdict(int)
        formats = batch_formats(session=session)
        for m in anchored_leaves(session=session):
            assert m.batch_no is not None
            # Tree order is ascending row id within a batch (readmodel.evidence): record the position
            # so the export stays replayable whatever order a reader keeps the lines in.
            record = {"subject": m.subject, "seq": m.seq, "kind": m.kind, "at": m.at, "prev": m.prev,
                      "data": json.loads(m.data), "leaf": m.leaf, "batch_no": m.batch_no,
                      "index": index[m.batch_no]}
            index[m.batch_no] += 1
            if formats.get(m.batch_no, 1) != 1:
                record["batch_format"] = formats[m.batch_no]  # absent: format 1, as in older exports
            handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1

def main() -> None:
    """Entry point for ``python -m cli.audit``."""
    try:
        audit_app()
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    main()
