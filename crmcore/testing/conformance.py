"""The contract every plugin keeps, as tests a plugin's suite inherits::

    from crmcore.testing.conformance import PluginConformance

    class TestConformance(PluginConformance):
        plugin = "tiers"

Each test runs on SQLite and PostgreSQL like the plugin's other database tests: the plugin's models
declare their customer data completely (:mod:`crmcore.storage.customer_data`), its hook
implementations are known hooks (the plugin host refuses unknown ones at start-up), its migrations
create exactly its models and come down and up again, its demo seed runs, and every read command of
its CLI answers ``--json`` with JSON on the seeded data (or a one-line refusal).
"""

from __future__ import annotations

import importlib
import json
import random
from datetime import timedelta

import click
import pytest
from alembic import command
from sqlalchemy import inspect

from ..plugin_host import PluginHost, dependency_order, installed_manifests
from ..storage.customer_data import declared_models, undeclared
from .helpers import assert_migrations_match_models


def _with_requirements(name: str) -> list[str]:
    manifests = installed_manifests()
    wanted, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n not in wanted:
            wanted.add(n)
            todo.extend(manifests[n].requires)
    return dependency_order(sorted(wanted), manifests)


def _json_commands(group: click.Group, path: tuple[str, ...] = ()):
    """``(path, command)`` of every command under ``group`` that takes ``--json`` and needs no
    argument."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _json_commands(cmd, (*path, name))
            continue
        opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
        required = [p for p in cmd.params if p.required]
        if "--json" in opts and not required:
            yield (*path, name), cmd


class PluginConformance:
    """Inherit and set ``plugin``; the tests below then run for that plugin."""

    plugin: str = ""
    #: customers the demo seed gets (some plugins' demos need a few dozen to fill every table)
    demo_customers: int = 12

    @pytest.fixture(autouse=True)
    def _in_tmp_path(self, monkeypatch, tmp_path):
        # demo seeds write files beside a SQLite database, in the working directory otherwise
        monkeypatch.chdir(tmp_path)

    @pytest.fixture
    def crm_plugins(self):
        return _with_requirements(self.plugin)

    def _manifest(self):
        return installed_manifests()[self.plugin]

    def test_customer_data_is_declared(self):
        host = PluginHost(_with_requirements(self.plugin))
        host.pm  # imports the models
        package = self._manifest().package
        assert undeclared([package]) == []
        for model, decl in declared_models([package]):
            assert decl.merge in ("repoint", "delete_duplicate", "hook", "keep"), model

    def test_hooks_are_known(self, crm_app):
        pm = crm_app.plugins.pm  # start-up refuses an implementation of no declared hook
        assert pm.get_plugin(self.plugin) is not None
        pm.check_pending()

    def test_migrations_match_models_and_go_down_and_up(self, crm_app):
        manifest = self._manifest()
        if manifest.migrations_path is None:
            pytest.skip(f"{self.plugin} has no tables")
        assert_migrations_match_models(crm_app, self.plugin)
        from ..storage.migrate import alembic_config

        tables = {m.__table__.name for m, _d in declared_models([manifest.package])}
        with crm_app.engine.begin() as conn:
            command.downgrade(alembic_config(conn), f"{self.plugin}@base")
        with crm_app.engine.connect() as conn:
            assert not tables & set(inspect(conn).get_table_names())
        with crm_app.engine.begin() as conn:
            command.upgrade(alembic_config(conn), f"{self.plugin}@head")
        assert_migrations_match_models(crm_app, self.plugin)

    def seed_demo(self, app) -> list[str]:
        """Customers with a year of purchases, then every plugin's ``crm_demo_seed``."""
        from ..demo import SKUS
        from ..services.customers import add_customer
        from ..services.interactions import record_interaction

        rng = random.Random(1403)
        with app.unit_of_work(actor="demo") as uow:
            people = []
            for n in range(self.demo_customers):
                c = add_customer(
                    uow,
                    name=f"مشتری {n}",
                    phones=[f"0912{n:07d}"],
                    consent_sms=True,
                    consent_email=True,
                    emails=[f"demo{n}@example.ir"],
                )
                for _ in range(rng.randrange(1, 6)):
                    sku, title, price = rng.choice(SKUS)
                    record_interaction(
                        uow,
                        c,
                        kind="purchase",
                        amount=str(price),
                        currency="IRR",
                        payload={
                            "lines": [
                                {"sku": sku, "title": title, "quantity": 1, "amount": str(price)}
                            ]
                        },
                        occurred_at=uow.now() - timedelta(days=rng.randrange(1, 365)),
                    )
                people.append(c)
            lines = []
            for result in uow.call("crm_demo_seed", customers=people, rng=rng):
                lines.extend(result or ())
        return lines

    def test_demo_seed_runs(self, crm_app):
        lines = self.seed_demo(crm_app)
        assert all(isinstance(line, str) for line in lines)

    def test_every_read_command_answers_json(self, crm_app, crm_cli):
        manifest = self._manifest()
        if not manifest.cli:
            pytest.skip(f"{self.plugin} has no CLI")
        module, attr = manifest.cli.split(":")
        group = getattr(importlib.import_module(module), attr)
        self.seed_demo(crm_app)
        commands = list(_json_commands(group))
        if not commands:
            pytest.skip(f"{self.plugin}: every --json command needs an argument")
        wrong, answered = [], 0
        for path, _cmd in commands:
            result = crm_cli(manifest.cli_name or self.plugin, *path, "--json")
            where = " ".join(path)
            if result.exit_code == 0:
                try:
                    json.loads(result.stdout)
                    answered += 1
                except ValueError:
                    wrong.append(f"{where}: --json printed no JSON: {result.stdout[:80]!r}")
            elif result.exit_code != 1 or "Traceback" in result.stderr + result.stdout:
                wrong.append(f"{where}: exit {result.exit_code}: {result.stderr[:120]!r}")
        assert wrong == []
        assert answered, f"{self.plugin}: every --json command refused on the demo data"
