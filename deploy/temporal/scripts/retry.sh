# Sourced by the one-shot jobs. retry CMD...: runs CMD until it succeeds, RETRY_ATTEMPTS times at most
# (default 60), RETRY_SECONDS apart (default 5). An open port is not a server that answers, and
# Compose's depends_on only knows the port, so each job waits for its dependency itself.
retry() {
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "${RETRY_ATTEMPTS:-60}" ]; then
      echo "gave up after $attempt attempts: $*" >&2
      return 1
    fi
    echo "not ready yet (attempt $attempt): $*"
    attempt=$((attempt + 1))
    sleep "${RETRY_SECONDS:-5}"
  done
}
