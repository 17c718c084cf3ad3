"""``interop`` as people use a command line (habits from ruff, black, pytest and Prefect's CLI).

Through the real console script: stdin ``-``, ``-h``, ``--quiet``/``--verbose``, colour only on a
terminal and never with ``NO_COLOR``, a progress bar on a terminal and plain lines in CI,
repeated findings folded, ruff's ``path:line:col: CODE message``, a missing file said once,
"did you mean" for a mistyped command, shell completion. No traceback, no wrong exit code.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAG = (REPO / "tests" / "fixtures" / "convert" / "xcom_push_pull.before.py").read_text()
LEFTOVER = "from airflow.models import Variable\nfrom prefect import flow, task\n\n\n@task\ndef extract():\n    return Variable.get('bucket')\n"
COMMANDS = ["convert", "run", "status", "lint", "compare", "daemon"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    env.update(extra)
    return env


def interop(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "interop.cli", *args],
        capture_output=True, text=True, input=stdin, env=env or clean_env(), cwd=cwd or REPO, timeout=300,
    )


def on_a_terminal(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal: (exit code, what the terminal got)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interop.cli", *args],
        stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env or clean_env(TERM="xterm-256color"), cwd=cwd or REPO,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- stdin ------------------------------------------------------------------------------------
def test_convert_reads_stdin_and_writes_the_flow_to_stdout():
    proc = interop("convert", "-", stdin=DAG)
    assert proc.returncode == 0, proc.stderr
    assert "@flow(name='xcoms')" in proc.stdout
    assert "DAG xcoms (-):" in proc.stderr  # the ledger stays on stderr


def test_convert_stdin_filename_check_and_diff():
    named = interop("convert", "-", "--stdin-filename", "dags/etl.py", "--check", stdin=DAG)
    assert named.returncode == 1 and named.stdout == ""
    assert "dags/etl.py: would change" in named.stderr
    diff = interop("convert", "-", "--diff", stdin=DAG)
    assert diff.returncode == 0 and diff.stdout.startswith("--- a/-\n+++ b/-\n")


def test_convert_stdin_without_a_dag_comes_back_unchanged():
    proc = interop("convert", "-", stdin="X = 1\n")
    assert (proc.returncode, proc.stdout) == (0, "X = 1\n")


@pytest.mark.parametrize(
    "args, needle",
    [
        pytest.param(["-", "--out", "flows"], "--out and --in-place do not apply", id="out"),
        pytest.param(["-", "other.py"], "cannot be mixed", id="mixed"),
        pytest.param(["x.py", "--stdin-filename", "y.py"], "goes with '-'", id="stdin-filename-alone"),
        pytest.param(["x.py", "--force"], "--force goes with --out", id="force-alone"),
        pytest.param(["x.py", "-j", "-1"], "-1 is not in the range", id="negative-jobs"),
    ],
)
def test_convert_usage_errors_exit_2(args, needle):
    proc = interop("convert", *args, stdin="")
    no_traceback(proc)
    assert proc.returncode == 2
    assert needle in proc.stderr


def test_lint_reads_stdin():
    proc = interop("lint", "-", stdin=LEFTOVER)
    assert proc.returncode == 1
    assert proc.stdout.startswith("-:1:1: IXL101 ")
    named = interop("lint", "-", "--stdin-filename", "flows/etl.py", stdin=LEFTOVER)
    assert named.stdout.startswith("flows/etl.py:1:1: IXL101 ")


def test_lint_fix_from_stdin_prints_the_fixed_text_and_the_findings_on_stderr():
    proc = interop("lint", "--fix", "-", stdin="import airflow\n" + LEFTOVER)
    assert proc.returncode == 1
    assert proc.stdout == LEFTOVER  # the unused `import airflow` removed, the used import kept
    assert "-:1:1: IXL101 " in proc.stderr


def test_lint_stdin_that_is_not_utf8_is_an_error():
    proc = subprocess.run([sys.executable, "-m", "interop.cli", "lint", "-"], input=b"\xff\xfe x = 1\n", capture_output=True, cwd=REPO)
    assert proc.returncode == 2
    assert b"not UTF-8" in proc.stderr and b"Traceback" not in proc.stderr


# -- -h, mistyped commands, completion ----------------------------------------------------------
@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]], ids=["interop", *COMMANDS])
def test_dash_h_is_help_everywhere(command):
    short, long = interop(*command, "-h"), interop(*command, "--help")
    assert short.returncode == 0, short.stderr
    assert short.stdout == long.stdout
    assert short.stdout.startswith("Usage: interop")
    assert "-h, --help" in short.stdout


@pytest.mark.parametrize("typo, meant", [("lnt", "lint"), ("conver", "convert"), ("stauts", "status")])
def test_a_mistyped_command_gets_a_suggestion(typo, meant):
    proc = interop(typo)
    assert proc.returncode == 2
    assert f"No such command '{typo}'. Did you mean '{meant}'?" in proc.stderr


def test_an_unknown_command_gets_no_wild_suggestion():
    proc = interop("frobnicate")
    assert proc.returncode == 2
    assert "No such command 'frobnicate'." in proc.stderr and "Did you mean" not in proc.stderr


def test_shell_completion_works_and_is_documented():
    script = interop(env=clean_env(_INTEROP_COMPLETE="bash_source"))
    assert script.returncode == 0 and "_INTEROP_COMPLETE=bash_complete" in script.stdout
    words = interop(env=clean_env(_INTEROP_COMPLETE="bash_complete", COMP_WORDS="interop li", COMP_CWORD="1"))
    assert "plain,lint" in words.stdout.splitlines()
    assert "_INTEROP_COMPLETE=bash_source interop" in interop("--help").stdout
    for page in ("convert.md", "lint.md"):
        assert "_INTEROP_COMPLETE" in (REPO / "docs" / page).read_text()


# -- quiet, verbose, plain lines, progress bar, colour ------------------------------------------
@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    for name in ("a", "b", "c"):
        write(tmp_path / "dags" / f"{name}.py", DAG.replace("'xcoms'", f"'xcoms_{name}'").replace('"xcoms"', f'"xcoms_{name}"'))
    return tmp_path / "dags"


def test_a_batch_in_ci_prints_plain_progress_lines(batch, tmp_path):
    proc = interop("convert", str(batch), "--out", str(tmp_path / "flows"))
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("[")] == [
        f"[1/3] {batch / 'a.py'}: converted", f"[2/3] {batch / 'b.py'}: converted", f"[3/3] {batch / 'c.py'}: converted",
    ]
    assert "\x1b[" not in proc.stderr and "\r" not in proc.stderr  # no colour, no bar in a log


def test_a_batch_on_a_terminal_shows_a_progress_bar_not_lines(batch, tmp_path):
    code, screen = on_a_terminal("convert", str(batch), "--out", str(tmp_path / "flows"))
    assert code == 0, screen
    assert "converting" in screen and "3/3" in screen, screen[-1500:]  # rich's bar: description and count
    assert "[1/3]" not in screen
    assert "3 file(s): 3 converted" in screen


def test_quiet_prints_only_what_needs_attention(batch, tmp_path):
    out = tmp_path / "flows"
    assert interop("convert", str(batch), "--out", str(out)).returncode == 0
    write(out / "a.py", "# edited\n")
    for args in (["convert", "-q"], ["-q", "convert"]):  # the command's flag or the group's
        proc = interop(*args, str(batch), "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines() == [f"{out / 'a.py'}: edited since interop wrote it: kept (its DAG converts as before; --force overwrites)"]
    flow = write(tmp_path / "f.py", LEFTOVER)
    quiet_lint = interop("lint", "-q", str(flow))
    assert quiet_lint.returncode == 1 and quiet_lint.stderr == "" and "IXL101" in quiet_lint.stdout


def test_quiet_and_verbose_together_is_a_usage_error():
    proc = interop("convert", "-q", "-v", "x.py")
    assert proc.returncode == 2 and "exclusive" in proc.stderr


def test_lint_colour_on_a_terminal_and_never_with_no_color(tmp_path):
    flow = write(tmp_path / "f.py", LEFTOVER)
    code, screen = on_a_terminal("lint", str(flow))
    assert code == 1 and "\x1b[" in screen and "IXL101" in screen
    code, screen = on_a_terminal("lint", str(flow), env=clean_env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 1 and "\x1b[" not in screen
    assert f"{flow}:1:1: IXL101 " in screen
    piped = interop("lint", str(flow))
    assert "\x1b[" not in piped.stdout


def test_convert_colour_honours_no_color(tmp_path):
    bad = write(tmp_path / "bad.py", "def f(:\n")
    code, screen = on_a_terminal("convert", str(bad))
    assert code == 2 and "\x1b[" in screen
    code, screen = on_a_terminal("convert", str(bad), env=clean_env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 2 and "\x1b[" not in screen and f"{bad}:1: IX001 syntax error" in screen


# -- repeated findings ----------------------------------------------------------------------------
LOOP = """\
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("big") as dag:
    for i in range({n}):
        t = BashOperator(task_id=f"t{{i}}", bash_command="echo")
        foo(t)
