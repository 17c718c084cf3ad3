"""``[tool.interop.lint]`` in pyproject.toml, found by walking up from the linted file."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from interop.cli import main
from interop.lint import lint_paths
from interop.lint.config import find_config

FLOW = textwrap.dedent(
    """\
    from datetime import datetime

    import airflow
    from prefect import flow


    @flow
    def etl():
        return airflow.__version__, datetime.today(), "{{ ds }}"
    """
)


def make_project(root: Path, lint_section: str | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = '[project]\nname = "team-flows"\n'
    if lint_section is not None:
        text += "\n[tool.interop.lint]\n" + lint_section
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    flow = root / "flows" / "daily" / "etl.py"
    flow.parent.mkdir(parents=True)
    flow.write_text(FLOW, encoding="utf-8")
    return flow


def codes(run) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in run.findings]


def test_no_section_runs_every_rule(tmp_path: Path) -> None:
    flow = make_project(tmp_path / "p", None)
    assert codes(lint_paths([flow])) == ["IXL101", "IXL301", "IXL106"]


def test_ignore_from_the_nearest_pyproject(tmp_path: Path) -> None:
    flow = make_project(tmp_path / "p", 'ignore = ["IXL301"]\n')
    assert codes(lint_paths([flow])) == ["IXL101", "IXL106"]
    assert find_config(flow.parent.resolve()).source == (tmp_path / "p" / "pyproject.toml").resolve()


def test_select_by_family_prefix_and_ignore(tmp_path: Path) -> None:
    make_project(tmp_path / "p", 'select = ["IXL1", "IXL3"]\nignore = ["IXL106"]\n')
    assert codes(lint_paths([tmp_path / "p"])) == ["IXL101", "IXL301"]


def test_walks_past_a_pyproject_without_the_section(tmp_path: Path) -> None:
    outer = tmp_path / "repo"
    make_project(outer, 'select = ["IXL301"]\n')
    inner = outer / "sub"
    flow = make_project(inner, None)
    assert codes(lint_paths([flow])) == ["IXL301"]


def test_bad_section_is_an_error_naming_the_file_and_keys(tmp_path: Path) -> None:
    flow = make_project(tmp_path / "p", 'selct = ["IXL1"]\n')
    result = CliRunner().invoke(main, ["lint", str(flow)])
    assert result.exit_code == 2
    assert "unknown keys in [tool.interop.lint]: ['selct']; known: ['exclude', 'ignore', 'select']" in result.stderr
    assert str((tmp_path / "p" / "pyproject.toml").resolve()) in result.stderr


def test_command_line_select_overrides_and_ignore_adds(tmp_path: Path) -> None:
    flow = make_project(tmp_path / "p", 'ignore = ["IXL301"]\n')
    result = CliRunner().invoke(main, ["lint", "--select", "IXL3", "--select", "IXL1", "--ignore", "IXL101", str(flow)])
    # --select replaces pyproject's select; pyproject's ignore still applies, --ignore adds
    assert result.exit_code == 1
    assert [line.split(" ")[1] for line in result.stdout.splitlines()] == ["IXL106"]


def test_exclude_globs_leave_files_out_of_folder_walks(tmp_path: Path) -> None:
    flow = make_project(tmp_path / "p", 'exclude = ["plugins/*", "flows/daily/skip_*.py"]\n')
    plugin = tmp_path / "p" / "plugins" / "operators.py"
    plugin.parent.mkdir()
    plugin.write_text(FLOW, encoding="utf-8")
    (flow.parent / "skip_me.py").write_text(FLOW, encoding="utf-8")
    run = lint_paths([tmp_path / "p"])
    assert [r.path for r in run.files] == [str(flow)]
