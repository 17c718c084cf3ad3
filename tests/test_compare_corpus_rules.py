"""Differences ``benchmarks/compare_corpus.py`` found on the shared corpus, each fixed by a rule:
the construct (written here, modelled on the corpus's, not copied from it) runs on real Airflow
(the in-process runner) and its converted flow on a real Prefect server, through
``interop compare``, and the two runs are held against each other.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.prefect]

LOGICAL_DATE = "2024-01-15"


def test_custom_branch_operator_subclass_is_followed(prefect_server, tmp_path) -> None:
    """A class of the DAG file that subclasses ``BaseBranchOperator`` and overrides
    ``choose_branch``: Airflow skips the tasks it does not choose. The flow ran it through the
    operator shim without the task ids below it (Airflow's branch check failed: "Invalid tasks
    found") and ran every task below; now it is a branch task, its choice followed."""
    from interop.compare import compare_file

    dag = tmp_path / "custom_branch.py"
    dag.write_text(
        "import pendulum\n"
        "from airflow.providers.standard.operators.branch import BaseBranchOperator\n"
        "from airflow.sdk import DAG, task\n\n"
        "class EvenDayBranch(BaseBranchOperator):\n"
        "    def choose_branch(self, context):\n"
        "        if context['logical_date'].day % 2:\n"
        "            return ['odd', 'always']\n"
        "        return 'even'\n\n"
        "class Picker(EvenDayBranch):\n"
        "    pass\n\n"
        "@task\n"
        "def report(which):\n"
        "    return which\n\n"
        "with DAG('custom_branch', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    pick = Picker(task_id='pick')\n"
        "    pick >> [report.override(task_id='odd')('odd'), report.override(task_id='even')('even'),\n"
        "             report.override(task_id='always')('always')]\n"
    )
    (c,) = compare_file(dag, logical_date=LOGICAL_DATE)
    assert c.error is None and c.equivalent, c.differences()
    # the 15th is odd: Airflow runs odd and always, skips even; the flow does the same
    states = {t: (c.airflow.tasks[t].state, c.prefect.tasks[t].state) for t in ("odd", "even", "always")}
    assert states == {"odd": ("success", "success"), "even": ("skipped", "skipped"), "always": ("success", "success")}
