"""``crm jobs run --via-workers``: scheduled jobs handed through a real broker (RabbitMQ and Redis) to worker
processes, on SQLite and PostgreSQL — each run once in effect (repeated messages, two workers, a worker killed
mid-job), failures rolled back and recorded, outcomes reported by ``--wait``; ``crm jobs runs``."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from crmcore.errors import ValidationError
from crmcore.jobs import HandOffNotRecorded, run_jobs
from crmcore.outbox.relay import wait_until
from crmcore.storage.models import AuditEntry, JobRun
from crmcore.workers.broker import BrokerSettings, make_broker, queue_counts
from crmcore.workers.jobs import JobMessage, enqueue_job_messages, handle_job_message

WORKER = Path(__file__).with_name("worker_process.py")
EFFECT = "probe-job"
ALL_JOBS = "outbox.prune, probe.broken, probe.refuses, probe.slow, probe.tally"


def broker_env(settings: BrokerSettings) -> dict[str, str]:
    return {
        "CRM_BROKER_URL": settings.url,
        "CRM_QUEUE": settings.queue,
        "CRM_BROKER_NAMESPACE": settings.namespace,
    }


def reading(app):
    """A session that reads without taking SQLite's write lock (a worker may hold it for a whole job)."""
    return app.sessionmaker(bind=app.engine.execution_options(crm_begin="DEFERRED"))


def effects(app) -> list[dict]:
    """What the probe jobs left (one audit row per committed run)."""
    with reading(app) as s:
        return [
            e.changes
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.action == EFFECT).order_by(AuditEntry.id)
            )
        ]


def runs(app) -> dict[str, JobRun]:
    with reading(app) as s:
        return {r.run_id: r for r in s.scalars(select(JobRun).order_by(JobRun.id))}


def status_of(app, run_id: str):
    with reading(app) as s:
        return s.scalar(select(JobRun.status).where(JobRun.run_id == run_id))


def jobs_queue_counts(settings: BrokerSettings) -> dict[str, int]:
    broker = make_broker(settings)
    try:
        return queue_counts(broker, settings, settings.jobs_queue)
    finally:
        broker.close()


@pytest.fixture
def worker_pool(jobs_app, broker_settings, tmp_path):
    """``start(count, threads)`` → worker processes with the jobs probe plugin on this test's database and
    broker; each is ``(process, log path, worker name)``. All are killed at the end of the test."""
    started = []

    def start(count: int, threads: int = 2):
        new = []
        for _ in range(count):
            log = tmp_path / f"worker{len(started)}.log"
            with open(log, "w") as out:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        str(WORKER),
                        jobs_app.url,
                        broker_settings.url,
                        broker_settings.queue,
                        broker_settings.namespace,
                        str(threads),
                        "jobs_probe.py",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=os.environ.copy(),
                )
            entry = (proc, log, f"{socket.gethostname()}:{proc.pid}")
            started.append(entry)
            new.append(entry)
        for proc, log, _ in new:
            ready = wait_until(
                lambda: "threads on" in log.read_text() or proc.poll() is not None, timeout=60
            )
            assert ready and proc.poll() is None, (
                f"worker did not start:\n{log.read_text()[-3000:]}"
            )
        return new

    yield start
    for proc, _, _ in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def logs_of(workers) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2500:]}" for _, log, _ in workers)


def stop(workers) -> None:
    for proc, _, _ in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc, _, _ in workers:
        assert proc.wait(timeout=60) in (0, -signal.SIGKILL), logs_of(workers)


