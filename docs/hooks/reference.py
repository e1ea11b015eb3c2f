"""mkdocs hook: the settings and command-line references, generated when the site is built.

The settings come from the config dataclass (its fields, defaults and the comment above each
field: one source of truth); the command-line reference from the tool's own ``--help``. A
page asks for them with a marker line, ``<!-- settings-reference -->`` or
``<!-- cli-reference -->``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
from typing import Any

SETTINGS_MARKER = "<!-- settings-reference -->"
CLI_MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, **_: Any) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_reference())
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


# --- settings -------------------------------------------------------------------------------
def _field_comments(cls: type) -> dict[str, str]:
    """The comment lines right above each field of ``cls``, joined."""
    source = inspect.getsource(cls)
    lines = source.splitlines()
    comments: dict[str, str] = {}
    previous = ""
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        above, row = [], node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#"):
            text = lines[row].strip().lstrip("#").strip()
            if text.startswith("---"):  # a section rule, not a field's comment
                break
            above.insert(0, text)
            row -= 1
        # fields written together under one comment ("sweep display name and description")
        grouped = not above and row >= 0 and lines[row].strip() and ":" in lines[row]
        comments[node.target.id] = previous if grouped else " ".join(above)
        previous = comments[node.target.id]
    return comments


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        if dataclasses.is_dataclass(value):
            return "see below"
    else:
        return ""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(cls: type, prefix: str) -> str:
    comments = _field_comments(cls)
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for field in dataclasses.fields(cls):
        if field.name.startswith("_"):
            continue
        rows.append(
            f"| `{prefix}{field.name}` | {_default(field)} | {_cell(comments.get(field.name, ''))} |"
        )
    return "\n".join(rows)


def settings_reference() -> str:
    from hydra_wandb_sweeper.config import EarlyTerminateConf, MetricConf, WandbSweeperConf

    return "\n\n".join(
        [
            "## `hydra.sweeper`",
            _table(WandbSweeperConf, ""),
            "## `hydra.sweeper.metric`",
            _table(MetricConf, "metric."),
            "## `hydra.sweeper.early_terminate`",
            _table(EarlyTerminateConf, "early_terminate."),
        ]
    )


# --- command line ---------------------------------------------------------------------------
def cli_reference() -> str:
    import typer.main
    from typer.testing import CliRunner

    from hydra_wandb_sweeper.cli.app import app

    command = typer.main.get_command(app)
    names = ["", *sorted(command.commands)]  # type: ignore[attr-defined]
    runner = CliRunner()
    environment = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    parts = []
    for name in names:
        arguments = [name, "--help"] if name else ["--help"]
        result = runner.invoke(app, arguments, env=environment, prog_name="hydra-wandb-sweeper")
        title = f"`hydra-wandb-sweeper {name}`" if name else "`hydra-wandb-sweeper`"
        text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        parts.append(f"## {title}\n\n```text\n{text}\n```")
    return "\n\n".join(parts)
