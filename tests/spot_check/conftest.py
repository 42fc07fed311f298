from tests.own_env import own_env  # noqa: F401 - a time-skipping server per test
