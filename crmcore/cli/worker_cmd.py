"""``crm worker`` (background workers) and ``crm outbox`` (relay to the broker, status)."""

from __future__ import annotations

import click

from .context import echo_json, get_app

BROKER_HELP = (
    "Broker URL: amqp://… (RabbitMQ) or redis://… (default: $CRM_BROKER_URL, else local RabbitMQ)."
)
QUEUE_HELP = "Queue name (default: $CRM_QUEUE, else crm_events)."


def _settings(broker, queue):
    from ..workers.broker import BrokerSettings

    return BrokerSettings.from_environment(broker, queue)


def _stop_on_signals():
    import signal
    import threading

    stop = threading.Event()

    def handler(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for noisy in ("pika", "dramatiq"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@click.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Events handled at the same time by this process (the database pool must allow as many).",
)
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--queue", metavar="NAME", help=QUEUE_HELP)
@click.option(
    "--with-relay", is_flag=True, help="Also relay the outbox to the broker from this process."
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log every event and the broker's own messages."
)
def worker(threads, broker, queue, with_relay, verbose):
    """Run a background worker: hand each outbox event to the plugins' after-commit (async) hooks, and run the
    scheduled jobs handed over by `crm jobs run --via-workers`.

    Start as many as you like, on one or more machines, against the same database and broker: each event and
    each handed-off job is handled once in effect and a customer's events in order. Stop with Ctrl-C or
    SIGTERM: the work in hand is finished, the rest stays in the broker for the other workers.
    """
    from ..workers.runner import run_worker

    settings = _settings(broker, queue)
    _logging(verbose)
    run_worker(get_app(), settings, _stop_on_signals(), threads=threads, with_relay=with_relay)


@click.group()
def outbox():
    """The outbox of domain events: relay it to the message broker, see what is pending."""


@outbox.command("relay")
@click.option(
    "--once",
    is_flag=True,
    help="Publish what is pending now, then exit (cron); default: keep relaying.",
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Events per transaction.",
)
@click.option(
    "--partitions",
    "max_partitions",
    type=click.IntRange(1, 16),
    help="Claim at most this many of the 16 partitions per batch (lets several relays share the work).",
)
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--queue", metavar="NAME", help=QUEUE_HELP)
@click.option(
    "--republish-after",
    metavar="DURATION",
    help="Publish again events no worker processed this long after publishing (the "
    "broker lost them; default $CRM_OUTBOX_REPUBLISH_AFTER, else 10m).",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print the result as JSON.")
def relay(once, batch_size, max_partitions, broker, queue, republish_after, as_json):
    """Publish unpublished outbox events to the broker, in order per customer, at least once.

    Several relays may run at once (on PostgreSQL they share the partitions; on SQLite one relays and the
    others stand by until its lease runs out). Events the broker lost (published, but no worker
    processed them within --republish-after) are published again.
    """
    import time

    from ..domain.dates import parse_duration
    from ..outbox.relay import OutboxRelay
    from ..workers.publisher import DramatiqPublisher

    settings = _settings(broker, queue)
    delay = parse_duration(republish_after, field="republish-after") if republish_after else None
    app = get_app()
    if not once:
        _logging(False)
    started = time.monotonic()
    publisher = DramatiqPublisher(settings)
    try:
        relay_ = OutboxRelay(
            app,
            publisher,
            batch_size=batch_size,
            max_partitions=max_partitions,
            republish_after=delay,
        )
        if once:
            published = relay_.run_until_empty()
        else:
            click.echo(f"relaying the outbox to {settings.describe()} (Ctrl-C stops)", err=True)
            published = relay_.run_forever(
                _stop_on_signals(),
                on_batch=lambda r: click.echo(
                    f"published {r.published} events (up to #{r.last_event_id})", err=True
                ),
            )
    finally:
        publisher.close()
    seconds = time.monotonic() - started
    if as_json:
        echo_json(
            {"published": published, "seconds": round(seconds, 3), "broker": settings.describe()}
        )
    else:
        noun = "event" if published == 1 else "events"
        click.echo(f"published {published} {noun} to {settings.describe()} in {seconds:.1f} s")


@outbox.command("status")
@click.option(
    "--with-broker",
    is_flag=True,
    help="Also count the messages waiting in the broker's events and jobs queues.",
)
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--queue", metavar="NAME", help=QUEUE_HELP)
@click.option("--json", "as_json", is_flag=True)
def status(with_broker, broker, queue, as_json):
    """Pending, published, processed and failed events; relay leases; recent failures."""
    from ..domain.dates import format_datetime
    from ..outbox.status import outbox_status

    app = get_app()
    data = outbox_status(app)
    if with_broker:
        from ..workers.broker import make_broker, queue_counts

        settings = _settings(broker, queue)
        b = make_broker(settings)
        try:
            data["broker"] = {
                "queue": settings.describe(),
                **queue_counts(b, settings),
                "jobs": {
                    "queue": settings.jobs_queue,
                    **queue_counts(b, settings, settings.jobs_queue),
                },
            }
        finally:
            b.close()
    if as_json:
        echo_json(data)
        return

    def when(value):
        return format_datetime(value, app.calendar, tz=app.timezone) if value else "—"

    click.echo(
        f"pending (not yet published):   {data['pending']}"
        + (f"   oldest from {when(data['oldest_pending_at'])}" if data["pending"] else "")
    )
    click.echo(
        f"published to the broker:       {data['published']}   last at {when(data['last_published_at'])}"
    )
    click.echo(f"processed by workers:          {data['processed']}")
    click.echo(f"failed after all attempts:     {data['failed']}")
    click.echo(f"published, not yet processed:  {data['awaiting_workers']}")
    for lease in data["relay_leases"]:
        click.echo(
            f"relay {lease['relay']} holds {lease['partitions']} partitions until {when(lease['until'])}"
        )
    if "broker" in data:
        b = data["broker"]
        click.echo(
            f"broker {b['queue']}: {b['ready']} ready, {b['delayed']} delayed, {b['dead']} dead-lettered"
        )
        j = b["jobs"]
        click.echo(
            f"broker jobs queue {j['queue']}: {j['ready']} ready, {j['delayed']} delayed, "
            f"{j['dead']} dead-lettered"
        )
    for f in data["recent_failures"]:
        click.echo(
            f"failed event {f['event_id']} {f['event']} (customer {f['customer_id']}) after "
            f"{f['attempts']} attempts at {when(f['at'])}: {f['error']}"
        )


@outbox.command("republish")
@click.option(
    "--since",
    metavar="MOMENT",
    help="Every published, unprocessed event written since MOMENT (ISO or Jalali), however recent.",
)
@click.option(
    "--event-id",
    "event_ids",
    type=click.IntRange(min=1),
    multiple=True,
    metavar="ID",
    help="Exactly this event (repeatable); processed or unpublished ones are skipped, saying why.",
)
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Without --since/--event-id: events published this long ago and not processed "
    "(default $CRM_OUTBOX_REPUBLISH_AFTER, else 10m).",
)
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--queue", metavar="NAME", help=QUEUE_HELP)
@click.option("--json", "as_json", is_flag=True)
def republish(since, event_ids, older_than, broker, queue, as_json):
    """Publish again events the broker lost: published, but no worker processed them.

    The relay does this by itself after the delay; this command does it now. Workers ignore repeats.
    """
    from ..domain.dates import parse_datetime, parse_duration
    from ..outbox import repair
    from ..workers.publisher import DramatiqPublisher

    if sum(map(bool, (since, event_ids, older_than))) > 1:
        raise click.UsageError("give one of --since, --event-id and --older-than")
    app = get_app()
    moment = parse_datetime(since, tz=app.timezone, field="since") if since else None
    after = parse_duration(older_than, field="older-than") if older_than else None
    settings = _settings(broker, queue)
    skipped: list = []
    if event_ids:
        with app.sessionmaker() as session:
            events, skipped = repair.chosen_events(session, event_ids)
    publisher = DramatiqPublisher(settings)
    try:
        if event_ids:
            ids = [e.id for e in events]
            repair.publish_again(app, publisher, events)
        elif moment is not None:
            ids = repair.republish_since(app, publisher, moment)
        else:
            ids = repair.republish_stalled(
                app, publisher, after=after or repair.republish_after_from_environment()
            )
    finally:
        publisher.close()
    if as_json:
        echo_json(
            {
                "republished": ids,
                "broker": settings.describe(),
                "skipped": [{"event_id": s.event_id, "reason": s.reason} for s in skipped],
            }
        )
        return
    for s in skipped:
        click.echo(f"event {s.event_id} skipped: {s.reason}")
    noun = "event" if len(ids) == 1 else "events"
    click.echo(
        f"re-published {len(ids):,} {noun} to {settings.describe()}"
        + (f" (#{ids[0]}…#{ids[-1]})" if ids else "")
    )


@outbox.command("prune")
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Delete processed events written this long ago (default $CRM_OUTBOX_RETENTION, else 30d).",
)
@click.option("--json", "as_json", is_flag=True)
def prune(older_than, as_json):
    """Delete processed outbox events older than the retention (unpublished or unprocessed ones
    stay).

    `crm jobs run` does the same with the default retention (job outbox.prune).
    """
    import os

    from ..domain.dates import parse_duration
    from ..outbox import repair

    age = (
        parse_duration(older_than, field="older-than")
        if older_than
        else repair.retention_from_environment()
    )
    app = get_app()
    pruned = repair.prune(app, older_than=age)
    if as_json:
        echo_json({"pruned": pruned, "older_than_seconds": int(age.total_seconds())})
    else:
        label = older_than or os.environ.get(repair.RETENTION_ENV) or "30d"
        noun = "event" if pruned == 1 else "events"
        click.echo(f"pruned {pruned:,} processed outbox {noun} older than {label}")
