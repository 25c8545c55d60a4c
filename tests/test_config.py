"""Settings from the environment and a `.env`-style settings file, validated with messages naming the variable."""

from __future__ import annotations

import pytest

from tracker.cli import main
from tracker.core.config import effective_settings, get_settings, load_settings, unknown_variables
from tracker.core.errors import TrackerError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for name in list(os.environ):
        if name.upper().startswith("TRACKER_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_settings_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    path = tmp_path / "tracker.env"
    path.write_text("# deployment settings\nTRACKER_CACHE_TTL=7\nTRACKER_ENV=production\n"
                    "TRACKER_SMTP_PASSWORD=s3cret\nDATABASE_URL=postgresql://app:pw@db:5432/tracker\n")
    monkeypatch.setenv("TRACKER_SETTINGS_FILE", str(path))
    monkeypatch.setenv("TRACKER_CACHE_TTL", "11")
    settings = load_settings()
    assert settings.cache_ttl_seconds == 11  # environment wins
    assert settings.is_production  # from the file
    assert settings.database_url == "postgresql+psycopg://app:pw@db:5432/tracker"  # normalised driver
    shown = {variable: (value, origin) for variable, value, origin in effective_settings(settings)}
    assert shown["TRACKER_CACHE_TTL"] == ("11", "environment")
    assert shown["TRACKER_ENV"] == ("production", "file")
    assert shown["TRACKER_SMTP_PASSWORD"] == ("***", "file")
    assert shown["DATABASE_URL"][0] == "postgresql+psycopg://app:***@db:5432/tracker"
    assert shown["TRACKER_SESSION_HOURS"] == ("8.0", "default")


def test_bad_values_name_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_CACHE_TTL", "five")
    with pytest.raises(TrackerError, match=r"TRACKER_CACHE_TTL='five'.*integer"):
        load_settings()
    monkeypatch.delenv("TRACKER_CACHE_TTL")
    path = tmp_path / "s.env"
    path.write_text("TRACKER_ENV=staging\nTRACKER_WEBHOOK_SECRET=abc\n")
    monkeypatch.setenv("TRACKER_SETTINGS_FILE", str(path))
    with pytest.raises(TrackerError, match=r"TRACKER_ENV='staging': .*development, production, test") as caught:
        load_settings()
    assert str(path) in str(caught.value)  # says where the bad value may come from
    monkeypatch.setenv("TRACKER_SETTINGS_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(TrackerError, match=r"TRACKER_SETTINGS_FILE=.*missing.env: no such file"):
        load_settings()


def test_secrets_never_appear_in_error_messages(monkeypatch):
    monkeypatch.setenv("TRACKER_PUBLIC_URL", "tracker.example.org")
    monkeypatch.setenv("TRACKER_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("TRACKER_SMTP_PORT", "70000")
    with pytest.raises(TrackerError) as caught:
        load_settings()
    message = str(caught.value)
    assert "TRACKER_PUBLIC_URL" in message and "http:// or https://" in message
    assert "TRACKER_SMTP_PORT" in message
    assert "hunter2" not in message


def test_unknown_tracker_variables_are_reported_as_likely_typos(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_CACH_TTL", "3")
    path = tmp_path / "s.env"
    path.write_text("TRACKER_SMTP_HOSTNAME=mail\nTRACKER_SMTP_HOST=mail\n")
    monkeypatch.setenv("TRACKER_SETTINGS_FILE", str(path))
    assert unknown_variables() == ["TRACKER_CACH_TTL", "TRACKER_SMTP_HOSTNAME"]


def test_config_check_command(monkeypatch, capsys):
    monkeypatch.setenv("TRACKER_WEBHOOK_SECRET", "do-not-print")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "TRACKER_WEBHOOK_SECRET       ***  [environment]" in out
    assert "do-not-print" not in out
    assert "configuration is valid" in out
    monkeypatch.setenv("TRACKER_SMTP_FROM", "not an address")
    assert main(["config", "check"]) == 2
    assert "TRACKER_SMTP_FROM" in capsys.readouterr().err


def test_config_check_connects_when_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["config", "check", "--connect"]) == 0
    assert "schema revision none (run python -m tracker init)" in capsys.readouterr().out
