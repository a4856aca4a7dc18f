"""The Dramatiq actor that receives outbox events, and its retry policy."""

from __future__ import annotations

import logging

from .broker import DELIVER_ACTOR
from .consumer import DUPLICATE, PRUNED, WaitForPredecessor, handle_event

log = logging.getLogger("crmcore.workers")

#: attempts of an event whose hooks raise, before it is recorded as failed
HOOK_ATTEMPTS = 5
#: first pause after a hook failed (doubles with each attempt, at most MAX_BACKOFF_MS)
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 60_000
#: pause before looking again whether the customer's previous event was processed
ORDER_WAIT_MS = 100
#: how many times an event waits for its predecessor before it is dead-lettered (with ORDER_WAIT_MS ≈ 20 min)
ORDER_WAITS = 12_000
FAILURES_OPTION = "crm_hook_failures"


def should_retry(retries: int, exception: BaseException) -> bool:
    """Dramatiq ``retry_when``: order waits many times, hook failures up to HOOK_ATTEMPTS."""
    from dramatiq import Retry

    if isinstance(exception, Retry):
        return retries < ORDER_WAITS
    return retries < HOOK_ATTEMPTS


def retries_middleware():
    from dramatiq.middleware import Retries

    return Retries(min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS, retry_when=should_retry)


def declare_deliver_actor(
    broker, queue: str, app, worker: str, *, hook_attempts: int = HOOK_ATTEMPTS
):
    """Declare ``crm_deliver_event`` on ``broker`` for ``queue``: each message is handled by ``app``."""
    import dramatiq
    from dramatiq.middleware import CurrentMessage

    from ..outbox.event import Event

    def crm_deliver_event(body):
        event = Event.from_message(body)
        message = CurrentMessage.get_current_message()
        failures = message.options.get(FAILURES_OPTION, 0) if message is not None else 0
        try:
            outcome = handle_event(
                app,
                event,
                worker=worker,
                attempt=failures + 1,
                final_attempt=failures + 1 >= hook_attempts,
            )
        except WaitForPredecessor as wait:
            log.debug("%s", wait)
            raise dramatiq.Retry(delay=ORDER_WAIT_MS) from None
        except Exception:
            if message is not None:
                message.options[FAILURES_OPTION] = failures + 1  # travels with the retried message
            raise
        if outcome == DUPLICATE:
            log.info("event %s was already handled; repeat delivery ignored", event.id)
        elif outcome == PRUNED:
            log.info(
                "event %s was processed and pruned from the outbox; repeat delivery ignored",
                event.id,
            )
        return None

    return dramatiq.Actor(
        crm_deliver_event,
        broker=broker,
        actor_name=DELIVER_ACTOR,
        queue_name=queue,
        priority=0,
        options={},
    )
