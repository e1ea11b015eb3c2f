"""``translate``: another sweeper's config file rewritten as a config for this sweeper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from hydra_wandb_sweeper.engine.table import InspectError
from hydra_wandb_sweeper.sweep.migration import NotTranslatable, render, translate


def translate_config(
    source: Annotated[
        Path,
        typer.Argument(
            help="A W&B sweep file (sweep.yaml), or a Hydra config for hydra-optuna-sweeper "
            "or the older captain-pool hydra-wandb-sweeper.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write, e.g. conf/sweep/NAME.yaml. Default: print it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Rewrite another sweeper's config for this one: the sweeper swapped in the defaults
    list, each key renamed to its equivalent here, the rest of the file kept. A W&B sweep file
    becomes a config group file (`python train.py -m +sweep=NAME` once it is conf/sweep/NAME.yaml).
    What does not carry over is listed in the file's header and on stderr."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise InspectError(f"cannot read {source}: {error.strerror or error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InspectError(f"{source} is not YAML: {error}") from None
    try:
        translation = translate(document, package_global=_package_global(text))
    except NotTranslatable as error:
        raise InspectError(f"{source}: {error}") from None
    written = render(translation, source.name)
    for note in translation.notes:
        typer.echo(f"note: {note}", err=True)
    if out is None:
        typer.echo(written, nl=False)
        return
    try:
        out.write_text(written, encoding="utf-8")
    except OSError as error:
        raise InspectError(f"cannot write {out}: {error.strerror or error}") from None
    typer.echo(f"Wrote {out} (from a {translation.kind})")


def _package_global(text: str) -> bool:
    """Hydra reads ``# @package`` from the comment lines at the top of a config file."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return False
        if stripped.startswith("#") and stripped.lstrip("# ").startswith("@package"):
            return stripped.split("@package", 1)[1].strip() == "_global_"
    return False
