"""The public development secret and keys run only in an explicit development or test environment.

With the dev secret anyone can forge customer tokens offline and test guesses against customer
hashes, so every other environment name, however it is spelled, must refuse it; an unknown name is
refused outright rather than treated as development.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settings import DEV_API_KEYS, DEV_SECRET, Settings

REAL_SECRET = "k2N1uQ7m3yZtq0cS4vXbH9aLrE6pW8dF"
REAL_KEYS = "3f9a1c:admin,77be02:agent"


def _settings(environment: str, secret: str = REAL_SECRET, keys: str = REAL_KEYS) -> Settings:
    return Settings(_env_file=None, environment=environment, secret_key=secret, api_keys=keys,
                    payload_keys="k1:" + "A" * 43 + "=")


@pytest.mark.parametrize("environment", ["production", "Production", "PRODUCTION", " production ", "staging",
                                         "Staging"])
def test_dev_secret_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="QT_SECRET_KEY"):
        _settings(environment, secret=DEV_SECRET)
    with pytest.raises(ValidationError, match="QT_API_KEYS"):
        _settings(environment, keys=DEV_API_KEYS)
    assert _settings(environment).environment == environment.strip().lower()


@pytest.mark.parametrize("environment", ["prod", "dev", "live", "", "production2"])
def test_unknown_environment_is_refused(environment: str) -> None:
    with pytest.raises(ValidationError, match="environment"):
        _settings(environment)


@pytest.mark.parametrize("environment", ["development", "test", "Development", "TEST"])
def test_dev_secret_allowed_in_development_and_test(environment: str) -> None:
    settings = _settings(environment, secret=DEV_SECRET, keys=DEV_API_KEYS)
    assert settings.is_development and settings.environment == environment.lower()
