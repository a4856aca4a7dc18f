"""``crm {{ cookiecutter.plugin_name }} …``"""
import click

from crmcore.api import echo_json, get_app


@click.group("{{ cookiecutter.plugin_name }}")
def {{ cookiecutter.plugin_name }}():
    """{{ cookiecutter.description }}"""


@{{ cookiecutter.plugin_name }}.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def show(customer, as_json):
    """What this plugin knows about CUSTOMER (id, external id, phone or email)."""
    from crmcore.api import resolve_customer

    from . import service

    with get_app().unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        data = {"customer_id": c.id, **service.summary(uow, c.id)}
    if as_json:
        echo_json(data)
    else:
        for event, count in sorted(data["events"].items()):
            click.echo(f"{event}\t{count}")


@{{ cookiecutter.plugin_name }}.command("events")
@click.option("--json", "as_json", is_flag=True)
def events(as_json):
    """How often each event was noted, over all customers."""
    from . import service

    with get_app().unit_of_work(readonly=True) as uow:
        data = service.totals(uow)
    if as_json:
        echo_json(data)
    elif not data["events"]:
        click.echo("no events noted yet")
    else:
        for event, count in sorted(data["events"].items()):
            click.echo(f"{event}\t{count}")
