"""The plugin host: a plugin written here declares a hook spec and implements it; failures roll back; the
dependency and version checks refuse with clear messages."""

import sys
import types

import pytest
from sqlalchemy import func, select

from crmcore.api import (
    CRM,
    PluginError,
    PluginHookError,
    PluginManifest,
    add_customer,
    hookimpl,
    hookspec,
)
from crmcore.plugin_host import (
    PluginHost,
    check_can_disable,
    check_can_enable,
    dependency_order,
    installed_manifests,
)
from crmcore.storage.models import Customer
from crmcore.testing import outbox_events


# --- a plugin written in the tests ------------------------------------------------------------------------
class ReferralSpecs:
    @hookspec
    def referral_rewarded(self, uow, referrer_id, newcomer_id):
        """A customer who brought a newcomer was rewarded."""


class ReferralPlugin:
    """Tags the referrer of every new customer and announces its own event."""

    def __init__(self):
        self.rewarded = []

    @hookimpl
    def crm_customer_created(self, uow, customer):
        ref = (customer.attributes or {}).get("referred_by")
        if ref:
            uow.emit(
                "referral_rewarded",
                customer_id=ref,
                data={"referrer": ref, "newcomer": customer.id},
                referrer_id=ref,
                newcomer_id=customer.id,
            )

    @hookimpl
    def crm_customer_attributes(self):
        from crmcore.api import AttributeSpec

        return [AttributeSpec("referred_by", "int")]


class RewardListener:
    def __init__(self):
        self.seen = []

    @hookimpl
    def referral_rewarded(self, uow, referrer_id, newcomer_id):
        self.seen.append((referrer_id, newcomer_id))


class Exploding:
    @hookimpl
    def crm_customer_created(self, uow, customer):
        raise RuntimeError("the exploding plugin refuses everyone")


def _spec_module():
    mod = types.ModuleType("referral_specs")
    mod.referral_rewarded = ReferralSpecs.referral_rewarded
    return mod


def test_a_plugin_declares_a_spec_and_another_implements_it(crm_database_url):
    listener = RewardListener()
    app = CRM(
        crm_database_url,
        plugins=[],
        extra_plugins=[
            ("referral", ReferralPlugin(), _spec_module()),
            ("listener", listener, None),
        ],
    )
    with app.unit_of_work() as uow:
        a = add_customer(uow, name="معرف")
        b = add_customer(uow, name="تازه‌وارد", attributes={"referred_by": a.id})
    assert listener.seen == [(a.id, b.id)]
    assert [e["event"] for e in outbox_events(app)] == [
        "crm_customer_created",
        "crm_customer_created",
        "referral_rewarded",
    ]
    app.dispose()


def test_a_raising_hook_rolls_back_the_whole_command_and_names_the_plugin(crm_database_url):
    app = CRM(crm_database_url, plugins=[], extra_plugins=[("exploding", Exploding(), None)])
    with pytest.raises(PluginHookError) as err:
        with app.unit_of_work() as uow:
            add_customer(uow, name="first")
    assert err.value.plugin == "exploding"
    assert err.value.hook == "crm_customer_created"
    assert "refuses everyone" in str(err.value)
    with app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 0
    assert outbox_events(app) == []
    app.dispose()


# --- manifests, dependencies, versions -------------------------------------------------------------------
M = {
    "loyalty": PluginManifest("loyalty", "1.0", "points"),
    "transfers": PluginManifest("transfers", "1.0", "gifts", requires=("loyalty",)),
    "tiers": PluginManifest("tiers", "1.0", "levels", requires=("loyalty",)),
    "old": PluginManifest("old", "0.0.1", "built for an old kernel", kernel="<0.1"),
}


def test_enabling_without_the_requirement_says_what_to_do():
    with pytest.raises(
        PluginError, match="'transfers' requires 'loyalty', which is not enabled; enable it first"
    ):
        check_can_enable("transfers", [], M)
    assert check_can_enable("transfers", ["loyalty"], M).name == "transfers"
    with pytest.raises(PluginError, match="unknown plugin 'nope'"):
        check_can_enable("nope", [], M)


def test_a_plugin_for_another_kernel_version_is_refused():
    with pytest.raises(PluginError, match="built for crmcore <0.1"):
        check_can_enable("old", [], M)


def test_disabling_a_requirement_of_an_enabled_plugin_is_refused():
    with pytest.raises(PluginError, match="required by transfers, tiers"):
        check_can_disable("loyalty", ["loyalty", "transfers", "tiers"], M)
    check_can_disable("tiers", ["loyalty", "tiers"], M)


def test_dependency_order_puts_requirements_first():
    assert dependency_order(["transfers", "tiers", "loyalty"], M) == [
        "loyalty",
        "tiers",
        "transfers",
    ]


def test_the_host_refuses_to_load_an_enabled_plugin_whose_requirement_is_missing():
    host = PluginHost(["transfers"], manifests=M)
    with pytest.raises(PluginError, match="requires 'loyalty'"):
        host.pm