# -- through the broker, with worker processes ---------------------------------------------------------------
def test_each_handed_off_run_has_its_effect_once_with_repeated_messages_and_two_workers(
    jobs_app, jobs_cli, broker_settings, worker_pool
):
    env = broker_env(broker_settings)
    moments = [f"2025-03-{d:02d}T06:30:00+00:00" for d in range(1, 9)]
    handed = []
    for moment in moments:
        r = jobs_cli(
            "jobs",
            "run",
            "--via-workers",
            "--only",
            "probe.tally",
            "--now",
            moment,
            "--json",
            env=env,
        )
        assert r.exit_code == 0, r
        [h] = r.json()
        assert (h["job"], h["status"]) == ("probe.tally", "queued")
        handed.append(JobMessage("probe.tally", datetime.fromisoformat(moment), h["run_id"]))
    assert len({m.run_id for m in handed}) == len(moments)  # a unique run id per hand-off

    broker = make_broker(
        broker_settings
    )  # each message delivered a second time (a broker redelivery)
    try:
        enqueue_job_messages(broker, broker_settings, handed)
    finally:
        broker.close()

    # two workers of one thread each hold at most two messages at a time: both take part
    workers = worker_pool(2, threads=1)
    ids = [m.run_id for m in handed]
    assert wait_until(lambda: all(status_of(jobs_app, i) == "ok" for i in ids), timeout=90), (
        logs_of(workers)
    )
    assert wait_until(
        lambda: jobs_queue_counts(broker_settings) == {"ready": 0, "delayed": 0, "dead": 0},
        timeout=30,
    ), logs_of(workers)
    time.sleep(0.5)  # repeats still in a worker's hands must change nothing either
    stop(workers)

    done = effects(jobs_app)
    assert sorted(e["moment"] for e in done) == moments  # once each, at the moment of its hand-off
    recorded = runs(jobs_app)
    assert set(recorded) == set(ids)
    assert {r.status for r in recorded.values()} == {"ok"}
    assert {r.via for r in recorded.values()} == {"workers"}
    assert sorted(r.summary["moment"] for r in recorded.values()) == moments
    assert all(r.summary["tallied"] == 1 and r.error is None for r in recorded.values())
    assert all(r.queued_at <= r.started_at <= r.finished_at for r in recorded.values())
    for _, log, name in workers:  # both consumed: ran a job, or found its repeat already done
        assert "started by" in log.read_text() or "repeat delivery ignored" in log.read_text(), (
            logs_of(workers)
        )
    if (
        jobs_app.engine.dialect.name == "postgresql"
    ):  # (SQLite runs one writer, hence one job, at a time)
        assert {r.worker for r in recorded.values()} == {name for _, _, name in workers}, logs_of(
            workers
        )


def test_a_worker_killed_mid_job_leaves_no_effect_and_another_worker_runs_the_job_once(
    jobs_app, jobs_cli, broker_settings, worker_pool
):
    workers = worker_pool(2, threads=1)
    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--only",
        "probe.slow",
        "--json",
        env=broker_env(broker_settings),
    )
    assert r.exit_code == 0, r
    [handed] = r.json()
    run_id = handed["run_id"]
    assert wait_until(
        lambda: status_of(jobs_app, run_id) == "running", timeout=30, interval=0.05
    ), logs_of(workers)
    first = runs(jobs_app)[run_id].worker
    [victim] = [proc for proc, _, name in workers if name == first]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert (
        effects(jobs_app) == [] and status_of(jobs_app, run_id) == "running"
    )  # killed before its commit

    assert wait_until(lambda: status_of(jobs_app, run_id) == "ok", timeout=90), logs_of(workers)
    stop(workers)
    run = runs(jobs_app)[run_id]
    [survivor] = [name for _, _, name in workers if name != first]
    assert (run.worker, run.attempts, run.summary) == (survivor, 2, {"slept_s": 4})
    assert [e["job"] for e in effects(jobs_app)] == ["probe.slow"]


