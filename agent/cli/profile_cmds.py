"""`hmi-agent profile learn|check|list`: site profiles (a plant's screen conventions, docs/site-profiles.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import UserError, open_db, settings_of

profile_app = typer.Typer(
    help="Site profiles: a plant's screen conventions (colours, priority and state words).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")


def load_site_profile(name_or_path: str | None):
    """The site profile named on the command line or in the settings (None: generic); bad ones are a UserError."""
    from perception.screen.profile import ProfileError, load_profile

    try:
        return load_profile(name_or_path)
    except ProfileError as e:
        raise UserError(str(e)) from None


@profile_app.command("list")
def list_profiles() -> None:
    """The profiles shipped with hmi-agent (use a name or a YAML file with --profile)."""
    from perception.screen.profile import load_profile, shipped_profiles

    for name in shipped_profiles():
        profile = load_profile(name)
        typer.echo(
            f"{name}: {len(profile.colours)} colours, {len(profile.priority_words)} priority words, "
            f"{len(profile.state_words)} state words, {len(profile.columns)} column names"
        )


@profile_app.command("check")
def check(profile: Annotated[Path, typer.Argument(help="A site profile YAML file.")]) -> None:
    """Validates a profile file: prints a summary, or the first problem as FILE:LINE: message."""
    loaded = load_site_profile(str(profile))
    own = sum(
        e.origin == "site"
        for vocabulary in (loaded.colours, loaded.priority_words, loaded.state_words, loaded.columns)
        for e in vocabulary.values()
    )
    typer.echo(f"{profile}: profile {loaded.name!r} is valid ({own} entries of its own)")


@profile_app.command("learn")
def learn(
    ctx: typer.Context,
    screens: Annotated[list[Path], typer.Argument(help="Screenshots or photos of the site's alarm screens.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the learned profile (YAML) here.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The profile's name (default: --out's stem).")] = None,
) -> None:
    """Learns the site's colour -> priority map, priority words and state words by reading the tags on SCREENS
    and looking them up in the alarm database (--db): configured priorities in the definitions, current states in
    the journal where the times shown match. Prints what was learned, with evidence, and what stayed ambiguous.
    The learned profile extends the generic one."""
    from agent.cli.images import load_image
    from perception.screen import parse_screen
    from tools.calibration import calibrate, learned_profile

    if out is not None and not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    start = load_site_profile("generic")

    parses = {}
    for screen in screens:
        try:
            parses[screen.name] = parse_screen(load_image(screen, settings_of(ctx)), profile=start)
        except ImportError as e:  # the OCR extra is not installed
            raise UserError(str(e)) from None
    calibration = calibrate(parses, open_db(settings_of(ctx).db_url), start)
    if not calibration.evidence:
        raise UserError(
            f"no tag read on {', '.join(s.name for s in screens)} is in the alarm database "
            f"{settings_of(ctx).db_url!r}: nothing to learn from"
        )
    profile_name = name or (out.stem if out else "site")
    learned_profile(calibration, profile_name, "generic")
    typer.echo(calibration.report())
    if out is not None:
        out.write_text(calibration.profile_yaml(profile_name, "generic"), encoding="utf-8")
        typer.echo(f"wrote {out}")
