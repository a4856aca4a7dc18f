"""`crm demo` builds a fresh SQLite database with every installed plugin and prints a readable summary."""

from click.testing import CliRunner

from crmcore.cli.main import cli
from crmcore.plugin_host import installed_manifests


def test_demo_runs_with_every_installed_plugin(tmp_path):
    path = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--path", str(path), "--customers", "25", "--json"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    import json

    data = json.loads(result.stdout)
    assert set(data["plugins"]) == set(installed_manifests())
    assert data["lines"][0].startswith("kernel: 25 customers")
    assert data["summary"]["totals"]["customers"] >= 25
    assert data["sales"]["rows"], "a year of purchases grouped by Jalali month"
    assert data["search"]["results"], "Arabic-letter query finds the Persian-spelled customer"
    # running it again replaces the database instead of adding to it
    again = CliRunner().invoke(cli, ["demo", "--path", str(path), "--customers", "25", "--json"])
    assert (
        json.loads(again.stdout)["summary"]["totals"]["customers"]
        == data["summary"]["totals"]["customers"]
    )


def test_demo_prints_a_readable_summary(tmp_path):
    result = CliRunner().invoke(
        cli, ["demo", "--path", str(tmp_path / "d.db"), "--customers", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "crmcore demo" in result.stdout and "Sales by month" in result.stdout
