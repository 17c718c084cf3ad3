"""`interop convert` on input a careless user gives it: parser crashes, deep code, line endings,
syntax errors. Expected values come from Python itself (``compile``, ``ast``), not from here."""

from __future__ import annotations

import ast
import ctypes
import faulthandler
import json
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from converters import convert_source
from converters.source_text import MAX_DEPTH, run_deep
from interop.commands import convert as convert_command

REPO = Path(__file__).resolve().parent.parent
INTEROP = str(Path(sys.executable).with_name("interop"))
GOOD = (REPO / "sample_dags" / "diamond.py").read_text()


def interop(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([INTEROP, *args], capture_output=True, cwd=cwd or REPO)


def python_error(source: str) -> SyntaxError:
    """What Python itself says of ``source``."""
    try:
        compile(source.lstrip("\ufeff"), "x.py", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as exc:
        return exc
    raise AssertionError("Python accepts this source")


def chain_dag(n: int) -> str:
    lines = [
        "from airflow.sdk import DAG",
        "from airflow.providers.standard.operators.python import PythonOperator",
        "",
        "",
        "def f():",
        "    return 1",
        "",
        "",
        'with DAG("chain", schedule=None):',
    ]
    lines += [f'    t{i} = PythonOperator(task_id="t{i}", python_callable=f)' for i in range(n)]
    lines.append("    " + " >> ".join(f"t{i}" for i in range(n)))
    return "\n".join(lines) + "\n"


# -- one bad file costs only that file ------------------------------------------------------------

#: libcst's native parser overflowed its stack on this and killed the process (signal 11)
NESTED = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_a_file_that_crashed_the_parser_costs_only_that_file(tmp_path, jobs):
    src = tmp_path / "dags"
    src.mkdir()
    for i in range(20):
        (src / f"good_{i:02}.py").write_text(GOOD)
    (src / "deep.py").write_text(NESTED)
    out, report = tmp_path / "flows", tmp_path / "report.json"
    proc = interop("convert", str(src), "--out", str(out), "--report", str(report), "-j", jobs)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert sorted(p.name for p in out.glob("*.py")) == sorted(f"good_{i:02}.py" for i in range(20))
    assert all("@flow(" in p.read_text() for p in out.glob("*.py"))  # (and .interop-manifest.json)
    files = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert len(files) == 21
    assert {f["status"] for name, f in files.items() if name != "deep.py"} == {"converted"}
    deep = files["deep.py"]
    assert deep["status"] == "failed"
    error = python_error(NESTED)
    assert deep["findings"] == [
        {"code": "IX001", "line": error.lineno, "message": f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"}
    ]
    assert f"deep.py:{error.lineno}: IX001 syntax error" in stderr


def test_a_single_deep_file_fails_cleanly(tmp_path):
    path = tmp_path / "deep.py"
    path.write_text(NESTED)
    proc = interop("convert", str(path))
    assert proc.returncode == 2  # not -11: the process did not crash
    assert f"{path}:1: IX001 syntax error at line 1" in proc.stderr.decode()
    assert proc.stdout == b""


_convert_one = convert_command._convert_one


def _crash_on_bad(path: str):  # a worker's conversion that dies in native code on one file
    if path.endswith("bad.py"):
        faulthandler.disable()  # pytest's would print the crash
        ctypes.string_at(0)  # SIGSEGV
    return _convert_one(path)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched worker reaches children by fork")
def test_a_worker_killed_by_a_crash_costs_only_its_file(tmp_path, monkeypatch):
    paths = []
    for name in ("a.py", "bad.py", "b.py", "c.py", "d.py", "e.py"):
        (tmp_path / name).write_text(GOOD)
        paths.append(str(tmp_path / name))
    monkeypatch.setattr(convert_command, "_convert_one", _crash_on_bad)
    results = convert_command._run_workers(paths, 2)
    by_name = {Path(r[0]).name: r for r in results}
    assert [Path(r[0]).name for r in results] == [Path(p).name for p in paths]  # in input order
    _, _, _, status, error, report = by_name["bad.py"]
    assert (status, error) == ("failed", True)
    (finding,) = report["findings"]
    assert finding["code"] == "IX999" and "killed by SIGSEGV" in finding["message"]
    assert all(by_name[n][3] == "converted" for n in ("a.py", "b.py", "c.py", "d.py", "e.py"))


# -- deep but valid code ---------------------------------------------------------------------------


def test_a_3000_long_chain_converts_with_every_edge(tmp_path):
    path = tmp_path / "chain.py"
    path.write_text(chain_dag(3000))
    report = tmp_path / "report.json"
    proc = interop("convert", str(path), "--out", str(tmp_path / "out"), "--report", str(report))
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["status"] == "converted"
    (dag,) = entry["dags"]
    assert len(dag["tasks"]) == 3000
    assert sorted(map(tuple, dag["edges"])) == sorted((f"t{i}", f"t{i + 1}") for i in range(2999))
    compile((tmp_path / "out" / "chain.py").read_text(), "chain.py", "exec")


def test_code_deeper_than_the_limit_is_refused_with_its_line():
    source = chain_dag(2) + "\nX = a" + ".b" * (MAX_DEPTH + 10) + "\n"
    run_deep(compile, source, "deep.py", "exec")  # valid Python (given the stack and recursion limit)
    result = convert_source(source, "deep.py")
    assert (result.status, result.error, result.output) == ("failed", True, source)
    (finding,) = result.findings
    assert finding.code == "IX001"
    assert finding.line == source.count("\n")  # the last line
    assert f"limit is {MAX_DEPTH}" in finding.message


def test_deep_conversion_leaves_the_recursion_limit_as_it_was():
    before = sys.getrecursionlimit()
    assert convert_source(chain_dag(1200), "chain.py").status == "converted"
    assert sys.getrecursionlimit() == before


# -- line endings and string literals ---------------------------------------------------------------

LITERALS_DAG = '''"""A DAG whose kept code has multi-line strings."""
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

SQL = """
select 1
from t
"""

NOTE = "a\\
b"
RAW = r"""c:\\
path"""


def f():
    """Docstring
    over lines."""
    return SQL + NOTE + RAW


with DAG("literals", schedule=None):
    a = PythonOperator(task_id="a", python_callable=f)
    b = PythonOperator(task_id="b", python_callable=f)
    a >> b
'''


def with_endings(text: str, endings: list[str]) -> str:
    lines = text.split("\n")
    return "".join(line + endings[i % len(endings)] for i, line in enumerate(lines[:-1])) + lines[-1]


ENDINGS = {
    "crlf": ["\r\n"],
    "cr": ["\r"],
    "mixed": ["\r\n", "\n", "\n", "\r\n", "\r"],
}


def string_values(code: str) -> list[str]:
    """The value of every string literal, as Python reads them."""
    return sorted(n.value for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def kept_blocks(source: str) -> list[str]:
    """Source text of the statements the conversion keeps as they are (SQL ... RAW, f's body)."""
    start, end = source.index("SQL = "), source.index("def f():")
    body_start = source.index('    """Docstring')
    body_end = source.index("RAW", source.index("return SQL")) + len("RAW")
    body_end += 2 if source[body_end : body_end + 2] == "\r\n" else 1  # with its line ending
    return [source[start:end], source[body_start:body_end]]


@pytest.mark.parametrize("kind", sorted(ENDINGS))
def test_line_endings_and_string_literals_survive(kind):
    source = with_endings(LITERALS_DAG, ENDINGS[kind])
    result = convert_source(source, "literals.py")
    assert result.status == "converted", result.findings
    output = result.output
    plain = convert_source(LITERALS_DAG, "literals.py").output
    assert output.replace("\r\n", "\n").replace("\r", "\n") == plain  # the same code
    for block in kept_blocks(source):
        assert block in output  # byte for byte, line endings included
    assert set(string_values(LITERALS_DAG)) <= set(string_values(output))
    assert {v for v in string_values(source) if "\n" in v} <= set(string_values(output))
    if len(ENDINGS[kind]) == 1:
        assert output == plain.replace("\n", ENDINGS[kind][0])


@pytest.mark.parametrize("kind", ["crlf", "mixed"])
def test_line_endings_survive_every_output_of_the_cli(tmp_path, kind):
    raw = with_endings(LITERALS_DAG, ENDINGS[kind]).encode()
    expected = convert_source(raw.decode(), "dag.py").output.encode()
    src = tmp_path / "src"
    src.mkdir()
    (src / "dag.py").write_bytes(raw)

    stdout = interop("convert", str(src / "dag.py"))
    assert stdout.returncode == 0, stdout.stderr
    assert stdout.stdout == expected

    assert interop("convert", str(src), "--out", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out" / "dag.py").read_bytes() == expected

    check = interop("convert", str(src / "dag.py"), "--check")
    assert check.returncode == 1 and (src / "dag.py").read_bytes() == raw

    diff = interop("convert", "dag.py", "--diff", cwd=src)
    assert diff.returncode == 0
    if shutil.which("git"):
        applied = tmp_path / "applied"
        applied.mkdir()
        (applied / "dag.py").write_bytes(raw)
        (tmp_path / "d.patch").write_bytes(diff.stdout)
        git = subprocess.run(["git", "apply", str(tmp_path / "d.patch")], cwd=applied, capture_output=True)
        assert git.returncode == 0, git.stderr
        assert (applied / "dag.py").read_bytes() == expected

    assert interop("convert", str(src / "dag.py"), "--in-place").returncode == 0
    assert (src / "dag.py").read_bytes() == expected
    assert interop("convert", str(src / "dag.py"), "--check").returncode == 0  # converting again: no change


def test_a_file_with_nothing_to_convert_is_kept_byte_for_byte(tmp_path):
    raw = with_endings('"""No DAG."""\nX = """a\nb"""\n', ENDINGS["mixed"]).encode()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helpers.py").write_bytes(raw)
    assert interop("convert", str(tmp_path / "src"), "--out", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out" / "helpers.py").read_bytes() == raw


# -- IX001 is Python's own line and column -----------------------------------------------------------

SYNTAX_ERRORS = {
    "unclosed-paren": "from airflow import DAG\nx = (1,\ny = 2\n",
    "bad-def": "def f(:\n    pass\n",
    "missing-colon": "import os\n\nif True\n    pass\n",
    "unexpected-indent": "def f():\n    x = 1\n      y = 2\n",
    "unindent": "if x:\n        a = 1\n    b = 2\n",
    "unterminated-string": "x = 1\ns = 'abc\nz = 3\n",
    "unterminated-triple": "x = 1\ns = '''abc\nz = 3\n",
    "mismatched-bracket": "x = [1, 2))\n",
    "keyword-as-name": "x = 1\nclass = 3\n",
    "tabs-and-spaces": "if x:\n\tif y:\n        pass\n",
    "crlf": "a = 1\r\nb = (\r\nc = 2\r\n",
    "byte-order-mark": "\ufeffimport os\nx = (\n",
    "too-many-parentheses": NESTED,
}


@pytest.mark.parametrize("name", sorted(SYNTAX_ERRORS))
def test_ix001_gives_pythons_line_and_column(name):
    source = SYNTAX_ERRORS[name]
    error = python_error(source)
    result = convert_source(source, "bad.py")
    assert (result.status, result.error, result.output) == ("failed", True, source)
    (finding,) = result.findings
    assert (finding.code, finding.line) == ("IX001", error.lineno)
    assert finding.message == f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"


def test_ix001_on_the_command_line(tmp_path):
    source = SYNTAX_ERRORS["missing-colon"]
    error = python_error(source)
    (tmp_path / "bad.py").write_text(source)
    proc = interop("convert", "bad.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"bad.py:{error.lineno}: IX001 syntax error at line {error.lineno}, column {error.offset}" in proc.stderr.decode()



def test_comment_scanner_finds_what_tokenize_finds() -> None:
    """The converter finds comments with a quote-aware scanner, not ``tokenize`` (ten times the
    cost); on strings holding ``#``, escaped quotes, raw, byte, f- and triple-quoted strings it
    finds exactly tokenize's COMMENT tokens (checked on the shared corpus's inputs and outputs
    when it was written: 2,358 files, no difference)."""
    import io
    import tokenize

    from converters.source_text import comment_lines

    source = (
        "a = '#no' # yes 1\n"
        'b = "it\\"s # no"  # yes 2   \n'
        "c = r'\\' # no' # yes 3\n"
        "d = f\"{x['#']} # no\"\n"
        "e = '''# no\n# still no ''' # yes 4\n"
        'f = """\\"""# no"""\n'
        "g = (1,  # yes 5\n     2)\n"
        "    # yes 6\n"
        "h = b'#' + rb\"\\#\"  #yes 7\n"
        "i = 'a\\\n#no'\n"
    )
    expected = [
        (tok.start[0], tok.string.rstrip())
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    ]
    assert len(expected) == 7
    assert comment_lines(source) == expected


def test_the_teams_syntax_warnings_are_not_printed(tmp_path: Path) -> None:
    """``x is not 1`` in the team's code makes Python's compiler warn; the converter compiles the
    file's code to read its names and to check the output, and printed those warnings (one
    named ``<names>``) on every convert. Python warns when the code is imported, not here."""
    dag = tmp_path / "warns.py"
    dag.write_text(
        "import pendulum\nfrom airflow.sdk import DAG, task\n\n@task\ndef t(x=1):\n    return x is not 1\n\n"
        "with DAG('warns', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n    t()\n"
    )
    done = interop("convert", str(dag), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert b"Warning" not in done.stderr, done.stderr
    assert "return x is not 1" in (tmp_path / "out" / "warns.py").read_text()
