"""``crm <plugin> <command> --help`` shows the help whether or not the plugin is enabled, and opens
no database for it: no ``crm.db`` appears in the current directory (issue 34)."""

import os

from click.testing import CliRunner

from crmcore.cli.main import cli


def test_help_of_a_plugin_command_needs_no_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    runner = CliRunner()
    for args in (
        ["loyalty", "earn", "--help"],
        ["loyalty", "vouchers", "use", "-h"],
        ["loyalty", "--help"],
    ):
        result = runner.invoke(cli, args, prog_name="crm")
        assert result.exit_code == 0, (args, result.output)
        assert "Usage: crm loyalty" in result.output
    assert os.listdir(tmp_path) == []
    refused = runner.invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "loyalty", "balance", "1"]
    )
    assert refused.exit_code == 1  # without --help the command still checks the database
