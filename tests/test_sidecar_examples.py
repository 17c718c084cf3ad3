"""Conformance on Airflow 2.11's own example DAGs and the legacy samples: sidecar and compat loader.

Ground truth is Airflow 2.11's ``airflow dags test`` (tests/airflow_truth.py, produced in this
session, cached for it). For each compared DAG:

* the sidecar (Airflow 2.11 in ``.venv-airflow2``) gives the same task states and XComs;
* the compat loader under Airflow 3.3 gives the same, once Airflow 3's own documented
  differences are applied to the truth (``AIRFLOW3_DIFFERENCES``), unless the DAG is listed in
  ``NOT_IN_AIRFLOW3`` with the reason.

The default suite compares ``DEFAULT_SUBSET`` (15 of the 56 offline DAGs, one per construct
family); ``INTEROP_AIRFLOW2_EXAMPLES=all`` compares every offline one. The truth computes in
the background while the sidecar runs, so the two Airflow 2 processes share the two cores.
"""

from __future__ import annotations

import concurrent.futures
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import airflow2_examples as ax
from tests.airflow_truth import dag_truths
from tests.conftest import SAMPLE_DAGS

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(not ax.AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (created by .ci/run and scripts/setup-dev)"),
]

SELECTED = ax.selected_ids()
_YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
#: legacy samples: (file, dag_id, logical date); days_ago start dates run at yesterday's date
LEGACY_SAMPLES = [
    ("legacy_provide_context.py", "legacy_sales_rollup", _YESTERDAY),
    ("legacy_reports_110.py", "legacy_reports_110", _YESTERDAY),
    ("legacy_warehouse_2x.py", "legacy_warehouse_2x", "2024-01-15"),  # a Monday: full reload
    ("legacy_warehouse_2x.py", "legacy_warehouse_2x", "2024-01-17"),  # a Wednesday: incremental
]


def _requests() -> list[tuple[Path, str, str, str]]:
    reqs = [(ax.dag_file(k), k.split("::")[1], ax.LOGICAL_DATE, "2") for k in SELECTED]
    reqs += [(SAMPLE_DAGS / f, d, day, "2") for f, d, day in LEGACY_SAMPLES]
    return reqs


@pytest.fixture(scope="module")
def truth_future():
    """Airflow 2.11's ``dags test`` for every compared DAG, computed in the background."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(dag_truths, _requests())
    yield future
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def sidecar_results(truth_future) -> dict[Any, Any]:
    """The sidecar's runs of the same DAGs (one worker, while the truth computes)."""
    from airflow_interop.sidecar import Sidecar

    out: dict[Any, Any] = {}
    with Sidecar(ax.AIRFLOW2_PYTHON) as sidecar:
        for (path, dag_id, day, _), key in zip(_requests(), [*SELECTED, *LEGACY_SAMPLES]):
            out[key] = sidecar.run(path, dag_id, logical_date=day, timeout=180)
    return out


@pytest.fixture(scope="module")
def truths(truth_future) -> dict[Any, dict]:
    return dict(zip([*SELECTED, *LEGACY_SAMPLES], truth_future.result()))


def _comparable(tasks: dict[str, dict], key: str) -> dict[str, dict]:
    """Values that change run to run (``NOT_DETERMINISTIC``) are left out; states stay."""
    volatile = ax.NOT_DETERMINISTIC.get(key, {})
    return {t: ({"state": v["state"], "xcoms": "(varies)"} if t in volatile else v) for t, v in tasks.items()}


def _compat_run(path: Path, dag_id: str, day: str) -> Any:
    from airflow_interop.compat import load_dags_compat
    from airflow_interop.runner import run_dag

    load = load_dags_compat(path)
    return run_dag(load.dags[dag_id], logical_date=day, echo=False)


