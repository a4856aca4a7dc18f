"""Hook implementations: what this plugin does when the kernel announces something."""
from __future__ import annotations

from crmcore.api import hookimpl

from . import service
{% set events = cookiecutter.handles_events.split(",") | map("trim") | select | list %}
{% if "customer_created" in events %}

@hookimpl
def crm_customer_created(uow, customer):
    """Note every new customer."""
    service.note_event(uow, customer.id, "customer_created", customer.display_name)
{% endif %}{% if "customer_updated" in events %}

@hookimpl
def crm_customer_updated(uow, customer, changes):
    """Note which fields changed."""
    service.note_event(uow, customer.id, "customer_updated", ", ".join(sorted(changes)))
{% endif %}{% if "interaction_recorded" in events %}

@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    """Note every interaction by kind."""
    service.note_event(uow, customer.id, "interaction_recorded", interaction.kind)
{% endif %}

@hookimpl
def crm_customer_profile(uow, customer):
    """The plugin's panel on the customer's 360° page and in ``crm customers show``."""
    from .profile import profile_panel

    return profile_panel(uow, customer)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    """Nothing to seed beyond reacting to the demo's events."""
    return ["{{ cookiecutter.plugin_name }}: ready"]
