"""Data safety of ``interop convert`` and ``interop lint --fix``, through the real console script.

Each test is a case a careless user, a full disk or a read-only folder makes: nothing the user
had may be lost or silently changed, no traceback, exit 2 for an error, the batch goes on.

* Full disk: a file size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) makes ``write``
  fail with ``EFBIG`` past N bytes, as a full disk fails with ``ENOSPC``; ``/dev/full`` for
  the report.
* Read-only folder: ``chmod 0555`` for a normal user; as root (whom modes do not stop) a
  read-only bind mount in a private mount namespace (``unshare -m``).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAG = (REPO / "tests" / "fixtures" / "convert" / "xcom_push_pull.before.py").read_text()
OTHER_DAG = (REPO / "sample_dags" / "diamond.py").read_text()
HELPER = "X = 1\n"


def interop(*args: str, cwd: Path | None = None, umask: int | None = None, fsize: int | None = None,
            prefix: list[str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    def limits() -> None:
        if umask is not None:
            os.umask(umask)
        if fsize is not None:  # past fsize bytes, write() fails (EFBIG) like a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    # under a file size limit Python would write its .pyc caches short (a short write is not
    # an error for it): never write them from these processes
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "interop.cli", *args],
        capture_output=True, text=True, cwd=cwd or REPO, preexec_fn=limits, env=env, input=stdin, timeout=300,
    )


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*.tmp")]


_UNSHARE: bool | None = None


def _can_bind_read_only() -> bool:
    global _UNSHARE
    if _UNSHARE is None:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount --bind -o ro / / 2>/dev/null || mount -o remount,bind,ro / /"],
            capture_output=True,
        ) if shutil.which("unshare") else None
        _UNSHARE = probe is not None and probe.returncode == 0
    return _UNSHARE


def read_only(folder: Path) -> list[str]:
    """A command prefix under which ``folder`` is read-only (modes for a user, a mount for root)."""
    if os.geteuid() != 0:
        for p in [folder, *[q for q in folder.rglob("*") if q.is_dir()]]:
            p.chmod(0o555)
        return []
    if not _can_bind_read_only():
        pytest.skip("running as root without mount namespaces: no way to make a folder read-only")
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder)]


def writable_again(folder: Path) -> None:
    for p in [folder, *[q for q in folder.rglob("*") if q.is_dir()]]:
        p.chmod(0o755)


# -- lint --fix -------------------------------------------------------------------------------
FIXABLE = "import airflow\nfrom prefect import flow\n\n\n@flow\ndef etl():\n    return 1\n"
FIXED = "from prefect import flow\n\n\n@flow\ndef etl():\n    return 1\n"
BIG_FIXABLE = FIXABLE + "".join(f"# line {i} of a long comment that must survive a full disk\n" for i in range(200))


def test_lint_fix_on_a_full_disk_leaves_the_file_whole(tmp_path):
    flow = tmp_path / "etl.py"
    flow.write_text(BIG_FIXABLE)
    proc = interop("lint", "--fix", str(flow), fsize=4096)  # the file is ~12 kB: its rewrite cannot fit
    no_traceback(proc)
    assert proc.returncode == 2
    assert flow.read_text() == BIG_FIXABLE  # not truncated to what fitted
    assert "cannot write the fixes: File too large (the file is unchanged)" in proc.stderr
    assert temp_files(tmp_path) == []
    assert "IXL101" in proc.stdout  # its findings are still reported (those before fixing)


def test_lint_fix_keeps_the_mode_and_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real" / "etl.py"
    real.parent.mkdir()
    real.write_text(FIXABLE)
    real.chmod(0o640)
    link = tmp_path / "etl.py"
    link.symlink_to(real)
    proc = interop("lint", "--fix", str(link))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == FIXED
    assert mode(real) == 0o640
    assert temp_files(tmp_path) == []


def test_lint_fix_in_a_read_only_folder_is_an_error_and_the_other_files_are_linted(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.py").write_text(FIXABLE)
    free = tmp_path / "free.py"
    free.write_text(FIXABLE)
    try:
        proc = interop("lint", "--fix", str(locked / "a.py"), str(free), prefix=read_only(locked))
    finally:
        writable_again(locked)
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{locked / 'a.py'}:1:1: error: cannot write the fixes:" in proc.stderr
    assert (locked / "a.py").read_text() == FIXABLE
    assert free.read_text() == FIXED  # the batch went on


def test_lint_fix_from_stdin_writes_no_file(tmp_path):
    proc = interop("lint", "--fix", "-", "--stdin-filename", str(tmp_path / "etl.py"), stdin=FIXABLE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == FIXED
    assert list(tmp_path.iterdir()) == []


# -- convert --out: collisions and hand edits --------------------------------------------------
def make_dags(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / f"{name}.py").write_text(text)
    return root


def test_two_inputs_to_one_output_is_an_error_naming_both_and_nothing_is_written(tmp_path):
    a = make_dags(tmp_path / "dirA", etl=DAG, helpers=HELPER)
    b = make_dags(tmp_path / "dirB", etl=OTHER_DAG)
    out = tmp_path / "X"
    out.mkdir()
    (out / "etl.py").write_text("# the flow from last week\n")
    proc = interop("convert", str(a), str(b), "--out", str(out))
    no_traceback(proc)
    assert proc.returncode == 2
    assert str(a / "etl.py") in proc.stderr and str(b / "etl.py") in proc.stderr
    assert f"{out / 'etl.py'}: would be written from both" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["etl.py"]  # nothing written
    assert (out / "etl.py").read_text() == "# the flow from last week\n"


def test_the_same_file_given_twice_is_no_collision(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    proc = interop("convert", str(dags / "etl.py"), str(dags), "--out", str(tmp_path / "X"))
    assert proc.returncode == 0, proc.stderr
    assert "@flow(name='xcoms')" in (tmp_path / "X" / "etl.py").read_text()


def test_a_flow_edited_by_hand_is_kept_unless_force(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG, helpers=HELPER)
    out = tmp_path / "flows"
    assert interop("convert", str(dags), "--out", str(out)).returncode == 0
    flow = out / "etl.py"
    edited = flow.read_text() + "\n# resolved by hand: see the ticket\n"
    flow.write_text(edited)

    again = interop("convert", str(dags), "--out", str(out), "--report", str(tmp_path / "r.json"))
    no_traceback(again)
    assert again.returncode == 0  # its DAG did not change: nothing is stale
    assert flow.read_text() == edited
    assert f"{flow}: edited since interop wrote it: kept" in again.stderr
    assert "1 kept (edited by hand)" in again.stderr
    entries = {Path(f["path"]).name: f for f in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert entries["etl.py"]["output"]["result"] == "kept"
    assert entries["helpers.py"]["output"]["result"] == "unchanged"

    (dags / "etl.py").write_text(DAG.replace("xcoms", "xcoms_v2"))  # the DAG changes too
    stale = interop("convert", str(dags), "--out", str(out))
    no_traceback(stale)
    assert stale.returncode == 1  # a hand is needed: merge
    assert flow.read_text() == edited
    assert "now converts differently: kept, not updated" in stale.stderr and "--force" in stale.stderr

    forced = interop("convert", str(dags), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "@flow(name='xcoms_v2')" in flow.read_text() and "resolved by hand" not in flow.read_text()


def test_a_flow_not_edited_follows_its_dag(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    out = tmp_path / "flows"
    assert interop("convert", str(dags), "--out", str(out)).returncode == 0
    (dags / "etl.py").write_text(DAG.replace("xcoms", "xcoms_v2"))
    proc = interop("convert", str(dags), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "@flow(name='xcoms_v2')" in (out / "etl.py").read_text()
    assert "kept" not in proc.stderr


def test_a_file_interop_did_not_write_is_kept(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    out = tmp_path / "flows"
    out.mkdir()
    (out / "etl.py").write_text("# someone's own flow\n")
    proc = interop("convert", str(dags), "--out", str(out))
    no_traceback(proc)
    assert proc.returncode == 1
    assert (out / "etl.py").read_text() == "# someone's own flow\n"
    assert "not written by interop" in proc.stderr


def test_check_and_diff_with_out_compare_with_the_out_folder(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG, helpers=HELPER)
    out = tmp_path / "flows"
    missing = interop("convert", str(dags), "--out", str(out), "--check")
    assert missing.returncode == 1
    assert not out.exists()  # --check writes nothing
    assert f"{out / 'etl.py'}: missing" in missing.stderr

    assert interop("convert", str(dags), "--out", str(out)).returncode == 0
    up_to_date = interop("convert", str(dags), "--out", str(out), "--check", "--diff")
    assert (up_to_date.returncode, up_to_date.stdout) == (0, "")  # committed flows match their DAGs

    (dags / "etl.py").write_text(DAG.replace("xcoms", "xcoms_v2"))
    before = (out / "etl.py").read_text()
    stale = interop("convert", str(dags), "--out", str(out), "--check", "--diff")
    assert stale.returncode == 1
    assert (out / "etl.py").read_text() == before
    assert stale.stdout.startswith(f"--- a/{out / 'etl.py'}\n+++ b/{out / 'etl.py'}\n")
    assert "-@flow(name='xcoms')" in stale.stdout and "+@flow(name='xcoms_v2')" in stale.stdout
    assert "helpers.py" not in stale.stdout  # unchanged there
    assert f"{out / 'etl.py'}: out of date" in stale.stderr


def test_out_inside_the_input_folder_is_not_converted_again(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    for _ in range(2):
        proc = interop("convert", str(dags), "--out", str(dags / "flows"))
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.relative_to(dags).as_posix() for p in dags.rglob("*.py")) == ["etl.py", "flows/etl.py"]


def test_out_onto_the_input_folder_writes_nothing_over_the_dags(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG, helpers=HELPER)
    proc = interop("convert", str(dags), "--out", str(dags))
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{dags / 'etl.py'}: --out would overwrite the input; not written" in proc.stderr
    assert (dags / "etl.py").read_text() == DAG and (dags / "helpers.py").read_text() == HELPER
    assert not (dags / ".interop-manifest.json").exists()


# -- permissions and symlinks ------------------------------------------------------------------
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_out_files_get_their_mode_from_the_umask_helpers_included(tmp_path, umask, expected):
    dags = make_dags(tmp_path / "dags", etl=DAG, helpers=HELPER)
    out = tmp_path / "flows"
    proc = interop("convert", str(dags), "--out", str(out), "--report", str(tmp_path / "r.json"), umask=umask)
    assert proc.returncode == 0, proc.stderr
    assert {p.name: mode(p) for p in out.glob("*.py")} == {"etl.py": expected, "helpers.py": expected}
    assert mode(tmp_path / "r.json") == expected


def test_in_place_keeps_the_mode_and_writes_through_a_symlink(tmp_path):
    real = tmp_path / "shared" / "etl.py"
    real.parent.mkdir()
    real.write_text(DAG)
    real.chmod(0o664)
    link = tmp_path / "etl.py"
    link.symlink_to(real)
    proc = interop("convert", str(link), "--in-place")
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "@flow(name='xcoms')" in real.read_text()
    assert mode(real) == 0o664
    assert temp_files(tmp_path) == []


# -- write errors --------------------------------------------------------------------------------
def test_a_read_only_out_folder_is_an_error_per_file_and_the_report_is_still_written(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG, helpers=HELPER)
    (dags / "team").mkdir()
    (dags / "team" / "other.py").write_text(OTHER_DAG)
    out = tmp_path / "flows"
    (out / "team").mkdir(parents=True)
    report = tmp_path / "report.json"
    try:
        proc = interop("convert", str(dags), "--out", str(out), "--report", str(report), prefix=read_only(out / "team"))
    finally:
        writable_again(out / "team")
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{out / 'team' / 'other.py'}: cannot write:" in proc.stderr
    assert sorted(p.name for p in out.glob("*.py")) == ["etl.py", "helpers.py"]  # the batch went on
    entries = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert entries["other.py"]["output"]["result"] == "error"
    assert entries["etl.py"]["output"]["result"] == "written"


def test_a_full_disk_is_an_error_per_file_and_nothing_is_truncated(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG, big=OTHER_DAG + "# padding\n" * 2000)
    proc = interop("convert", str(dags / "big.py"), str(dags / "etl.py"), "--in-place", fsize=8192)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "big.py: cannot write: File too large" in proc.stderr
    assert (dags / "big.py").read_text() == OTHER_DAG + "# padding\n" * 2000
    assert "@flow(name='xcoms')" in (dags / "etl.py").read_text()  # the batch went on
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("where", ["/dev/full", "missing-parent-is-a-file/report.json"])
def test_an_unwritable_report_is_an_error_and_the_flows_are_still_written(tmp_path, where):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    (tmp_path / "missing-parent-is-a-file").write_text("")
    report = where if where.startswith("/") else str(tmp_path / where)
    proc = interop("convert", str(dags), "--out", str(tmp_path / "flows"), "--report", report)
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{report}: cannot write the report:" in proc.stderr
    assert (tmp_path / "flows" / "etl.py").exists()
    fallback = Path(proc.stderr.split("; written to ")[1].split(" instead")[0])  # the ledger is not lost
    assert json.loads(fallback.read_text())["summary"]["converted"] == 1
    fallback.unlink()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # never replaced by a file


def test_a_report_to_dev_stdout_is_written_there(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    proc = interop("convert", str(dags), "--out", str(tmp_path / "flows"), "--report", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["converted"] == 1


def test_a_device_is_not_read_forever(tmp_path):
    for command in (["convert", "/dev/zero"], ["lint", "/dev/zero"]):
        proc = interop(*command)
        no_traceback(proc)
        assert proc.returncode == 2
        assert "not a regular file" in proc.stderr


def test_a_report_over_an_input_file_is_refused(tmp_path):
    dags = make_dags(tmp_path / "dags", etl=DAG)
    proc = interop("convert", str(dags), "--out", str(tmp_path / "flows"), "--report", str(dags / "etl.py"))
    no_traceback(proc)
    assert proc.returncode == 2
    assert "is one of the files to convert" in proc.stderr
    assert (dags / "etl.py").read_text() == DAG


@pytest.mark.parametrize(
    "args", [["convert", "sample_dags/diamond.py"], ["lint", "sample_dags/diamond.py"], ["lint", "--fix", "-"]], ids=["convert", "lint", "lint-fix-stdin"]
)
def test_stdout_on_a_full_disk_is_an_error_not_a_traceback(args):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "interop.cli", *args], stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO,
            input=FIXABLE, timeout=300,
        )
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == 2
    assert "cannot write to stdout: No space left on device" in proc.stderr


def test_a_read_only_file_is_not_replaced_by_a_fix(tmp_path, monkeypatch):
    """Renaming over a file works even when its owner made it read-only; interop refuses, as
    ``open()`` would (root may write anything: the check is the same ``access(W_OK)``)."""
    from click.testing import CliRunner

    from interop import files
    from interop.cli import main

    flow = tmp_path / "etl.py"
    flow.write_text(FIXABLE)
    flow.chmod(0o444)
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda p, m: False if Path(p) == flow and m == os.W_OK else real_access(p, m))
    result = CliRunner().invoke(main, ["lint", "--fix", str(flow)])
    assert result.exit_code == 2, result.output
    assert "cannot write the fixes: Permission denied (the file is unchanged)" in result.stderr
    assert flow.read_text() == FIXABLE and mode(flow) == 0o444
