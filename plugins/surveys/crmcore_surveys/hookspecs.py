"""Events the surveys plugin announces (each is also written to the outbox under the same name)."""

from __future__ import annotations

from crmcore.api import hookspec


@hookspec
def surveys_survey_answered(uow, response):
    """A customer answered a survey invitation.

    :param response: the flushed :class:`crmcore_surveys.models.Response`: ``id``, ``customer_id``,
        ``survey_name``, ``version`` (the question set answered), ``answers`` (question key → value),
        ``score`` (the answer to the survey's first rating question, or ``None``), ``nps_score``,
        ``csat_score``, ``ces_score``, ``comment`` (the first free-text answer) and ``interaction_id`` (the
        ``survey_answer`` interaction recorded with it).
    :when: inside the answering unit of work (CLI, HTTP API or CSV import), after the response and its
        interaction are stored, before :func:`surveys_detractor`.
    """


@hookspec
def surveys_detractor(uow, response, customer):
    """A low score (NPS 0–6 or CSAT 1–2) asks for a follow-up; tickets turns it into a ticket.

    :param response: the :class:`crmcore_surveys.models.Response` (``id``, ``score``, ``comment``,
        ``survey_name``, ``nps_score``, ``csat_score``).
    :param customer: the :class:`crmcore.api.Customer` who answered.
    :return: whatever the implementation created for the follow-up (a ticket), or ``None``. When no
        implementation returns a result, the response is put on the surveys follow-up list
        (``crm surveys followups``) instead.
    :when: right after :func:`surveys_survey_answered`, in the same unit of work.
    """


@hookspec
def surveys_invitation_created(uow, invitation, customer, url_token, url):
    """An invitation is due to be sent: messaging sends it on the invitation's channel.

    :param invitation: the :class:`crmcore_surveys.models.Invitation` (``id``, ``survey_name``, ``channel``
        ``sms`` or ``email``, ``send_at``, ``expires_at``, ``trigger``).
    :param customer: the invited :class:`crmcore.api.Customer` (consent for the channel already checked).
    :param url_token: the unguessable token to put in the survey link (answers are recorded against it).
    :param url: the survey link built from ``crm surveys settings --link-template`` (the one link
        setting every channel uses), or ``None`` when no template is set.
    :return: what the implementation did with it, a dict:
        ``{"status": "queued", "log": EXTERNAL_ID}``
        when it queued a message (``log``: the ``external_id`` of the interaction it will write when
        the message is sent, whose payload ``status`` it keeps current: ``sent``, ``delivered``,
        ``failed``), or ``{"status": "blocked", "reason": "…"}`` when it could not; ``None`` when it
        has nothing to send this on. The invitation shows ``queued`` only when one implementation
        queued it, ``sent``/``delivered`` once that log entry says so, and ``created`` otherwise.
    :when: when the invitation is created if its survey has no delay, otherwise when the job
        ``surveys.send_due`` finds it due; once per invitation.
    """
