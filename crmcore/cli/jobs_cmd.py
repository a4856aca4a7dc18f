import click

from .context import echo_json, get_app
from .output import output, plain
from .worker_cmd import BROKER_HELP, QUEUE_HELP


@click.group()
def jobs():
    """Scheduled jobs of the enabled plugins (run `crm jobs run` from cron)."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_jobs(as_json):
    """Every job the enabled plugins contribute."""
    from ..jobs import job_registry

    items = [
        {"name": j.name, "description": j.description} for j in job_registry(get_app()).values()
    ]
    output(
        items,
        as_json,
        columns=[("name", "job"), ("description", "what it does")],
        empty="no jobs: no enabled plugin contributes one",
    )


@jobs.command("run")
@click.option("--only", multiple=True, help="Run only this job (repeatable).")
@click.option(
    "--now", "now", help="Pretend it is this moment (ISO or Jalali), for catch-up and tests."
)
@click.option(
    "--via-workers",
    is_flag=True,
    help="Hand each job to the background workers (`crm worker`) through the broker instead of running it "
    "here.",
)
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="With --via-workers: wait up to SECONDS for the workers to finish and report each job's outcome.",
)
@click.option(
    "--broker", metavar="URL", help="With --via-workers: the workers' broker. " + BROKER_HELP
)
@click.option(
    "--queue",
    metavar="NAME",
    help="With --via-workers: the workers' queue, as given to `crm worker`; the jobs go to NAME.jobs. "
    + QUEUE_HELP,
)
@click.option("--json", "as_json", is_flag=True)
def run(only, now, via_workers, wait, broker, queue, as_json):
    """Run the due work of every job, each in its own transaction. Exit 1 if any job failed.

    With --via-workers each job is published to the workers' broker (the jobs queue beside the events queue of
    `crm worker`) and runs in a worker, once in effect; without --wait the command exits once the broker holds
    the jobs. With --wait it exits 1 if a job failed or did not finish in time.
    """
    from ..domain.dates import parse_datetime

    if not via_workers and (wait is not None or broker or queue):
        raise click.UsageError("--wait, --broker and --queue only apply with --via-workers")
    app = get_app()
    moment = parse_datetime(now, tz=app.timezone, field="now") if now else None
    if via_workers:
        _run_via_workers(app, list(only), moment, wait, broker, queue, as_json)
        return
    from ..jobs import run_jobs

    results = run_jobs(app, now=moment, only=list(only))
    _report(results, as_json)
    if any(not r["ok"] for r in results):
        raise click.exceptions.Exit(1)


def _report(results, as_json):
    def lines(results, fmt):
        # a job's summary is whatever it returned (often a dict of counts): shown as labelled values
        return [
            f"{r['job']}: "
            + ("ok" if r["ok"] else f"FAILED: {r['error']}")
            + (f" {plain(r['summary'], fmt)}" if r.get("summary") not in (None, "", {}) else "")
            for r in results
        ]

    output(results, as_json, text=lines)


def _run_via_workers(app, only, moment, wait, broker, queue, as_json):
    from ..workers.broker import BrokerSettings
    from ..workers.jobs import hand_off_jobs, wait_for_runs

    settings = BrokerSettings.from_environment(broker, queue)
    handed = hand_off_jobs(app, settings, now=moment, only=only)
    if wait is None:
        if as_json:
            echo_json(handed)
            return
        for h in handed:
            click.echo(f"{h['job']}: queued for the workers (run {h['run_id']})")
        click.echo(
            f"handed {len(handed)} job{'' if len(handed) == 1 else 's'} to {settings.describe()} "
            f"(jobs queue {settings.jobs_queue}); `crm jobs runs` shows their progress",
            err=True,
        )
        return
    results = wait_for_runs(app, handed, wait)
    if as_json:
        echo_json(results)
    else:
        for r in results:
            status = (
                "ok"
                if r["ok"]
                else f"FAILED: {r['error']}"
                if r["status"] == "failed"
                else r["error"]
            )
            click.echo(
                f"{r['job']}: {status} {r.get('summary') or ''}".rstrip() + f"  (run {r['run_id']})"
            )
    failed = [r["job"] for r in results if r["status"] == "failed"]
    unfinished = [r["job"] for r in results if not r["ok"] and r["status"] != "failed"]
    if failed or unfinished:
        parts = ([f"failed: {', '.join(failed)}"] if failed else []) + (
            [f"not finished within {wait:g} s: {', '.join(unfinished)}"] if unfinished else []
        )
        click.echo("jobs " + "; ".join(parts), err=True)
        raise click.exceptions.Exit(1)


@jobs.command("runs")
@click.option("--job", "job", metavar="NAME", help="Only the runs of this job.")
@click.option(
    "--status",
    type=click.Choice(["queued", "running", "ok", "failed"]),
    help="Only runs in this state.",
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many runs."
)
@click.option("--json", "as_json", is_flag=True)
def runs(job, status, limit, as_json):
    """Recent job runs, newest first: in-process and handed to the workers, with their status."""
    from ..domain.dates import format_datetime
    from ..jobs import list_job_runs

    app = get_app()
    items = list_job_runs(app, limit=limit, job=job, status=status)
    if as_json:
        echo_json(items)
        return
    if not items:
        click.echo("no job runs recorded")
        return

    def when(value):
        return format_datetime(value, app.calendar, tz=app.timezone) if value else "—"

    for r in items:
        line = (
            f"{r['run_id']}  {r['job']}  {r['status']}  for {when(r['moment'])}  via {r['via']}"
            f"  queued {when(r['queued_at'])}  finished {when(r['finished_at'])}"
        )
        if r["worker"]:
            line += f"  by {r['worker']}" + (
                f" (attempt {r['attempts']})" if r["attempts"] > 1 else ""
            )
        if r["status"] == "ok" and r["summary"]:
            line += f"  {r['summary']}"
        if r["error"]:
            line += f"  error: {r['error']}"
        click.echo(line)
