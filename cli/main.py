"""`qualitrail ...` entry point (Typer)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import typer

from settings import ROOT, bound_recursion_limit, get_settings

app = typer.Typer(help="Qualitrail: service-quality supervision engine.", no_args_is_help=True)
chain_app = typer.Typer(help="Contracts on the configured EVM chain.", no_args_is_help=True)
policy_app = typer.Typer(help="The SLA policy file.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(policy_app, name="policy")


def _exit(code: int) -> None:
    # Skip interpreter teardown once output is flushed: a process that used a Temporal client can
    # abort there (sdk-python #300) and turn a success into a random failure.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def run(var_dir: Path = typer.Option(ROOT / "var", help="where state lives (survives restarts)"),
        api_port: int = 8000, mail_port: int = typer.Option(8025, help="inbound feedback e-mail (SMTP); 0: off"),
        temporal_port: int = 7233, ui_port: int = 8233, anvil_port: int = 8545,
        policy_file: Path | None = typer.Option(
            None, help="policy file; default QT_POLICY_FILE, else config/policy.toml "
                       "(config/demo-policy.toml: targets in seconds)")) -> None:
    """Start the whole local stack and keep it running until Ctrl-C."""
    from cli.stack import Stack, StackConfig

    # The flag wins; otherwise the settings' own value (QT_POLICY_FILE or the default), so the
    # worker and the API get the policy the environment names.
    policy = policy_file if policy_file is not None else get_settings().policy_file
    config = StackConfig(var_dir=var_dir.resolve(), temporal_port=temporal_port, temporal_ui_port=ui_port,
                         anvil_port=anvil_port, api_port=api_port, mail_port=mail_port,
                         policy_file=policy.resolve())
    stack = Stack(config)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C: stop children too
    typer.echo("starting Temporal dev server, Anvil, contracts, worker and API ...")
    code = 0
    try:
        stack.start()
        typer.echo(f"""
Qualitrail is running (state in {config.var_dir}, policy {config.policy_file}):
  API docs      {config.api_url}/docs
  Temporal UI   http://127.0.0.1:{config.temporal_ui_port}/namespaces/default/workflows
  Anvil RPC     {config.rpc_url}   (chain id 31337)
  Feedback      {config.api_url}/feedback   e-mail: SMTP 127.0.0.1:{config.mail_port}
  Logs          {stack.logs}
Dev API keys: dev-agent, dev-supervisor, dev-quality, dev-auditor, dev-admin (header X-API-Key).
Try:  .venv/bin/qualitrail demo      Stop: Ctrl-C
""")
        # Until Ctrl-C: a component that dies is restarted with backoff while the others keep running.
        stack.supervise(threading.Event(), echo=lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    except RuntimeError as exc:
        typer.echo(f"start failed: {exc}", err=True)
        code = 1
    finally:
        stack.stop()
    _exit(code)


@app.command()
def worker() -> None:
    """Run a Temporal worker (blocks)."""
    import worker as worker_module

    worker_module.main()


@app.command()
def api(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the HTTP API with uvicorn (blocks)."""
    import uvicorn

    from settings import get_settings

    uvicorn.run("api.main:app", host=host, port=port,
                timeout_graceful_shutdown=get_settings().api_shutdown_grace_seconds)


@app.command()
def mail() -> None:
    """Run the inbound e-mail receiver: feedback by mail (blocks)."""
    import asyncio
    import logging

    from cli.mail import serve_mail

    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    code = 0
    try:
        asyncio.run(serve_mail(settings))
    except Exception:  # noqa: BLE001 - reported, and the exit code says it failed
        logging.getLogger("qualitrail.mail").exception("mail receiver failed")
        code = 1
    _exit(code)


@app.command()
def demo(api_url: str = typer.Option("http://127.0.0.1:8000", "--api"),
         key: str = typer.Option("dev-agent", envvar="QT_DEMO_AGENT_KEY"),
         admin_key: str = typer.Option("dev-admin", envvar="QT_DEMO_ADMIN_KEY"),
         seconds: float = 60.0) -> None:
    """Drive a few tickets on the demo policy (targets in seconds): see warnings and a breach."""
    from cli.demo import run_demo

    _exit(run_demo(api_url, key, admin_key, seconds))


@chain_app.command("deploy")
def chain_deploy() -> None:
    """Deploy the contracts once per chain (a second call reuses the recorded deployment)."""
    from chain.context import ensure_deployed

    deployment = ensure_deployed(get_settings())
    typer.echo(f"chain {deployment.chain_id}: registry {deployment.registry} voucher {deployment.voucher}")


@policy_app.command("check")
def policy_check(path: Path = typer.Argument(ROOT / "config" / "policy.toml")) -> None:
    """Validate a policy file; the error names the bad key."""
    from domain.policy import PolicyError, load_policy

    try:
        load_policy(path)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{path}: ok")


def _add_audit() -> None:
    try:
        from cli.audit import audit_app
    except ImportError:  # the auditor tools are optional in a stripped-down install
        return
    app.add_typer(audit_app, name="audit")


_add_audit()
from cli.data import data_app  # noqa: E402 - beside the other command groups
from cli.twin import twin_app  # noqa: E402 - imports the heavy parts lazily

app.add_typer(data_app, name="data")
app.add_typer(twin_app, name="twin")
# Commands import what they need lazily; the bound imports py_ecc first, so none can raise it later.
bound_recursion_limit()

if __name__ == "__main__":
    app()
