import click

from .context import echo_json, get_app


@click.group()
def jobs():
    """Scheduled jobs of the enabled plugins (run `crm jobs run` from cron)."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_jobs(as_json):
    """Every job the enabled plugins contribute."""
    from ..jobs import job_registry

    items = [{"name": j.name, "description": j.description} for j in job_registry(get_app()).values()]
    if as_json:
        echo_json(items)
        return
    for j in items:
        click.echo(f"{j['name']}\t{j['description']}")


@jobs.command("run")
@click.option("--only", multiple=True, help="Run only this job (repeatable).")
@click.option("--now", "now", help="Pretend it is this moment (ISO or Jalali), for catch-up and tests.")
@click.option("--json", "as_json", is_flag=True)
def run(only, now, as_json):
    """Run the due work of every job, each in its own transaction. Exit 1 if any job failed."""
    from ..domain.dates import parse_datetime
    from ..jobs import run_jobs

    app = get_app()
    moment = parse_datetime(now, tz=app.timezone, field="now") if now else None
    results = run_jobs(app, now=moment, only=list(only))
    if as_json:
        echo_json(results)
    else:
        for r in results:
            status = "ok" if r["ok"] else f"FAILED: {r['error']}"
            click.echo(f"{r['job']}: {status} {r.get('summary') or ''}".rstrip())
    if any(not r["ok"] for r in results):
        raise click.exceptions.Exit(1)
