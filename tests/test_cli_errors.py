"""The README's promise "exit 1, one line on stderr" for every error a user can cause: every command
of the ``crm`` tree (kernel and plugins) is run against a locked database, a database without
schema, a database newer than this code, a broken plugin install and an unreachable broker."""

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from crmcore.cli.main import cli
from crmcore.plugin_host import _discover, installed_manifests

#: commands that serve or listen until stopped, prompt for a password, or write into the source tree
NOT_RUN = {
    "web": "serves until stopped",
    "worker": "works until stopped",
    "voip listen": "listens until stopped",
    "voip serve": "serves until stopped",
    "messages serve-webhooks": "serves until stopped",
    "users passwd": "prompts for a password",
    "dev revision": "writes a migration into the source tree",
    "plugins new": "writes a plugin project",
    "demo": "builds a database of its own",
}
#: options that make a command end (or reach the broker)
EXTRA = {
    "outbox relay": ["--once"],
    "outbox status": ["--with-broker"],
    "interactions import": ["--create-customers"],
}
#: commands that need no database (or only read installed plugins' data): they may succeed on any
#: database. ``customers find`` reads through the DB-API driver directly, for a fast start
#: (services/quickfind.py).
NO_DATABASE = {
    "dev hooks-doc",
    "plugins info",
    "plugins list",
    "jobs list",
    "reports list",
    "customers find",
    "restore",  # checks the named backup first; restoring into an empty database is its purpose
}
BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
#: commands that report item by item and exit 1 when an item failed (each job of `crm jobs run`,
#: each rejected row of an import: on stdout; each refused message of `crm tickets email
#: import`: a ``rejected`` line on stderr per message)
REPORTS = {"jobs run", "customers import", "interactions import", "tickets email import"}


def leaf_commands():
    ctx = click.Context(cli, info_name="crm")

    def walk(cmd, path, ctx):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                yield from walk(sub, [*path, name], click.Context(sub, parent=ctx, info_name=name))
        else:
            yield path, cmd

    return list(walk(cli, [], ctx))


def arguments(cmd: click.Command, sample: Path) -> list[str]:
    """Values for the command's required parameters: an id, a choice, an existing file…"""
    args: list[str] = []
    for p in cmd.params:
        if not p.required:
            continue
        if isinstance(p, click.Option) and p.is_flag:
            args.append(p.opts[0])
            continue
        if isinstance(p.type, click.Choice):
            value = str(p.type.choices[0])
        elif isinstance(p.type, (click.Path, click.File)):
            value = str(sample)
        elif isinstance(p.type, click.types.BoolParamType):
            value = "true"
        else:
            value = "1"
        if isinstance(p, click.Argument):
            args.extend([value] * (p.nargs if p.nargs > 0 else 1))
        else:
            args.extend([p.opts[0], value])
    return args


def run_all(
    url: str, tmp_path: Path, env: dict[str, str] | None = None
) -> dict[str, tuple[int, list[str]]]:
    """Every command's (exit code, stderr lines); a traceback fails the test at once."""
    sample = tmp_path / "customers.csv"
    sample.write_text("name,mobile\nAli,09121234567\n", encoding="utf-8")
    history = tmp_path / "history.csv"
    history.write_text(
        "customer,kind,date,amount\n09121234567,purchase,2024-01-01,1000\n", encoding="utf-8"
    )
    outcomes = {}
    runner = CliRunner()
    for path, cmd in sorted(
        leaf_commands(), key=lambda pc: pc[0] == ["init"]
    ):  # init last: it changes all
        name = " ".join(path)
        if name in NOT_RUN:
            continue
        file = history if name == "interactions import" else sample
        argv = ["--db", url, *path, *arguments(cmd, file), *EXTRA.get(name, [])]
        result = runner.invoke(
            cli,
            argv,
            env={"CRM_LOCK_WAIT": "0.05", "CRM_BROKER_URL": BROKER, **(env or {})},
            input="y\ny\ny\n",
            catch_exceptions=True,
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            tb = "".join(traceback.format_exception(result.exception))
            pytest.fail(f"crm {' '.join(argv[2:])} raised:\n{tb}")
        outcomes[name] = (result.exit_code, result.stderr.splitlines())
    return outcomes


def check_one_line(outcomes, *, warning: str | None = None) -> None:
    """Exit 0; or 1 with exactly one line on stderr; or 2 (a usage error) with click's usage
    text."""
    problems = []
    for name, (code, lines) in outcomes.items():
        if warning is not None:
            if lines[:1] != [warning]:
                problems.append(f"crm {name}: no warning first: {lines}")
            lines = lines[1:]
        if code == 1:
            ok = (len(lines) == 1 and lines[0].startswith("Error: ")) or (
                name in REPORTS and all(line.startswith("rejected\t") for line in lines)
            )
        elif code == 2:
            ok = lines[0].startswith("Usage: ") and lines[-1].startswith("Error: ")
        else:
            ok = code == 0 and not any("Traceback" in line for line in lines)
        if not ok:
            problems.append(f"crm {name}: exit {code}: {lines}")
    assert not problems, "\n".join(problems)


def test_the_matrix_reaches_every_plugins_commands():
    """The error matrix walks the ``crm`` tree: every installed plugin's group is in it, with
    commands (a group that failed to load would silently leave its commands untested)."""
    groups = {path[0] for path, _ in leaf_commands() if len(path) > 1}
    wanted = {m.cli_name or m.name for m in installed_manifests().values() if m.cli}
    assert wanted and wanted <= groups, wanted - groups
    assert {"tickets", "tasks", "pipeline", "messages", "surveys", "transfers"} <= wanted


@pytest.fixture
def crm_plugins():
    return list(installed_manifests())


@pytest.fixture
def database(crm_app):
    """The test's database with every installed plugin enabled."""
    return crm_app.url


@pytest.mark.slow  # about 200 commands, each in-process: some 10 s per database state
def test_every_command_on_a_locked_database(crm_backend, database, tmp_path):
    """A writer holds SQLite's lock: commands that read go on, those that write say so in one
    line."""
    if crm_backend != "sqlite":
        pytest.skip("SQLite's single writer")
    holder = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        outcomes = run_all(database, tmp_path)
    finally:
        holder.rollback()
        holder.close()
    check_one_line(outcomes)
    busy = {
        n
        for n, (code, lines) in outcomes.items()
        if code == 1 and lines and "the database is busy" in lines[0]
    }
    assert {"customers add", "interactions record", "init", "loyalty earn"} <= busy


@pytest.mark.slow
def test_every_command_on_a_database_without_schema(crm_empty_database_url, tmp_path):
    outcomes = run_all(crm_empty_database_url, tmp_path)
    check_one_line(outcomes)
    for name, (code, lines) in outcomes.items():
        if name == "init":
            assert code == 0
        elif name not in NO_DATABASE and code != 2:  # a usage error is said before any database
            assert code == 1 and lines == [
                "Error: this database is not initialised (no schema); run: crm init"
            ], (name, lines)


@pytest.fixture
def newer_database(database):
    """The database as a later crmcore would leave it (the PostgreSQL schema outlives the test: put
    back)."""
    from crmcore.storage.schema import kernel_revisions

    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alembic_version SET version_num = 'k0999_future' WHERE version_num = :v"),
            {"v": kernel_revisions()[-1]},
        )
    yield database
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alembic_version SET version_num = :v WHERE version_num = 'k0999_future'"),
            {"v": kernel_revisions()[-1]},
        )
    engine.dispose()


