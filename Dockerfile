# The API and the worker: one image, two commands (see docker-compose.yml).
# Build: docker build -t qualitrail .   No secret is built in: keys and passwords come from the
# environment at run time (env_file .env, git-ignored; .env.example lists the names).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Empty on purpose: zoneinfo uses the pinned tzdata package, not the image's files, so SLA
    # deadlines are computed the same here, in tests and when workflow histories are replayed.
    PYTHONTZPATH= \
    QT_VAR_DIR=/data/var \
    QT_API_HOST=0.0.0.0 \
    QT_API_PORT=8000

# A fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 qualitrail \
 && useradd --system --uid 10001 --gid qualitrail --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin qualitrail

WORKDIR /app

# Dependencies first, from the lock only, so a source change does not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The source tree stays in /app (migrations/, alembic.ini, config/ and contract artifacts are read
# from here); .dockerignore keeps .env, var/, .venv and node_modules out of the build context.
COPY . .
RUN pip install --no-deps . \
 && mkdir -p /data/var \
 && chown -R qualitrail:qualitrail /data

USER qualitrail

EXPOSE 8000
VOLUME ["/data"]

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]

# --timeout-graceful-shutdown: QT_API_SHUTDOWN_GRACE_SECONDS (settings.py); open live boards end then.
CMD ["python", "-m", "uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--timeout-graceful-shutdown", "5"]
