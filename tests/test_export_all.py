"""`crm export all` and `crm import all`: the demo database (every plugin's tables) written to JSON
lines and loaded into an empty SQLite or PostgreSQL database is the same database, row by row."""

import json

import pytest
from sqlalchemy import func, select, text

from crmcore.app import CRM
from crmcore.demo import build_demo
from crmcore.errors import ValidationError
from crmcore.services.customers import merge_customers
from crmcore.storage.models import Customer
from crmcore.storage.portable import ExportError, all_metadata, export_all, import_all
from crmcore.testing import make_customer


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo(path, customers=12)
    app = CRM(f"sqlite:///{path}")
    with app.unit_of_work() as uow:  # an older customer merged into a newer one: a row refers ahead
        merge_customers(uow, 12, 1)
    app.dispose()
    return f"sqlite:///{path}"


def table_rows(app) -> dict[str, list[tuple]]:
    metadata = all_metadata()
    found = {}
    with app.engine.connect() as conn:
        present = set(conn.dialect.get_table_names(conn))
        for table in metadata.sorted_tables:
            if table.name in present:
                order = list(table.primary_key.columns) or list(table.columns)
                found[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return found


def lines(directory, table):
    return [
        json.loads(line)
        for line in (directory / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def test_export_and_import_all_give_the_same_database_row_by_row(
    demo_url, crm_empty_database_url, tmp_path
):
    source = CRM(demo_url)
    exported = export_all(source, tmp_path / "first")
    assert exported.tables["customers"] >= 12 and exported.tables["loyalty_ledger"] > 0
    target = CRM(crm_empty_database_url)
    try:
        loaded = import_all(target, tmp_path / "first")
        assert loaded.tables == exported.tables
        assert loaded.ok and "loyalty" in loaded.checks
        before, after = table_rows(source), table_rows(target)
        assert sorted(after) == sorted(before)
        different = [name for name in before if before[name] != after[name]]
        assert different == []
        assert sum(len(rows) for rows in after.values()) == sum(exported.tables.values())

        again = export_all(
            target, tmp_path / "second"
        )  # and the files it writes are the same files
        assert again.tables == exported.tables
        for (
            name
        ) in exported.tables:  # (PostgreSQL's jsonb orders the keys of JSON values its own way)
            assert lines(tmp_path / "second", name) == lines(tmp_path / "first", name), name
        new = make_customer(
            target, "مشتری تازه"
        )  # ids go on after the loaded ones (sequences moved)
        assert new == exported.tables["customers"] + 1
        with target.sessionmaker() as s:
            assert s.get(Customer, 1).merged_into_id == 12
    finally:
        source.dispose()
        target.dispose()


def test_import_all_refuses_a_database_that_is_not_empty(demo_url, crm_app, tmp_path):
    source = CRM(demo_url)
    export_all(source, tmp_path / "x")
    source.dispose()
    make_customer(crm_app)
    with pytest.raises(ValidationError, match="the database is not empty"):
        import_all(crm_app, tmp_path / "x")


def test_export_all_refuses_a_table_no_plugin_declares(crm_app, tmp_path):
    with crm_app.engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray_notes (id integer primary key, body text)"))
    with pytest.raises(
        ExportError, match="table stray_notes is in the database but no installed plugin"
    ):
        export_all(crm_app, tmp_path / "x")


def test_import_all_refuses_an_export_of_other_revisions(
    demo_url, crm_empty_database_url, tmp_path
):
    source = CRM(demo_url)
    export_all(source, tmp_path / "x")
    source.dispose()
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    manifest["revisions"][0] = "k0001_older"
    (tmp_path / "x" / "manifest.json").write_text(json.dumps(manifest))
    target = CRM(crm_empty_database_url)
    try:
        with pytest.raises(
            ExportError, match="import with the crmcore and plugin versions that exported it"
        ):
            import_all(target, tmp_path / "x")
    finally:
        target.dispose()


def test_the_commands(demo_url, tmp_path):
    from click.testing import CliRunner

    from crmcore.cli.main import cli

    out = CliRunner().invoke(cli, ["--db", demo_url, "export", "all", str(tmp_path / "e")])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("exported ") and " rows of " in out.stdout
    again = CliRunner().invoke(cli, ["--db", demo_url, "export", "all", str(tmp_path / "e")])
    assert again.exit_code == 1 and "already holds an export" in again.stderr
    into = f"sqlite:///{tmp_path / 'new.db'}"
    loaded = CliRunner().invoke(cli, ["--db", into, "import", "all", str(tmp_path / "e"), "--json"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["ok"] is True
    twice = CliRunner().invoke(cli, ["--db", into, "import", "all", str(tmp_path / "e")])
    assert twice.exit_code == 1 and "the database is not empty" in twice.stderr


def test_an_export_that_does_not_match_its_manifest_imports_nothing(
    demo_url, crm_empty_database_url, tmp_path
):
    source = CRM(demo_url)
    export_all(source, tmp_path / "x")
    source.dispose()
    lines_of = (tmp_path / "x" / "voip_calls.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "x" / "voip_calls.jsonl").write_text(
        "\n".join(lines_of[:-1]) + "\n", encoding="utf-8"
    )
    target = CRM(crm_empty_database_url)
    try:
        with pytest.raises(ExportError, match="voip_calls.jsonl holds .* rows, the manifest lists"):
            import_all(target, tmp_path / "x")
        with target.sessionmaker() as s:  # customers were loaded before voip_calls: rolled back
            assert s.scalar(select(func.count()).select_from(Customer)) == 0
    finally:
        target.dispose()
