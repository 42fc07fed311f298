"""Compile the Solidity sources into committed, byte-stable JSON artifacts.

The compiler is the pinned npm ``solc`` (solc-js) driven through ``solc-wrapper.cjs``, which
py-solc-x accepts as a ``solc_binary``; ``solcx.install_solc`` is never used (it downloads).

Usage::

    python -m contracts.compile           # (re)write contracts/artifacts/*.json
    python -m contracts.compile --check   # exit 1 if the artifacts do not match the sources
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import solcx
import solcx.wrapper

__all__ = [
    "ARTIFACTS_DIR",
    "COMPILER_SETTINGS",
    "CONTRACTS_DIR",
    "SOLC_WRAPPER",
    "SOURCES_DIR",
    "build_artifacts",
    "check_artifacts",
    "compiler_version",
    "load_artifact",
    "main",
    "source_hashes",
    "write_artifacts",
]

CONTRACTS_DIR = Path(__file__).resolve().parent
SOURCES_DIR = CONTRACTS_DIR / "src"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
SOLC_WRAPPER = CONTRACTS_DIR / "solc-wrapper.cjs"

# Everything that changes the bytecode is fixed here, so a compile on any machine gives the same
# bytes. "bytecodeHash": "none" drops the metadata hash, which would otherwise change with
# comments, paths and whitespace.
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
            ]
        }
    },
}


def _require_toolchain() -> None:
    if not (CONTRACTS_DIR / "node_modules" / "solc").is_dir():
        raise FileNotFoundError(
            "the pinned solc-js is not installed: run `make install` (or `cd contracts && npm ci`)"
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_hashes() -> dict[str, str]:
    """Return the sha256 of every Solidity source, keyed by its path relative to ``contracts/``.

    Returns:
        ``{"src/EvidenceRegistry.sol": "<hex sha256>", ...}`` in sorted order.
    """
    return {f"src/{path.name}": _sha256(path.read_bytes()) for path in sorted(SOURCES_DIR.glob("*.sol"))}


def _all_sources_sha256(hashes: dict[str, str]) -> str:
    # One line per source, sorted, so the combined hash does not depend on listing order.
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(hashes.items()))
    return _sha256(lines.encode())


def compiler_version() -> str:
    """Return the full version of the pinned compiler, e.g. ``0.8.37+commit.f401782d``.

    Returns:
        The version string, commit included.
    """
    _require_toolchain()
    return str(solcx.wrapper.get_solc_version(SOLC_WRAPPER, with_commit_hash=True))


def build_artifacts() -> dict[str, dict[str, Any]]:
    """Compile every source and return the artifacts, without writing anything.

    Returns:
        ``{contract name: artifact}`` for every contract, library and interface.

    Raises:
        FileNotFoundError: If the npm toolchain is not installed.
        solcx.exceptions.SolcError: If the sources do not compile.
        ValueError: If the compiler printed warnings.
    """
    _require_toolchain()
    hashes = source_hashes()
    # Sources go in by content under "src/<file>", so relative imports resolve inside the input
    # and the compiler never reads the disk.
    compiler_input = {
        "language": "Solidity",
        "sources": {name: {"content": (CONTRACTS_DIR / name).read_text(encoding="utf-8")} for name in hashes},
        "settings": COMPILER_SETTINGS,
    }
    output = solcx.compile_standard(compiler_input, solc_binary=SOLC_WRAPPER)
    # compile_standard raises on errors only; warnings fail too, so the sources stay clean.
    warnings = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "warning"]
    if warnings:
        raise ValueError("the compiler warned:\n" + "\n".join(warnings))
    version = compiler_version()
    all_sources = _all_sources_sha256(hashes)
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in sorted(output["contracts"].items()):
        for name, compiled in sorted(contracts.items()):
            if name in artifacts:
                raise ValueError(f"contract name {name} is defined twice")
            evm = compiled["evm"]
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": compiled["abi"],
                "bytecode": "0x" + evm["bytecode"]["object"],
                "deployedBytecode": "0x" + evm["deployedBytecode"]["object"],
                "immutableReferences": evm["deployedBytecode"].get("immutableReferences", {}),
                "compiler": {"name": "solc", "version": version, "settings": COMPILER_SETTINGS},
                "sources": hashes,
                "sourcesSha256": all_sources,
            }
    return artifacts


def _render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path | None = None) -> list[Path]:
    """Write one ``<Name>.json`` per artifact and delete artifacts of contracts that are gone.

    Args:
        artifacts: What :py:func:`build_artifacts` returned.
        directory: Where to write; :py:data:`ARTIFACTS_DIR` when ``None``.

    Returns:
        The paths written.
    """
    directory = ARTIFACTS_DIR if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in artifacts.items():
        path = directory / f"{name}.json"
        path.write_text(_render(artifact), encoding="utf-8")
        written.append(path)
    for stale in directory.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    return written


def check_artifacts(directory: Path | None = None) -> list[str]:
    """Recompile and compare with the artifacts on disk.

    Args:
        directory: Where the committed artifacts are; :py:data:`ARTIFACTS_DIR` when ``None``.

    Returns:
        One line per disagreement; empty if the artifacts match the sources exactly.
    """
    directory = ARTIFACTS_DIR if directory is None else directory
    fresh = build_artifacts()
    problems = []
    on_disk = {path.stem for path in directory.glob("*.json")}
    for name in sorted(on_disk - fresh.keys()):
        problems.append(f"{name}.json: no such contract in the sources any more")
    for name, artifact in fresh.items():
        path = directory / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}.json: missing")
        elif path.read_text(encoding="utf-8") != _render(artifact):
            problems.append(f"{name}.json: differs from a fresh compile of the sources")
    return problems


def load_artifact(name: str) -> dict[str, Any]:
    """Load a committed artifact.

    Args:
        name: The contract name, e.g. ``"EvidenceRegistry"``.

    Returns:
        The artifact: ``abi``, ``bytecode``, ``deployedBytecode``, ``compiler``, ``sources`` ...

    Raises:
        FileNotFoundError: If there is no artifact of that name.
    """
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no artifact {path}: run `python -m contracts.compile`")
    artifact: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return artifact


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments, without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 on success, 1 if ``--check`` found a disagreement.
    """
    parser = argparse.ArgumentParser(prog="python -m contracts.compile", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the artifacts do not match the sources")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_artifacts()
        for line in problems:
            sys.stderr.write(line + "\n")
        if problems:
            sys.stderr.write("artifacts are stale: run `python -m contracts.compile` and commit them\n")
            return 1
        sys.stdout.write("artifacts match the sources\n")
        return 0
    for path in write_artifacts(build_artifacts()):
        sys.stdout.write(f"wrote {path.relative_to(CONTRACTS_DIR.parent)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
