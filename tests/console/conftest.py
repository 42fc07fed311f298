"""The console's tests share the session's stack (tests/conftest.py); these settings reach its API
through the environment the stack hands its children. Real argon2id, at a test's cost (the
production default, 64 MiB x 3 passes, takes about a second per sign-in on a busy 2-core machine),
a board that updates every second, and board streams that the server ends after 5 seconds (the
browser tests' boards reconnect on the way)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_CONSOLE_PASSWORD_MEMORY_KIB", "8192")
os.environ.setdefault("QT_CONSOLE_PASSWORD_TIME_COST", "1")
os.environ.setdefault("QT_CONSOLE_BOARD_REFRESH_SECONDS", "1")
os.environ.setdefault("QT_CONSOLE_BOARD_STREAM_SECONDS", "5")