def test_wait_reports_each_outcome_and_a_failing_job_changes_nothing(
    jobs_app, jobs_cli, broker_settings, worker_pool
):
    workers = worker_pool(1, threads=2)
    env = broker_env(broker_settings)
    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--only",
        "probe.tally",
        "--only",
        "probe.broken",
        "--only",
        "probe.refuses",
        "--wait",
        "60",
        "--json",
        env=env,
    )
    assert r.exit_code == 1, logs_of(workers)
    outcome = {x["job"]: x for x in r.json()}
    assert list(outcome) == ["probe.broken", "probe.refuses", "probe.tally"]
    tally, broken, refuses = (
        outcome["probe.tally"],
        outcome["probe.broken"],
        outcome["probe.refuses"],
    )
    assert (tally["ok"], tally["status"], tally["summary"]) == (
        True,
        "ok",
        {"moment": "2025-03-21T09:00:00+00:00", "tallied": 1},
    )
    assert (broken["ok"], broken["status"]) == (False, "failed")
    assert broken["error"] == "RuntimeError: probe.broken breaks at 2025-03-21T09:00:00+00:00"
    assert (refuses["ok"], refuses["status"], refuses["error"]) == (
        False,
        "failed",
        "field day: probe.refuses will not run today",
    )
    assert "jobs failed: probe.broken, probe.refuses" in r.stderr
    assert [e["job"] for e in effects(jobs_app)] == [
        "probe.tally"
    ]  # the failed jobs' effects were rolled back
    recorded = runs(jobs_app)
    assert (
        recorded[broken["run_id"]].summary is None
        and recorded[broken["run_id"]].finished_at is not None
    )

    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--only",
        "probe.tally",
        "--now",
        "1404-01-02 10:00",
        "--wait",
        "60",
        env=env,
    )
    assert r.exit_code == 0, r
    assert r.stdout.startswith(
        "probe.tally: ok {'moment': '2025-03-22T06:30:00+00:00', 'tallied': 1}  (run "
    )
    stop(workers)
    assert len(effects(jobs_app)) == 2


def test_wait_without_a_worker_times_out_saying_which_and_a_later_worker_runs_the_job(
    jobs_app, jobs_cli, broker_settings, worker_pool
):
    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--only",
        "probe.tally",
        "--wait",
        "0.5",
        env=broker_env(broker_settings),
    )
    assert r.exit_code == 1
    assert r.stdout.startswith(
        "probe.tally: not finished within 0.5 s: still queued (is a `crm worker` running "
        "on this broker?)  (run "
    )
    assert "jobs not finished within 0.5 s: probe.tally" in r.stderr
    [run] = runs(jobs_app).values()
    assert (run.status, run.via, run.worker, run.attempts, run.started_at) == (
        "queued",
        "workers",
        None,
        0,
        None,
    )
    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--only",
        "probe.tally",
        "--now",
        "2025-03-22T10:00:00+00:00",
        env=broker_env(broker_settings),
    )
    assert r.exit_code == 0, r
    [second] = [i for i in runs(jobs_app) if i != run.run_id]
    assert r.stdout == f"probe.tally: queued for the workers (run {second})\n"
    assert r.stderr == (
        f"handed 1 job to {broker_settings.describe()} (jobs queue {broker_settings.jobs_queue}); "
        "`crm jobs runs` shows their progress\n"
    )
    assert jobs_queue_counts(broker_settings)["ready"] == 2
    assert effects(jobs_app) == []
    status = jobs_cli("outbox", "status", "--with-broker", env=broker_env(broker_settings)).stdout
    assert (
        f"broker jobs queue {broker_settings.jobs_queue}: 2 ready, 0 delayed, 0 dead-lettered"
        in status
    )
    counted = jobs_cli(
        "outbox", "status", "--with-broker", "--json", env=broker_env(broker_settings)
    ).json()
    assert counted["broker"]["jobs"] == {
        "queue": broker_settings.jobs_queue,
        "ready": 2,
        "delayed": 0,
        "dead": 0,
    }

    workers = worker_pool(1)
    assert wait_until(
        lambda: {status_of(jobs_app, i) for i in (run.run_id, second)} == {"ok"}, timeout=60
    ), logs_of(workers)
    stop(workers)
    assert sorted(e["moment"] for e in effects(jobs_app)) == [
        "2025-03-21T09:00:00+00:00",
        "2025-03-22T10:00:00+00:00",
    ]