def test_cli_plugin_errors_exit_1_with_one_line(crm_cli):
    result = crm_cli("plugins", "enable", "no-such-plugin")
    assert result.exit_code == 1
    assert "unknown plugin 'no-such-plugin'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = crm_cli("plugins", "info", "no-such-plugin")
    assert result.exit_code == 1


def test_plugins_list_json_lists_every_installed_plugin(crm_cli):
    from crmcore.plugin_host import installed_manifests

    items = crm_cli("plugins", "list", "--json").json()
    assert [p["name"] for p in items] == list(installed_manifests())
    for p in items:
        assert set(p) >= {"name", "version", "enabled", "requires", "hooks", "hookspecs"}


def test_hooks_run_in_dependency_order_requirements_first(crm_database_url, monkeypatch):
    """loyalty's implementation of an event runs before tiers' (tiers requires loyalty)."""
    calls = []
    base = types.ModuleType("order_base_hooks")
    dependant = types.ModuleType("order_dependant_hooks")

    @hookimpl
    def crm_customer_created(uow, customer):
        calls.append("base")

    @hookimpl
    def crm_customer_created_dep(uow, customer):
        calls.append("dependant")

    base.crm_customer_created = crm_customer_created
    dependant.crm_customer_created = crm_customer_created_dep
    crm_customer_created_dep.__name__ = "crm_customer_created"
    sys.modules["order_base_hooks"] = base
    sys.modules["order_dependant_hooks"] = dependant
    manifests = {
        "base": PluginManifest("base", "1", "b", hooks="order_base_hooks"),
        "dependant": PluginManifest(
            "dependant", "1", "d", requires=("base",), hooks="order_dependant_hooks"
        ),
    }
    host = PluginHost(["dependant", "base"], manifests=manifests)
    host.call("crm_customer_created", uow=None, customer=None)
    assert calls == ["base", "dependant"]


def test_before_commit_work_runs_once_inside_the_transaction(crm_app):
    from crmcore.api import add_customer

    seen = []
    with crm_app.unit_of_work() as uow:
        c = add_customer(uow, name="الف")

        def flush_batch():
            seen.append(c.id)
            uow.emit(
                "crm_customer_updated",
                customer_id=c.id,
                data={"batched": True},
                customer=c,
                changes={},
            )

        uow.before_commit(flush_batch)
        uow.before_commit(flush_batch)  # registered twice, runs once
    assert seen == [c.id]
    assert [e["event"] for e in outbox_events(crm_app)] == [
        "crm_customer_created",
        "crm_customer_updated",
    ]


def test_a_misspelled_hook_fails_at_startup_naming_the_plugin_and_the_near_hook(monkeypatch):
    typo = types.ModuleType("typo_hooks")

    @hookimpl
    def crm_customer_merged(uow, kept, merged):  # the spec is crm_customers_merged
        pass

    typo.crm_customer_merged = crm_customer_merged
    monkeypatch.setitem(sys.modules, "typo_hooks", typo)
    manifests = {"typo": PluginManifest("typo", "1", "t", hooks="typo_hooks")}
    with pytest.raises(PluginError) as info:
        PluginHost(["typo"], manifests=manifests).pm
    assert str(info.value) == (
        "plugin 'typo' implements 'crm_customer_merged', which no hook "
        "specification declares (did you mean 'crm_customers_merged'?)"
    )


def test_a_hook_declared_by_an_installed_but_disabled_plugin_is_an_optional_one():
    """transfers answers a question of referrals; with referrals disabled it still starts."""
    host = PluginHost(["loyalty", "transfers"])
    assert "transfers" in [host.pm.get_name(p) for p in host.pm.get_plugins()]


def test_emitting_an_undeclared_event_is_refused_naming_the_nearest(crm_app):
    with pytest.raises(PluginError) as info:
        with crm_app.unit_of_work() as uow:
            uow.emit("crm_customer_updatd", data={})
    assert "'crm_customer_updatd'" in str(info.value)
    assert "did you mean 'crm_customer_updated'?" in str(info.value)


def test_every_event_the_plugins_emit_is_declared(crm_app_factory):
    """Every literal event name in the kernel's and the plugins' code is a spec or an OUTBOX_EVENTS entry
    (a misspelled one would otherwise fail only when its command runs)."""
    import importlib
    import pathlib
    import re

    app = crm_app_factory(plugins=list(installed_manifests()))
    roots = [pathlib.Path(importlib.import_module("crmcore").__file__).parent]
    roots += [
        pathlib.Path(importlib.import_module(m.package).__file__).parent
        for m in installed_manifests().values()
    ]
    names = {
        name
        for root in roots
        for f in root.rglob("*.py")
        for name in re.findall(r'\.emit(?:_many)?\(\s*"([a-z_]+)"', f.read_text())
    }
    assert "lottery_entries_frozen" in names and len(names) > 30
    for name in sorted(names):
        app.plugins.check_event(name)