# --------------------------------------------------------------------------- Airflow 2.11 examples
@pytest.mark.parametrize("key", SELECTED)
def test_sidecar_matches_airflow2_dags_test(key: str, sidecar_results: dict, truths: dict) -> None:
    """Sidecar == Airflow 2.11's ``airflow dags test``: task states and XComs, same DAG and date."""
    truth, result = truths[key], sidecar_results[key]
    assert truth["tasks"], f"airflow dags test ran no task for {key}"
    assert _comparable(ax.observed(result), key) == _comparable(ax.truth_tasks(truth), key)
    assert result.state == truth["dag_run_state"]
    assert result.airflow_version == truth["airflow_version"]


@pytest.mark.parametrize("key", [k for k in SELECTED if k not in ax.NOT_IN_AIRFLOW3])
def test_compat_under_airflow3_matches_airflow2(key: str, truths: dict) -> None:
    """Compat loader under Airflow 3.3 == Airflow 2.11's ``dags test`` (less Airflow 3's own differences)."""
    truth = truths[key]
    result = _compat_run(ax.dag_file(key), key.split("::")[1], ax.LOGICAL_DATE)
    expected = ax.airflow3_comparable(ax.truth_tasks(truth))
    assert _comparable(ax.airflow3_comparable(ax.observed(result)), key) == _comparable(expected, key)
    assert result.state == truth["dag_run_state"]


def test_not_in_airflow3_fail_or_differ_for_the_reason_given() -> None:
    """Each DAG listed as not runnable under Airflow 3 is refused or fails at load, as the table says."""
    from airflow_interop.compat import CompatError, CompatLoadError

    for key, reason in ax.NOT_IN_AIRFLOW3.items():
        if not reason.startswith("load:"):
            continue
        with pytest.raises((CompatError, CompatLoadError)) as info:
            _compat_run(ax.dag_file(key), key.split("::")[1], ax.LOGICAL_DATE)
        assert reason.split("load:", 1)[1].split(";")[0].strip() in str(info.value), key


def test_every_airflow2_example_is_classified() -> None:
    """Each DAG of 2.11's example folder is compared (OFFLINE) or listed with the reason it is not."""
    from airflow_interop.sidecar import Sidecar

    folder = ax.airflow2_example_folder()
    with Sidecar(ax.AIRFLOW2_PYTHON) as sidecar:
        listing = sidecar.list_dags(folder, with_files=True)
    found = {f"{Path(file).stem}::{dag_id}" for dag_id, file in listing["files"].items() if Path(file).resolve().parent == folder.resolve()}
    classified = set(ax.offline_ids()) | set(ax.NOT_OFFLINE)
    assert found == classified
    assert set(ax.NOT_IN_AIRFLOW3) <= set(ax.offline_ids())
    assert set(ax.DEFAULT_SUBSET) <= set(ax.offline_ids())
    stems = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
    with_dags = {k.split("::")[0] for k in found}
    assert stems - with_dags == set(ax.NO_DAG_HERE)


# --------------------------------------------------------------------------- legacy samples
@pytest.mark.parametrize("sample", LEGACY_SAMPLES, ids=lambda s: f"{s[1]}@{s[2]}" if isinstance(s, tuple) else str(s))
def test_legacy_sample_same_through_sidecar_and_compat(sample: tuple[str, str, str], sidecar_results: dict, truths: dict) -> None:
    """A 1.10/2.x sample: sidecar == Airflow 2.11 truth, compat under 3.3 == the same (less Airflow 3's differences)."""
    file, dag_id, day = sample
    truth, via_sidecar = truths[sample], sidecar_results[sample]
    assert ax.observed(via_sidecar) == ax.truth_tasks(truth)
    via_compat = _compat_run(SAMPLE_DAGS / file, dag_id, day)
    assert ax.airflow3_comparable(ax.observed(via_compat)) == ax.airflow3_comparable(ax.observed(via_sidecar))
    assert via_compat.state == via_sidecar.state == truth["dag_run_state"] == "success"
