"""The finding codes of ``interop convert``: one table, as data.

``docs/convert.md`` (the findings table) is generated from it by :mod:`converters.contract`;
a test fails when the page and this table disagree.
"""

from __future__ import annotations

#: code -> (meaning, needs a hand)
CODES: dict[str, tuple[str, str]] = {
    'IX001': (
        'syntax error (line and column)',
        'file not converted (exit 2)',
    ),
    'IX002': (
        'no Airflow DAG in the file',
        'no',
    ),
    'IX003': (
        "DAG built by a factory function or in a loop (`DAG(...)`, or a `@dag` function defined there); a DAG built where the converter cannot place it (under a module-level `try`/`if`, inside another `with`); a `dag_id` computed at run time, or derived from the file's own path (`Path(__file__).stem`, `os.path.basename(__file__)`: Airflow names the DAG from where it loads the file, so a copy or a move changes it; write it as a literal)",
        'yes (file refused)',
    ),
    'IX004 / IX005': (
        'empty, binary, non-UTF-8 or unreadable file',
        'exit 2 (empty: no)',
    ),
    'IX006': (
        'an operator `task_id` used twice in one DAG (Airflow refuses the file with `DuplicateTaskIdFound`); the message names both lines. Repeated TaskFlow calls are not duplicates: Airflow names them `id__1`, `id__2`',
        'yes (file refused)',
    ),
    'IX101': (
        'code in the DAG body the converter does not understand (kept in the flow with a marker; a statement kept from an unrolled loop is preceded by that iteration\'s loop variable), or a module statement that still reads the DAG object (`make_task("x", dag)`), or operator arguments spread from a dict not known statically (`**make_args()`; a literal dict is read as written-out keywords)',
        'yes',
    ),
    'IX102': (
        'operator that cannot run outside Airflow (`SubDagOperator`)',
        'yes',
    ),
    'IX103': (
        'a branch operator that is not a Python callable (`BranchDateTimeOperator` ...); Python branches are converted',
        'yes',
    ),
    'IX104': (
        'a failure trigger rule (`one_failed`, `all_failed`, `one_done`, `all_skipped`, `none_skipped`)',
        'yes',
    ),
    'IX105': (
        'mapping that cannot become `.map()` (`expand_kwargs`, mapped Bash/provider operators, task groups, run-time `op_args`)',
        'yes',
    ),
    'IX106': (
        '`task_id` computed at run time',
        'yes',
    ),
    'IX107': (
        'dependency on something that is not a task known statically (an unknown name on one side of `>>` or `set_upstream` included; the edge is never dropped silently)',
        'yes',
    ),
    'IX108': (
        'the data flow has a cycle',
        'yes',
    ),
    'IX109': (
        "a DAG Airflow builds with tasks or edges the converter cannot list statically (a loop over a run-time value that makes tasks, a call to a helper it cannot follow — imported from the team's modules or a task-group builder library —, wiring to an unknown value, a computed `task_id`); each place is its own IX101/IX105/IX106/IX107 finding",
        'yes (file refused: the ledger never lists a DAG short)',
    ),
    'IX110': (
        "an Airflow import still read by the flow's own code (not by an operator run through the shim): `Asset`, `task_group`, a helper using `get_current_context` ... (marker above the import)",
        'yes',
    ),
    'IX111': (
        'a name the converted code reads that nothing defines any more (an object the flow replaced, a value the conversion could not carry over); marker above each statement that reads it',
        'yes',
    ),
    'IX112': (
        'an Airflow Variable read without a default, written with `prefect.variables.Variable.get`: a missing Prefect Variable reads as `None` where Airflow raised `KeyError` (one finding a file, the keys listed; import the Variables with `interop import-variables`)',
        'no',
    ),
    'IX113': (
        'Airflow `Variable` uses with no static Prefect equivalent (`setdefault`, `update`, `Variable` passed on, `deserialize_json` or a JSON default not literal, an `async def` in the file, a use the flow copies into generated code: operator or DAG arguments, `default_args`): the whole file reads Variables through the runtime stand-in `airflow_interop.runtime.Variable` (one finding a file, the uses listed)',
        'no',
    ),
    'IX114': (
        'an operator the kept code builds at run time (`TriggerDagRunOperator(..., dag=dag).execute(context)` inside a callable) with `dag=` the DAG variable: the argument is left out, as the DAG object no longer exists; the operator runs without it (the DAG\'s `default_args` do not apply to it)',
        'no',
    ),
    'IX115': (
        "a converted task whose own code (its function, or the file's functions, classes and values it reads) calls Airflow: a hook (`PostgresHook`, `BaseHook.get_connection`), an operator's `execute`, an Airflow class; ledger `shimmed`: the flow runs it with Airflow and that provider installed and its connections as `AIRFLOW_CONN_<ID>`; the DAG's `shimmed_modules` name the modules (`interop deploy` installs their providers); the IX110 marker above the import asks whether to replace it with a Prefect integration",
        'no (the IX110 marker asks)',
    ),
    'IX201': (
        'XCom pull resolved at run time (`airflow_interop.runtime.xcom_lookup`), or pull of a key nobody pushes',
        'only when the task is not in the DAG',
    ),
    'IX202': (
        'context key with no flow equivalent (`task`, `dag`, `prev_*` ...; `context["dag"].dag_id` alone is converted)',
        'yes',
    ),
    'IX203': (
        'the task instance used for more than XCom (`ti.try_number`, `ti.log` ...)',
        'yes',
    ),
    'IX204': (
        'the run context passed on as a whole',
        'yes',
    ),
    'IX206': (
        'callable or callback defined elsewhere (imported, lambda), or a callback handing its context on: its context use is not checked (a callback gets the run\'s whole context from the file\'s adapter, without `macros` and `var`)',
        'no; yes with `provide_context=True` (the callable reads the run context, the flow calls it with none)',
    ),
    'IX207': (
        'the flow waits for an upstream result at that point (a key of a multiple-outputs result, a template that pulls an XCom)',
        'no',
    ),
    'IX208': (
        '`@task.virtualenv` / `docker` / ... converted to a plain task',
        'yes',
    ),
    'IX209': (
        'a converted task changes a value it received from an upstream task in place (`data["k"] = v`, `rows.append(...)`): Airflow hands each task a copy through XCom, the flow hands it the upstream\'s own object, so the upstream\'s result changes too',
        'no (copy the value first where that matters)',
    ),
    'IX210': (
        'a `pendulum`-only method on a run date (`data_interval_end.in_timezone(...)`, `logical_date.add(days=1)`, `.format(...)`) in a converted callable or template: the flow\'s dates are `datetime`s',
        'yes (rewrite with `astimezone`, `timedelta`, `strftime`)',
    ),
    'IX211': (
        'a task function that yields (`yield Metadata(asset, extra)`): Airflow turns the yields into asset events and keeps no return value; the flow\'s task would return the generator',
        'yes',
    ),
    'IX212': (
        'a task a mapped task expands over returns `map(...)`, `filter(...)`, a generator, a set or a dict view: Airflow maps only over a list, tuple or dict and fails the task (`UnmappableXComTypePushed`), the flow\'s `.map()` iterates over it',
        'no (return a list where Airflow\'s failure mattered)',
    ),
    'IX213': (
        'a template rendered at run time (`render_template`, the operator shim) reads the DAG\'s `user_defined_macros` or `user_defined_filters`, which the run-time rendering does not have (`UndefinedError`)',
        'yes',
    ),
    'IX214': (
        '`trigger_rule="one_success"` on a task below two or more tasks: Airflow runs it once one succeeded, a failed one included; the flow\'s task waits on all of them and a failed one stops it',
        'no (the runs agree while no upstream task fails; where one may: wait with `allow_failure` and check the states)',
    ),
    'IX215': (
        "an `xcom_pull` from a task that runs after the pulling one (downstream of it in the DAG): Airflow finds no XCom of the run there and answers None (Airflow 3.3: its `default` only counts with `map_indexes`; Airflow 2: the pull's `default`, a list of task ids without that task); the flow reads that value in its place, and the task is no data edge (a pull that made the data flow a cycle, IX108, before)",
        'no',
    ),
    'IX301': (
        'template rendered at run time (Jinja beyond plain expressions): by the output\'s `render_jinja` (jinja2) where it reads only plain run values, or where a command is built from values known only at run time and has no Jinja of its own (`f"rm -rf {OUTPUT_DIR}"`: rendered with no values, a Jinja expression inside those values fails with `UndefinedError`), else by `airflow_interop.runtime.render_template` with the run context',
        'no (yes when it pulls from an unknown task)',
    ),
    'IX302': (
        '`bash_command` names a script template file (it ends in `.sh`/`.bash`, exactly as Airflow reads it: `"run.sh "` with a trailing space is a command)',
        'yes',
    ),
    'IX401': (
        'a setting with no Prefect equivalent, not carried over (owner, email, depends_on_past, queue, pool_slots, end_date, sla_miss_callback ...; the list and counts: docs/deploy.md)',
        'no',
    ),
    'IX402': (
        'retry detail approximated (exponential backoff listed as fixed delays; a list of `on_retry_callback`s or one reading `macros` / `var`, `on_execute_callback` and `sla_miss_callback` dropped)',
        'no',
    ),
    'IX403': (
        'schedule not deployable as a Prefect schedule (assets/datasets, custom timetables, `@once`, a value computed at run time): the deployment is unscheduled, see docs/deploy.md',
        'no',
    ),
    'IX501': (
        'operator run through the operator shim',
        'no',
    ),
    'IX999': (
        "internal error (with the traceback's last frames)",
        'exit 2',
    ),
}
