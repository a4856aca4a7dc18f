"""The pipeline's business logic, one import away: every function takes the unit of work first.

The implementations live in small modules: :mod:`.catalog` (defaults and lookups), :mod:`.stages`,
:mod:`.reps` (round-robin), :mod:`.leads`, :mod:`.deals`, :mod:`.targets` and :mod:`.board`.
"""

from .board import board  # noqa: F401
from .catalog import ensure_defaults, find_stage, get_pipeline, get_reason, get_source  # noqa: F401
from .deals import (  # noqa: F401
    ACTIVITY_KINDS,
    create_deal,
    deal_activities,
    deal_history,
    deal_to_dict,
    get_deal,
    history_to_dict,
    list_deals,
    log_activity,
    lose_deal,
    move_deal,
    reopen_deal,
    update_deal,
    weighted_minor,
    win_deal,
)
from .leads import convert_lead, create_lead, disqualify_lead, get_lead, lead_to_dict, list_leads  # noqa: F401
from .managed import add_reason, add_source, list_reasons, list_sources  # noqa: F401
from .reps import add_rep, choose_owner, get_rep, list_reps, next_rep, rep_to_dict, set_rep_active  # noqa: F401
from .stages import (  # noqa: F401
    add_stage,
    create_pipeline,
    list_pipelines,
    pipeline_to_dict,
    remove_stage,
    set_default_pipeline,
    update_stage,
)
from .targets import list_targets, set_target, target_to_dict  # noqa: F401
