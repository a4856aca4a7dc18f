"""The real plugins working together through hooks only (each plugin's own tests use stand-ins)."""

from datetime import datetime, timedelta, timezone

import pytest

from crmcore.testing import make_customer

T0 = datetime(2025, 3, 22, 6, 0, tzinfo=timezone.utc)  # a Saturday, 09:30 in Tehran


def _installed(*names):
    from crmcore.plugin_host import installed_manifests

    missing = [n for n in names if n not in installed_manifests()]
    if missing:
        pytest.skip(f"needs the plugins {', '.join(missing)} installed")


@pytest.mark.crm_plugins("voip", "tasks")
def test_a_missed_call_becomes_one_real_call_back_task(crm_app, crm_cli):
    _installed("voip", "tasks")
    from crmcore_voip.events import CallEvent
    from crmcore_voip.service import handle_call_event

    crm_app.clock.set(T0)
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])

    def missed(call_id, seconds):
        at = T0 + timedelta(seconds=seconds)
        return [
            CallEvent(
                kind="ringing",
                source="webhook",
                call_id=call_id,
                at=at,
                caller="09121234567",
                callee="02191001000",
                direction="in",
                extension="101",
            ),
            CallEvent(
                kind="missed",
                source="webhook",
                call_id=call_id,
                at=at + timedelta(seconds=20),
                caller="09121234567",
                callee="02191001000",
                direction="in",
                cause="no-answer",
            ),
        ]

    for call_id, seconds in (("a", 0), ("b", 600)):  # two misses within the hour: one call-back
        with crm_app.unit_of_work() as uow:
            for event in missed(call_id, seconds):
                handle_call_event(uow, event)
    tasks = crm_cli("tasks", "list", "--json").json()
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    assert len(tasks) == 1
    assert tasks[0]["customer_id"] == cid and tasks[0]["kind"] == "call_back"
    followups = crm_cli("voip", "follow-ups", "list", "--all", "--json").json()
    assert [(f["via"], f["missed_calls"]) for f in followups] == [("tasks", 2)]


@pytest.mark.crm_plugins("surveys", "tickets")
def test_a_detractor_answer_opens_a_real_ticket_and_nothing_waits_in_the_follow_up_list(
    crm_app, crm_cli
):
    _installed("surveys", "tickets")
    crm_app.clock.set(T0)
    make_customer(crm_app, "Sara Ahmadi", phones=["09351112233"], consent_sms=True)
    assert (
        crm_cli(
            "surveys", "create", "nps", "--template", "nps", "--title", "How did we do?"
        ).exit_code
        == 0
    )
    invite = crm_cli("surveys", "invite", "nps", "09351112233")
    assert invite.exit_code == 0, invite
    token = invite.stdout.strip().split()[-1]
    answer = crm_cli("surveys", "answer", token, "-a", "nps=2")
    assert answer.exit_code == 0, answer
    tickets = crm_cli("tickets", "list", "--json").json()
    tickets = tickets["tickets"] if isinstance(tickets, dict) else tickets
    assert len(tickets) == 1 and tickets[0]["priority"] == "high"
    assert crm_cli("surveys", "followups", "--json").json() == []


@pytest.mark.crm_plugins("loyalty", "transfers")
def test_the_kernel_keeps_transfers_and_loyalty_together(crm_app, crm_cli):
    _installed("loyalty", "transfers")
    refused = crm_cli("plugins", "disable", "loyalty")
    assert refused.exit_code == 1
    assert "required by transfers" in refused.stderr
    assert crm_cli("plugins", "disable", "transfers").exit_code == 0
    assert crm_cli("plugins", "disable", "loyalty").exit_code == 0
    again = crm_cli("plugins", "enable", "transfers")
    assert again.exit_code == 1
    assert (
        "requires 'loyalty', which is not enabled; enable it first: crm plugins enable loyalty"
        in again.stderr
    )
    assert crm_cli("plugins", "enable", "loyalty").exit_code == 0
    assert crm_cli("plugins", "enable", "transfers").exit_code == 0
    info = crm_cli("plugins", "info", "transfers", "--json").json()
    assert info["enabled"] and info["requires"] == ["loyalty"]