"""


def test_a_big_loop_does_not_print_a_line_per_repeat(tmp_path):
    dag = write(tmp_path / "loop.py", LOOP.format(n=2000))
    proc = interop("convert", str(dag))
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) < 10, lines
    (ix101,) = [line for line in lines if "IX101" in line]
    assert ix101.startswith("  IX101 x2000 line 7: ") and "--verbose lists each" in ix101
    assert any(line.startswith("  converted 2000 tasks t0, t1, t2, ... t1999 (BashOperator, line 6)") for line in lines)
    verbose = interop("convert", "-v", str(dag))
    assert sum("IX101" in line for line in verbose.stderr.splitlines()) == 2000
    assert len(verbose.stderr.splitlines()) > 4000


def test_a_refused_loop_prints_its_error_once_per_kind(tmp_path):
    dag = write(tmp_path / "loop.py", LOOP.format(n=500).replace("range(500)", "get_items()"))
    proc = interop("convert", str(dag), str(dag), "--check")  # a batch prints errors as they come
    no_traceback(proc)
    assert len(proc.stderr) < 5000


def test_lint_folds_identical_findings_in_text_and_lists_them_in_machine_formats(tmp_path):
    body = "".join(f"    a{i} >> b{i}\n" for i in range(40))
    flow = write(
        tmp_path / "f.py",
        "from prefect import flow, task\n\n\n@task\ndef t():\n    return 1\n\n\n@flow\ndef f():\n"
        + "".join(f"    a{i} = t.submit()\n    b{i} = t.submit()\n" for i in range(40)) + body,
    )
    text = interop("lint", "--select", "IXL201", str(flow))
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert len(lines) <= 4 and " IXL201 x" in lines[0] and "--verbose lists each" in lines[0], lines
    assert len(interop("lint", "-v", "--select", "IXL201", str(flow)).stdout.splitlines()) == 40
    import json

    assert len(json.loads(interop("lint", "--format", "json", "--select", "IXL201", str(flow)).stdout)["findings"]) == 40


# -- formats and missing files ------------------------------------------------------------------
def test_lint_text_is_ruff_style_with_the_colon(tmp_path):
    flow = write(tmp_path / "f.py", LEFTOVER)
    proc = interop("lint", str(flow))
    assert proc.stdout == f"{flow}:1:1: IXL101 Airflow import left in a flow file: `airflow.models.Variable` still used by flow code\n"


def test_a_missing_file_is_reported_once_without_line_0(tmp_path):
    missing = tmp_path / "nope.py"
    proc = interop("convert", str(missing))
    no_traceback(proc)
    assert proc.returncode == 2
    mentions = [line for line in (proc.stdout + proc.stderr).splitlines() if "nope.py" in line]
    assert mentions == [f"{missing}: IX005 cannot read: No such file or directory"]
    assert "line 0" not in proc.stderr and ":0:" not in proc.stderr
    lint = interop("lint", str(missing))
    assert lint.returncode == 2
    assert [line for line in lint.stderr.splitlines() if "nope.py" in line] == [f"{missing}:1:1: error: no such file or directory"]


def test_a_folder_without_python_files_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = interop("convert", str(tmp_path / "empty"), "--out", str(tmp_path / "flows"))
    assert proc.returncode == 0
    assert "no *.py file found" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["convert", "sample_dags/diamond.py", "--out", "pyproject.toml"], id="out-is-a-file"),
        pytest.param(["convert", "sample_dags/diamond.py", "--report", "docs"], id="report-is-a-folder"),
        pytest.param(["convert", "sample_dags/diamond.py", "--out", "x", "--in-place"], id="out-and-in-place"),
        pytest.param(["lint", "--format", "yaml", "docs"], id="bad-format"),
        pytest.param(["lint", "-", "docs"], id="lint-stdin-mixed"),
        pytest.param(["convert"], id="no-path"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(args):
    proc = interop(*args)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr


def test_a_file_name_that_is_not_utf8_is_printed_as_it_is(tmp_path):
    name = os.fsdecode(b"flow\xff.py")
    write(tmp_path / name, LEFTOVER)
    proc = subprocess.run([sys.executable, "-m", "interop.cli", "lint", str(tmp_path)], capture_output=True, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(os.fsencode(tmp_path) + b"/flow\xff.py:1:1: IXL101 ")
    out = tmp_path / "flows"
    dag = tmp_path / "dags" / os.fsdecode(b"etl\xfe.py")
    write(dag, DAG)
    converted = subprocess.run([sys.executable, "-m", "interop.cli", "convert", str(dag.parent), "--out", str(out)], capture_output=True, cwd=REPO)
    assert converted.returncode == 0 and b"Traceback" not in converted.stderr
    assert "@flow(name='xcoms')" in (out / dag.name).read_text()


def test_lint_of_a_folder_on_a_terminal_shows_a_progress_bar(tmp_path):
    for name in ("a", "b", "c"):
        write(tmp_path / "flows" / f"{name}.py", LEFTOVER)
    code, screen = on_a_terminal("lint", str(tmp_path / "flows"))
    assert code == 1
    assert "linting" in screen and "3/3" in screen, screen[-1500:]
    assert screen.count("IXL101") == 3
    assert "3 findings in 3 files" in screen


def test_an_internal_error_shows_its_first_line_and_keeps_the_traceback_for_verbose():
    from interop import console
    from interop.commands.convert import _finding_lines

    finding = {"code": "IX999", "line": 3, "message": "internal error: KeyError: 'x'\nTraceback (most recent call last):\n  File ...\n"}
    (line,) = _finding_lines("dag.py", [finding], console.NORMAL, color=False)
    assert line == "dag.py:3: IX999 internal error: KeyError: 'x' (the traceback: --verbose, or the report)"
    (verbose,) = _finding_lines("dag.py", [finding], console.VERBOSE, color=False)
    assert "Traceback (most recent call last)" in verbose
