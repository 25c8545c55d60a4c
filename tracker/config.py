"""Settings from the environment (or a `.env`-style settings file), validated once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracker.errors import TrackerError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"


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
    max_upload_bytes: int = Field(default=10_000_000, alias="TRACKER_MAX_UPLOAD_BYTES", gt=0)
    smtp_host: str = Field(default="", alias="TRACKER_SMTP_HOST")
    smtp_port: int = Field(default=25, alias="TRACKER_SMTP_PORT", gt=0, lt=65536)
    smtp_user: str = Field(default="", alias="TRACKER_SMTP_USER")
    smtp_password: str = Field(default="", alias="TRACKER_SMTP_PASSWORD")
    smtp_from: str = Field(default="tracker@localhost", alias="TRACKER_SMTP_FROM")
    smtp_starttls: bool = Field(default=False, alias="TRACKER_SMTP_STARTTLS")
    webhook_secret: str = Field(default="", alias="TRACKER_WEBHOOK_SECRET")
    # Sign-in through Streamlit's OpenID Connect (`st.login`, configured in .streamlit/secrets.toml [auth]):
    # a signed-in e-mail that matches an active account's e-mail acts as that account. Local accounts still work.
    oidc_login: bool = Field(default=False, alias="TRACKER_OIDC_LOGIN")

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

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"development", "production", "test"}:
            raise ValueError("must be one of development, production, test")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Read and validate settings; a bad value becomes one clear TrackerError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            alias = Settings.model_fields[name].alias if name in Settings.model_fields else name
            problems.append(f"{alias or name}: {err['msg']}")
        raise TrackerError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
