"""The plugin template: generate a plugin without questions, install it into a fresh virtual environment
beside the kernel, and check `crm plugins list`, `crm init` and the generated plugin's own tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_template_refuses_a_bad_name(tmp_path):
    from click.testing import CliRunner

    from crmcore.cli.main import cli

    result = CliRunner().invoke(
        cli, ["plugins", "new", "Bad Name!", "--no-input", "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "must be lower case" in result.stderr
    result = CliRunner().invoke(
        cli,
        [
            "plugins",
            "new",
            "ok_name",
            "--events",
            "teleported",
            "--no-input",
            "--output-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1 and "unknown kernel event" in result.stderr


@pytest.mark.slow
def test_generated_plugin_installs_initialises_and_passes_its_tests(tmp_path):
    from click.testing import CliRunner

    from crmcore.cli.main import cli

    result = CliRunner().invoke(
        cli, ["plugins", "new", "referral", "--no-input", "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    plugin = tmp_path / "referral"
    assert (plugin / "crmcore_referral" / "migrations" / "versions" / "referral_0001.py").is_file()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[postgresql]", "-e", f"{plugin}[test]"], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CRMCORE_PLUGINS_ONLY", "VIRTUAL_ENV")}
    crm = str(venv / "bin" / "crm")
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    listed = json.loads(
        subprocess.run(
            [crm, "--db", db, "plugins", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        or "[]"
    )
    init = subprocess.run(
        [crm, "--db", db, "init", "--json"], env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["migrated"] == ["kernel", "referral"]
    listed = json.loads(
        subprocess.run(
            [crm, "--db", db, "plugins", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert [p["name"] for p in listed] == ["referral"] and listed[0]["enabled"]
    import sqlite3

    tables = {
        r[0] for r in sqlite3.connect(tmp_path / "crm.db").execute("SELECT name FROM sqlite_master")
    }
    assert "referral_event_notes" in tables
    tests = subprocess.run(
        [str(py), "-m", "pytest", "-q", str(plugin / "tests")],
        env=env,
        cwd=plugin,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
