"""Settings from the environment (or a `.env`-style settings file), validated once at start."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracker.core.errors import TrackerError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"


SETTINGS_FILE_VARIABLE = "TRACKER_SETTINGS_FILE"
SECRET_FIELDS = ("smtp_password", "webhook_secret", "session_secret")
EMAIL_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


class Settings(BaseSettings):
    """Everything a deployment configures. Names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=None, env_prefix="", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    database_url: str = Field(default=f"sqlite:///{DATA_DIR / 'tracker.db'}", alias="DATABASE_URL")
    raw_store_dir: Path = Field(default=DATA_DIR / "raw", alias="TRACKER_RAW_STORE")
    catalog_dir: Path = Field(default=DATA_DIR, alias="TRACKER_CATALOG_DIR")
    user_agent: str = Field(
        default="CommitmentTracker/0.1 (+https://github.com/commitment-tracker; safety-commitments research)",
        alias="TRACKER_USER_AGENT",
    )
    contact: str = Field(default="", alias="TRACKER_CONTACT")
    environment: str = Field(default="development", alias="TRACKER_ENV")
    cache_ttl_seconds: int = Field(default=300, alias="TRACKER_CACHE_TTL", ge=0)
    session_hours: float = Field(default=8.0, alias="TRACKER_SESSION_HOURS", gt=0)
    # Key that signs the sign-in cookie; empty: a random key per process (sign-ins then end at a restart).
    session_secret: str = Field(default="", alias="TRACKER_SESSION_SECRET")
    max_upload_bytes: int = Field(default=10_000_000, alias="TRACKER_MAX_UPLOAD_BYTES", gt=0)
    smtp_host: str = Field(default="", alias="TRACKER_SMTP_HOST")
    smtp_port: int = Field(default=25, alias="TRACKER_SMTP_PORT", gt=0, lt=65536)
    smtp_user: str = Field(default="", alias="TRACKER_SMTP_USER")
    smtp_password: str = Field(default="", alias="TRACKER_SMTP_PASSWORD")
    smtp_from: str = Field(default="tracker@localhost", alias="TRACKER_SMTP_FROM")
    smtp_starttls: bool = Field(default=False, alias="TRACKER_SMTP_STARTTLS")
    webhook_secret: str = Field(default="", alias="TRACKER_WEBHOOK_SECRET")
    alert_max_attempts: int = Field(default=5, alias="TRACKER_ALERT_MAX_ATTEMPTS", ge=1, le=50)
    alert_retry_seconds: int = Field(default=300, alias="TRACKER_ALERT_RETRY_SECONDS", ge=0)
    alert_timeout_seconds: float = Field(default=10.0, alias="TRACKER_ALERT_TIMEOUT", gt=0, le=300)

    # Sign-in through Streamlit's OpenID Connect (`st.login`, configured in .streamlit/secrets.toml [auth]):
    # a signed-in e-mail that matches an active account's e-mail acts as that account. Local accounts still work.
    oidc_login: bool = Field(default=False, alias="TRACKER_OIDC_LOGIN")
    public_url: str = Field(default="http://localhost:8501", alias="TRACKER_PUBLIC_URL")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg:// "
                "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/tracker)"
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the app's address, starting with http:// or https://")
        return value.rstrip("/")

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"development", "production", "test"}:
            raise ValueError("must be one of development, production, test")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _address(cls, value: str) -> str:
        if not EMAIL_ADDRESS.fullmatch(value):
            raise ValueError("must be an e-mail address such as tracker@example.org")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def settings_file() -> Path | None:
    """The `.env`-style file named by TRACKER_SETTINGS_FILE, if any (a missing file is an error, not a no-op)."""
    name = os.environ.get(SETTINGS_FILE_VARIABLE, "").strip()
    if not name:
        return None
    path = Path(name).expanduser()
    if not path.is_file():
        raise TrackerError(f"invalid configuration: {SETTINGS_FILE_VARIABLE}={name}: no such file")
    return path


def load_settings() -> Settings:
    """Read and validate settings; a bad value becomes one clear TrackerError naming the variable.

    Environment variables win over the settings file, which wins over the defaults.
    """
    path = settings_file()
    try:
        return Settings(_env_file=path, _env_file_encoding="utf-8")
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            alias = Settings.model_fields[name].alias if name in Settings.model_fields else name
            value = err.get("input")
            shown = "" if name in SECRET_FIELDS or isinstance(value, dict) else f"={value!r}"
            problems.append(f"{alias or name}{shown}: {err['msg']}")
        where = f" (environment, then {path})" if path else ""
        raise TrackerError("invalid configuration" + where + ": " + "; ".join(problems)) from None


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def effective_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, value with secrets masked, where it came from) for `config check`."""
    path = settings_file()
    from_file: set[str] = set()
    if path is not None:
        from dotenv import dotenv_values

        from_file = {k.upper() for k in dotenv_values(path)}
    from_env = {k.upper() for k in os.environ}
    rows = []
    for name, info in Settings.model_fields.items():
        variable = info.alias or name.upper()
        value = getattr(settings, name)
        if name in SECRET_FIELDS:
            shown = "***" if value else "(not set)"
        elif name == "database_url":
            shown = mask_url_password(value)
        else:
            shown = str(value)
        origin = "environment" if variable in from_env else "file" if variable in from_file else "default"
        rows.append((variable, shown, origin))
    return rows


def unknown_variables() -> list[str]:
    """TRACKER_* names in the environment or the settings file that no setting reads (likely typos)."""
    known = {(info.alias or name).upper() for name, info in Settings.model_fields.items()}
    known |= {SETTINGS_FILE_VARIABLE, "TRACKER_TEST_DATABASE_URL", "TRACKER_REQUIRE_BROWSER"}
    names = {k.upper() for k in os.environ if k.upper().startswith("TRACKER_")}
    path = settings_file()
    if path is not None:
        from dotenv import dotenv_values

        names |= {k.upper() for k in dotenv_values(path)}
    return sorted(n for n in names if n not in known and (n.startswith("TRACKER_") or path is not None))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
