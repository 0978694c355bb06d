"""docs/settings.md lists every setting: a field added to agent/settings.py without a row there fails here."""

from __future__ import annotations

from pathlib import Path

from agent.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_has_a_row_in_the_settings_doc():
    rows = {line.split("|")[1].strip().strip("`") for line in DOC.read_text().splitlines() if line.startswith("| `")}
    missing = sorted(
        f"HMI_AGENT_{name.upper()}" for name in Settings.model_fields if f"HMI_AGENT_{name.upper()}" not in rows
    )
    assert not missing, f"docs/settings.md lacks {missing}"