# -- refusals -------------------------------------------------------------------------------------------------
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_only_names_are_refused_before_the_broker_is_contacted(jobs_app, jobs_cli):
    env = {
        "CRM_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{unused_port()}/%2F"
    }  # nobody listens there
    r = jobs_cli(
        "jobs", "run", "--via-workers", "--only", "probe.tally", "--only", "probe.nope", env=env
    )
    assert r.exit_code == 1
    assert f"unknown job 'probe.nope' (available: {ALL_JOBS})" in r.stderr
    assert runs(jobs_app) == {}


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_an_unreachable_broker_is_a_clear_error_and_nothing_is_recorded(jobs_app, jobs_cli, scheme):
    port = unused_port()
    url = (
        f"amqp://guest:secret@127.0.0.1:{port}/%2F"
        if scheme == "amqp"
        else f"redis://127.0.0.1:{port}/0"
    )
    kind = "rabbitmq" if scheme == "amqp" else "redis"
    started = time.monotonic()
    r = jobs_cli(
        "jobs",
        "run",
        "--via-workers",
        "--json",
        env={"CRM_BROKER_URL": url, "CRM_QUEUE": "nightly"},
    )
    assert r.exit_code == 1 and r.stdout == ""
    assert (
        f"cannot hand the jobs to the workers: the broker ({kind} {scheme}://127.0.0.1:{port}"
        in r.stderr
    ), r.stderr
    assert "queue nightly) is not reachable or refused them" in r.stderr
    assert r.stderr.rstrip().endswith("nothing was handed off") and "secret" not in r.stderr
    assert time.monotonic() - started < 30
    assert runs(jobs_app) == {} and effects(jobs_app) == []


def test_broker_options_need_via_workers(jobs_cli, jobs_app):
    r = jobs_cli("jobs", "run", "--wait", "5")
    assert (
        r.exit_code == 2
        and "--wait, --broker and --queue only apply with --via-workers" in r.stderr
    )
    assert runs(jobs_app) == {}


# -- the worker's handling of one message, without a broker ----------------------------------------------------
def hand_off_row(app, job: str, run_id: str, moment: datetime) -> JobMessage:
    """What ``hand_off_jobs`` commits before a worker sees the message."""
    with app.unit_of_work() as uow:
        uow.session.add(
            JobRun(
                run_id=run_id, job=job, moment=moment, status="queued", via="workers", attempts=0
            )
        )
    return JobMessage(job, moment, run_id)


MOMENT = datetime(2025, 3, 21, 20, 30, tzinfo=timezone.utc)


def test_the_same_message_twice_runs_the_job_once(jobs_app):
    message = hand_off_row(jobs_app, "probe.tally", "run-a", MOMENT)
    assert handle_job_message(jobs_app, message.to_message(), worker="w1") == "ok"
    assert handle_job_message(jobs_app, message.to_message(), worker="w2") == "duplicate"
    assert effects(jobs_app) == [{"job": "probe.tally", "moment": "2025-03-21T20:30:00+00:00"}]
    run = runs(jobs_app)["run-a"]
    assert (run.status, run.worker, run.attempts) == ("ok", "w1", 1)
    assert run.summary == {"moment": "2025-03-21T20:30:00+00:00", "tallied": 1}