@pytest.mark.slow
def test_every_command_on_a_newer_database(newer_database, tmp_path):
    database = newer_database
    outcomes = run_all(database, tmp_path)
    check_one_line(outcomes)
    newer = [
        n
        for n, (code, lines) in outcomes.items()
        if code == 1
        and lines
        and lines[0].startswith(
            "Error: this database is newer than this crmcore "
            "(database k0999_future, this crmcore k0"
        )
    ]
    usage = {n for n, (code, _) in outcomes.items() if code == 2}  # said before any database
    others = set(outcomes) - set(newer) - usage
    assert others <= NO_DATABASE - {"plugins list", "plugins info"}, {
        n: outcomes[n] for n in others - NO_DATABASE
    }


@pytest.fixture
def broken_plugin(tmp_path, monkeypatch):
    """A distribution whose entry point names a package that is gone (a half-removed editable
    install)."""
    site = tmp_path / "site"
    info = site / "crmcore_ghost-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmcore-ghost\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[crmcore.plugins]\nghost = crmcore_ghost.plugin:manifest\n"
    )
    monkeypatch.syspath_prepend(str(site))
    _discover.cache_clear()
    yield "ghost"
    monkeypatch.undo()
    _discover.cache_clear()


@pytest.mark.slow
def test_every_command_with_a_broken_plugin_install(crm_backend, database, broken_plugin, tmp_path):
    if crm_backend != "sqlite":
        pytest.skip("plugin discovery is the same on every database")
    assert "ghost" not in installed_manifests()
    warning = (
        "warning: plugin 'ghost' is installed (distribution crmcore-ghost) but cannot be imported "
        "(ModuleNotFoundError: No module named 'crmcore_ghost'); remove it with: "
        "pip uninstall crmcore-ghost"
    )
    outcomes = run_all(database, tmp_path)
    check_one_line(outcomes, warning=warning)
    assert (
        outcomes["init"][0] == 0 and outcomes["customers add"][0] == 0
    )  # what does not need it works
    result = CliRunner().invoke(cli, ["--db", database, "ghost", "list"])
    assert result.exit_code == 1 and result.stderr.splitlines() == [
        warning,
        "Error: " + warning[9:],
    ]


def test_an_unreachable_broker_is_one_line(database, tmp_path):
    result = CliRunner().invoke(
        cli, ["--db", database, "outbox", "status", "--with-broker"], env={"CRM_BROKER_URL": BROKER}
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: cannot reach the message broker "
        "(Error 111 connecting to 127.0.0.1:9. Connection refused.); "
        "check that it is running and --broker or $CRM_BROKER_URL"
    ]


def test_an_older_database_says_run_init(database, tmp_path):
    """crmcore upgraded, `crm init` not run yet: the import's table (and the revisions after it) are
    missing; the user is told what to do (and `crm init` does it)."""
    from alembic import command

    from crmcore.storage.migrate import alembic_config
    from crmcore.storage.schema import kernel_revisions

    revisions = kernel_revisions()
    old = revisions[revisions.index("k0009_import_runs") - 1]
    engine = create_engine(database)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), old)
    engine.dispose()
    sample = tmp_path / "c.csv"
    sample.write_text("name,mobile\nAli,09121234567\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", database, "customers", "import", str(sample)])
    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            f"Error: this database is older than this crmcore (database {old}, this "
            f"crmcore {revisions[-1]}); run: crm init"
        ],
    )
    assert CliRunner().invoke(cli, ["--db", database, "init"]).exit_code == 0
    assert (
        CliRunner().invoke(cli, ["--db", database, "customers", "import", str(sample)]).exit_code
        == 0
    )
