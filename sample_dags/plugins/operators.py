"""In-house operators used by the sample DAGs.

``CsvRowCountOperator`` is the kind of small operator a data team writes once and reuses: it
counts the rows of a CSV file that match the run's date and publishes the header as an XCom.
A converter cannot turn it into plain Prefect code, so it runs the real operator through a shim.
"""

from __future__ import annotations

import csv
from pathlib import Path

from airflow.sdk import BaseOperator

#: Where the operators look for relative file names.
DATA_DIR = Path(__file__).resolve().parent / "data"


class CsvRowCountOperator(BaseOperator):
    """Count the rows of a CSV file whose ``date_column`` equals ``date``.

    Args:
        filename: CSV file name, relative to :data:`DATA_DIR` unless absolute (templated).
        date: the date to match, usually ``"{{ ds }}"`` (templated).
        date_column: the column holding each row's date.

    Pushes the header under the XCom key ``columns`` and returns the number of matching rows.
    """

    template_fields = ("filename", "date")
    ui_color = "#e8f4d9"

    def __init__(self, *, filename: str, date: str, date_column: str = "date", **kwargs) -> None:
        super().__init__(**kwargs)
        self.filename = filename
        self.date = date
        self.date_column = date_column

    def execute(self, context):
        path = Path(self.filename)
        if not path.is_absolute():
            path = DATA_DIR / path
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            if self.date_column not in columns:
                raise ValueError(f"{path.name} has no column {self.date_column!r}; found {columns}")
            matching = sum(1 for row in reader if row[self.date_column] == self.date)
        context["ti"].xcom_push(key="columns", value=columns)
        self.log.info("%s: %d rows for %s", path.name, matching, self.date)
        return matching
