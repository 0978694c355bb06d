"""`hmi-agent parse IMAGE`: the fast screen parser (OCR + OpenCV, no model) on a screenshot or photo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import UserError, settings_of
from agent.cli.images import load_image

if TYPE_CHECKING:
    from perception.screen import ScreenParse


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)


def _table(parse: ScreenParse) -> str:
    lines = [
        f"{parse.width}x{parse.height}, {len(parse.elements)} elements",
        f"{'id':>3}  {'kind':15} {'bbox':21} {'tag':14} {'prio':4} {'state':11} text",
    ]
    for e in parse.elements:
        bbox = ",".join(map(str, e.bbox))
        lines.append(
            f"{e.id:>3}  {e.kind:15} {bbox:21} {e.tag or '':14} {e.priority or '':4} {e.state or '':11} {e.text}"
        )
    return "\n".join(lines)


def parse(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="Screenshot or photo of an HMI screen (PNG/JPEG).")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"width","height","elements":[...]} as JSON.')] = False,
    annotate_to: Annotated[
        Path | None, typer.Option("--annotate", help="Also write the image with numbered boxes (set-of-marks) here.")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="An earlier frame of the same screen: tells blinking badges.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Site profile: shipped name or YAML file (default: setting).")
    ] = None,
) -> None:
    """Find alarm rows, the alarm banner, priority badges, buttons and text on a screen image (no model needed)."""
    from agent.cli.profile_cmds import load_site_profile
    from perception.screen import annotate, parse_screen

    if annotate_to is not None and not annotate_to.parent.is_dir():
        raise UserError(f"--annotate {annotate_to}: folder {annotate_to.parent} does not exist")
    if annotate_to is not None and annotate_to.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"--annotate {annotate_to}: use a .png or .jpg file name")
    settings = settings_of(ctx)
    picture = load_image(image, settings)
    try:
        result = parse_screen(
            picture,
            previous=load_image(previous, settings) if previous else None,
            profile=load_site_profile(profile or settings.site_profile),
        )
    except ImportError as e:  # the OCR extra is not installed
        raise UserError(str(e)) from None
    if annotate_to is not None:
        try:
            annotate(picture, result).save(annotate_to)
        except OSError as e:
            raise UserError(f"cannot write --annotate {annotate_to}: {e.strerror or e}") from None
    if as_json:
        typer.echo(json.dumps(result.model_dump(exclude_none=True), ensure_ascii=False, indent=1))
    else:
        typer.echo(_table(result))
