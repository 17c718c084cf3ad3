"""``interop import-variables``: Airflow Variables into Prefect Variables.

Sources: a live Airflow's REST API (v2 on Airflow 3, v1 on Airflow 2.x, through
:class:`airflow_interop.live.AirflowClient` and its credentials from the environment), or the JSON file
``airflow variables export FILE`` writes. Values are stored as Airflow stores them: strings (a
JSON value of the export file is written back as its JSON text, so ``Variable.get(key,
deserialize_json=True)`` reads what it read in Airflow). Prefect Variable names allow lowercase
letters, digits, ``-`` and ``_`` only: a key is lowercased and other characters become ``_``
(:func:`prefect_name`). No value is ever printed or put in an error message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Airflow's default sensitive field names (``core.sensitive_var_conn_names`` adds more): a key
#: containing one of them is masked by Airflow's UI and API
SENSITIVE_WORDS = (
    "access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password",
    "private_key", "secret", "token", "keyfile_dict", "service_account",
)
#: what Airflow's API shows in place of a sensitive value
MASKED = "***"
MAX_VALUE_LENGTH = 5000  # Prefect's limit on a Variable's JSON text
SENSITIVE_MODES = ("variable", "secret-block", "skip")


def prefect_name(key: str) -> str:
    """The Prefect Variable name of an Airflow Variable key (``Team.API-Url`` -> ``team_api-url``);
    one rule with the flows' lookup (``airflow_interop.runtime.variable_name``)."""
    from airflow_interop.runtime import variable_name

    return variable_name(key)


def is_sensitive(key: str) -> bool:
    low = key.lower()
    return any(word in low for word in SENSITIVE_WORDS)


@dataclass
class Outcome:
    """What happened to each Airflow key (names only, never values)."""

    imported: list[tuple[str, str]] = field(default_factory=list)  # (airflow key, prefect name)
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (airflow key, secret block name)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (airflow key, why)


def from_export(path: Path) -> dict[str, str]:
    """Variables of an ``airflow variables export`` file: key -> value as Airflow stores it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an `airflow variables export` file (a JSON object of key: value)")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def from_api(url: str, api_version: str | None = None) -> dict[str, str]:
    """Every Variable of a live Airflow (credentials: ``AIRFLOW_API_TOKEN`` or
    ``AIRFLOW_API_USERNAME``/``AIRFLOW_API_PASSWORD``, or in the URL)."""
    from airflow_interop.live import AirflowClient

    out: dict[str, str] = {}
    with AirflowClient(url, api_version=api_version) as client:
        offset = 0
        while True:
            page = client._request("GET", "/variables", params={"limit": 100, "offset": offset})
            items = page.get("variables", [])
            for item in items:
                value = item.get("value")
                out[item["key"]] = value if isinstance(value, str) or value is None else json.dumps(value)
            offset += len(items)
            if not items or offset >= int(page.get("total_entries", 0)):
                break
    return out


def import_variables(values: dict[str, str | None], *, overwrite: bool = True, sensitive: str = "variable",
                     dry_run: bool = False) -> Outcome:
    """Write ``values`` to Prefect (the server of the current profile).

    Args:
        values: Airflow key -> value.
        overwrite: replace a Prefect Variable that exists (else it is skipped).
        sensitive: what to do with a key Airflow treats as sensitive: ``variable`` (a Prefect
            Variable, what converted flows read), ``secret-block`` (a Prefect Secret block of the
            same name with ``-`` for ``_``) or ``skip``.
        dry_run: decide, write nothing.
    """
    if sensitive not in SENSITIVE_MODES:
        raise ValueError(f"sensitive must be one of {', '.join(SENSITIVE_MODES)}, not {sensitive!r}")
    outcome = Outcome()
    names: dict[str, str] = {}
    for key in sorted(values):
        value = values[key]
        name = prefect_name(key)
        if name in names:
            outcome.skipped.append((key, f"same Prefect name {name!r} as {names[name]!r}"))
            continue
        names[name] = key
        if value is None:
            outcome.skipped.append((key, "no value"))
            continue
        if value == MASKED:
            outcome.skipped.append((key, "masked by Airflow's API (sensitive): import it from `airflow variables export`"))
            continue
        if is_sensitive(key) and sensitive == "skip":
            outcome.skipped.append((key, "sensitive (--sensitive skip)"))
            continue
        if is_sensitive(key) and sensitive == "secret-block":
            block = name.replace("_", "-")
            if not dry_run:
                _save_secret(block, value, overwrite)
            outcome.secrets.append((key, block))
            continue
        if len(json.dumps(value)) > MAX_VALUE_LENGTH:
            outcome.skipped.append((key, f"longer than Prefect's {MAX_VALUE_LENGTH} characters"))
            continue
        if not dry_run and not _set_variable(name, value, overwrite):
            outcome.skipped.append((key, f"Prefect Variable {name!r} exists (--no-overwrite)"))
            continue
        outcome.imported.append((key, name))
    return outcome


def _set_variable(name: str, value: Any, overwrite: bool) -> bool:
    from prefect.variables import Variable

    if not overwrite and Variable.get(name, default=None) is not None:
        return False
    Variable.set(name, value, overwrite=True)
    return True


def _save_secret(name: str, value: str, overwrite: bool) -> None:
    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=overwrite)
