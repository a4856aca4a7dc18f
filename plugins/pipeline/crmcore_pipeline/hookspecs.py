"""Events the pipeline plugin announces (each is also written to the outbox under the same name)."""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "pipeline_deal_stale": (
        "An open deal has been idle longer than its stage allows (the stale job): ``deal_id``, "
        "``title``, ``stage``, ``idle_days``, ``owner``."
    ),
    "pipeline_lead_created": ("A lead was added: ``lead_id``, ``title``, ``source``, ``owner``."),
}


@hookspec
def pipeline_deal_stage_changed(uow, deal, old_stage, new_stage):
    """A deal entered another stage (a move, a win, a loss or a reopening).

    :param deal: the :class:`crmcore_pipeline.models.Deal`, already in ``new_stage`` and flushed.
    :param old_stage: the :class:`crmcore_pipeline.models.Stage` it left, or ``None`` when the deal was just
        created (its first stage).
    :param new_stage: the stage it entered.
    :when: inside the unit of work of the move, after the stage-history row is flushed. Winning or losing a
        deal calls this hook first, then :func:`pipeline_deal_won` / :func:`pipeline_deal_lost`.
    """


@hookspec
def pipeline_deal_won(uow, deal, reason):
    """A deal was won.

    :param deal: the :class:`crmcore_pipeline.models.Deal`, status ``won``, with its final amount and
        ``closed_at``.
    :param reason: the :class:`crmcore_pipeline.models.CloseReason` given, or ``None`` (optional for wins).
    :when: inside the unit of work of ``crm pipeline deals win``, after the deal is flushed.
    """


@hookspec
def pipeline_deal_lost(uow, deal, reason):
    """A deal was lost.

    :param deal: the :class:`crmcore_pipeline.models.Deal`, status ``lost``, with ``closed_at``.
    :param reason: the :class:`crmcore_pipeline.models.CloseReason` from the managed list (required).
    :when: inside the unit of work of ``crm pipeline deals lose``, after the deal is flushed.
    """
