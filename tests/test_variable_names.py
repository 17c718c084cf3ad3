"""An Airflow Variable key and the Prefect Variable ``interop import-variables`` makes of it are
one name to a converted flow: Prefect names are lowercase, so ``MY_KEY`` is stored as ``my_key``,
and ``Variable.get("MY_KEY")`` in converted code finds it (on a real Prefect API)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.prefect]


def test_a_key_imported_under_its_prefect_name_is_found_as_written(prefect_server, monkeypatch) -> None:
    from prefect.variables import Variable as PrefectVariable

    from interop.deploy.variables import prefect_name
    from shims.runtime import Variable

    monkeypatch.delenv("AIRFLOW_VAR_WAREHOUSE_URL", raising=False)
    assert prefect_name("Warehouse.URL") == "warehouse_url"
    PrefectVariable.set(prefect_name("Warehouse.URL"), '{"host": "db"}', overwrite=True)
    assert Variable.get("Warehouse.URL", deserialize_json=True) == {"host": "db"}
    assert Variable.get("warehouse_url") == '{"host": "db"}'
    Variable.set("Team_Key", "x")
    assert PrefectVariable.get("team_key") == "x"
    with pytest.raises(KeyError):
        Variable.get("NOT_THERE")
    assert Variable.get("NOT_THERE", default_var=3) == 3