def test_two_workers_handling_the_same_message_at_once_run_it_once(jobs_app, crm_app_factory):
    message = hand_off_row(jobs_app, "probe.tally", "run-b", MOMENT).to_message()
    apps = [crm_app_factory(plugins=[], extra_plugins=jobs_app._extra) for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), {}

    def work(n):
        barrier.wait()
        outcomes[n] = handle_job_message(apps[n], message, worker=f"w{n}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["duplicate", "ok"]
    assert len(effects(jobs_app)) == 1
    assert runs(jobs_app)["run-b"].status == "ok"


def test_a_failing_job_is_rolled_back_recorded_failed_and_not_run_again(jobs_app):
    message = hand_off_row(jobs_app, "probe.broken", "run-c", MOMENT).to_message()
    assert handle_job_message(jobs_app, message, worker="w1") == "failed"
    assert handle_job_message(jobs_app, message, worker="w1") == "duplicate"
    run = runs(jobs_app)["run-c"]
    assert (run.status, run.summary, run.attempts) == ("failed", None, 1)
    assert run.error == "RuntimeError: probe.broken breaks at 2025-03-21T20:30:00+00:00"
    assert effects(jobs_app) == []


def test_a_job_the_worker_does_not_know_is_recorded_failed(jobs_app):
    message = hand_off_row(jobs_app, "probe.gone", "run-d", MOMENT).to_message()
    assert handle_job_message(jobs_app, message, worker="w1") == "failed"
    assert runs(jobs_app)["run-d"].error == (
        f"field job: job 'probe.gone' is not a job of this worker's enabled plugins (available: {ALL_JOBS})"
    )


def test_a_message_whose_hand_off_is_not_recorded_waits_and_changes_nothing(jobs_app):
    message = JobMessage("probe.tally", MOMENT, "run-e").to_message()
    with pytest.raises(HandOffNotRecorded, match="run run-e of job 'probe.tally' is not recorded"):
        handle_job_message(jobs_app, message, worker="w1")
    assert runs(jobs_app) == {} and effects(jobs_app) == []
    with pytest.raises(ValidationError, match="not a job message"):
        handle_job_message(jobs_app, {"job": "probe.tally"}, worker="w1")


# -- in-process runs are recorded too; `crm jobs runs` -----------------------------------------------------
def test_jobs_runs_lists_recent_runs_with_their_status(jobs_app, jobs_cli):
    r = jobs_cli("jobs", "run", "--only", "probe.tally", "--only", "probe.refuses", "--json")
    assert r.exit_code == 1
    assert r.json() == [
        {
            "job": "probe.refuses",
            "ok": False,
            "error": "field day: probe.refuses will not run today",
        },
        {
            "job": "probe.tally",
            "ok": True,
            "summary": {"moment": "2025-03-21T09:00:00+00:00", "tallied": 1},
        },
    ]
    with pytest.raises(RuntimeError, match="probe.broken breaks"):
        run_jobs(jobs_app, only=["probe.broken"])  # a bug is raised as before, and recorded

    listed = jobs_cli("jobs", "runs", "--json").json()
    assert [(x["job"], x["status"], x["via"]) for x in listed] == [
        ("probe.broken", "failed", "process"),
        ("probe.tally", "ok", "process"),
        ("probe.refuses", "failed", "process"),
    ]
    broken, tally, refuses = listed
    assert (
        tally["summary"] == {"moment": "2025-03-21T09:00:00+00:00", "tallied": 1}
        and tally["error"] is None
    )
    assert tally["moment"] == "2025-03-21T09:00:00+00:00" and tally["worker"].endswith(
        f":{os.getpid()}"
    )
    assert (
        refuses["error"] == "field day: probe.refuses will not run today"
        and refuses["summary"] is None
    )
    assert broken["error"] == "RuntimeError: probe.broken breaks at 2025-03-21T09:00:00+00:00"
    assert len({x["run_id"] for x in listed}) == 3
    assert effects(jobs_app) == [{"job": "probe.tally", "moment": "2025-03-21T09:00:00+00:00"}]

    assert [x["job"] for x in jobs_cli("jobs", "runs", "--status", "failed", "--json").json()] == [
        "probe.broken",
        "probe.refuses",
    ]
    assert [
        x["status"] for x in jobs_cli("jobs", "runs", "--job", "probe.tally", "--json").json()
    ] == ["ok"]
    assert [x["job"] for x in jobs_cli("jobs", "runs", "--limit", "1", "--json").json()] == [
        "probe.broken"
    ]
    text = jobs_cli("--calendar", "jalali", "jobs", "runs", "--job", "probe.tally").stdout
    assert f"{tally['run_id']}  probe.tally  ok  for 1404-01-01 12:30  via process" in text
    assert "{'moment': '2025-03-21T09:00:00+00:00', 'tallied': 1}" in text
    assert jobs_cli("jobs", "runs", "--job", "probe.slow").stdout == "no job runs recorded\n"
