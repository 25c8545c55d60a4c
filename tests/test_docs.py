"""The README cannot drift from the code: every sub-command and every setting is documented there."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracker.cli import build_parser
from tracker.core.config import SETTINGS_FILE_VARIABLE, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, (*prefix, name))
                found.extend(nested or [(*prefix, name)])
    return found


def test_every_command_is_in_the_readme() -> None:
    commands = _commands(build_parser())
    assert len(commands) > 20
    missing = [" ".join(c) for c in commands
               if f"python -m tracker {' '.join(c)}" not in README and f"`{c[0]} {' '.join(c[1:])}" not in README]
    assert not missing, f"README's command table lacks: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    names = [field.alias for field in Settings.model_fields.values() if field.alias]
    names += [SETTINGS_FILE_VARIABLE, "TRACKER_TEST_DATABASE_URL"]
    assert len(names) > 15
    missing = [name for name in names if f"`{name}`" not in README]
    assert not missing, f"README's settings table lacks: {missing}"


def test_readme_layout_names_every_package() -> None:
    root = Path(__file__).resolve().parents[1] / "tracker"
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").exists())
    missing = [name for name in packages if f"  {name}/" not in README]
    assert not missing, f"README's layout lacks: {missing}"


def test_no_loose_modules_in_the_domain_package() -> None:
    root = Path(__file__).resolve().parents[1] / "tracker"
    loose = sorted(p.name for p in root.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"modules belong in a package by role: {loose}"
