"""``crm pipeline …``: the board, pipelines and stages; deals, leads and the managed lists live in the
sibling ``cli_*`` modules and are attached here."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app

from .cli_admin import reasons, reps, sources, targets
from .cli_deals import deals
from .cli_leads import leads
from .cli_show import render_board


@click.group()
def pipeline():
    """Sales pipeline: leads, deals, stages, the board, reps and targets."""


pipeline.add_command(deals)
pipeline.add_command(leads)
pipeline.add_command(reps)
pipeline.add_command(sources)
pipeline.add_command(reasons)
pipeline.add_command(targets)


@pipeline.command("board")
@click.option(
    "--pipeline", "pipeline_ref", metavar="CODE", help="Pipeline (default: the default pipeline)."
)
@click.option("--owner", metavar="USER", help="Only this rep's deals.")
@click.option(
    "--limit", type=click.IntRange(1), default=8, show_default=True, help="Deals shown per stage."
)
@click.option("--json", "as_json", is_flag=True)
def board_cmd(pipeline_ref, owner, limit, as_json):
    """The board: open deals as columns per stage, with counts and weighted totals."""
    from .board import board

    app = get_app()
    with app.unit_of_work() as uow:  # writable: seeds the default pipeline on first use
        data = board(uow, pipeline=pipeline_ref, owner=owner)
    if as_json:
        echo_json(data)
        return
    render_board(data, calendar=app.calendar, limit=limit)


@pipeline.group("stages")
def stages():
    """Pipelines and their ordered stages (each with a default win probability)."""


@stages.command("list")
@click.option("--pipeline", "pipeline_ref", metavar="CODE", help="Only this pipeline.")
@click.option("--json", "as_json", is_flag=True)
def stages_list(pipeline_ref, as_json):
    """Every pipeline and its stages, in order."""
    from .sales import records_purchase
    from .service import get_pipeline, list_pipelines, pipeline_to_dict

    with get_app().unit_of_work() as uow:
        pipes = [get_pipeline(uow, pipeline_ref)] if pipeline_ref else list_pipelines(uow)
        items = [
            {**pipeline_to_dict(p), "record_purchase": records_purchase(uow, p)} for p in pipes
        ]
    if as_json:
        echo_json(items)
        return
    from rich.table import Table

    from .cli_show import console

    for p in items:
        table = Table(
            "#",
            "code",
            "name",
            "name (en)",
            "probability",
            "kind",
            title=f"{p['name']} ({p['code']}){' — default' if p['default'] else ''}"
            f"{'' if p['record_purchase'] else ' — wins not recorded as purchases'}",
        )
        for s in p["stages"]:
            table.add_row(
                str(s["position"] + 1),
                s["code"],
                s["name"],
                s["name_en"] or "",
                f"{s['probability']}%",
                s["kind"],
            )
        console().print(table)


@stages.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--probability", required=True, metavar="PERCENT", help="Default win probability, 0–100."
)
@click.option("--name-en", help="English name.")
@click.option(
    "--before", metavar="STAGE", help="Place it before this stage (default: before won/lost)."
)
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
def stages_add(code, name, probability, name_en, before, pipeline_ref):
    """Add an open stage CODE named NAME."""
    from .service import add_stage

    with get_app().unit_of_work() as uow:
        stage = add_stage(
            uow, pipeline_ref, code, name, probability, name_en=name_en, before=before
        )
        click.echo(f"stage {stage.code} added at position {stage.position + 1}")


@stages.command("update")
@click.argument("stage")
@click.option("--name")
@click.option("--name-en")
@click.option("--probability", metavar="PERCENT")
@click.option("--before", metavar="STAGE", help="Move it before this stage.")
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
def stages_update(stage, name, name_en, probability, before, pipeline_ref):
    """Rename STAGE, change its default probability or move it."""
    from .service import update_stage

    with get_app().unit_of_work() as uow:
        changes = update_stage(
            uow,
            pipeline_ref,
            stage,
            name=name,
            name_en=name_en,
            probability=probability,
            before=before,
        )
    click.echo(f"stage {stage} updated: {', '.join(changes) or 'nothing changed'}")


@stages.command("remove")
@click.argument("stage")
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
def stages_remove(stage, pipeline_ref):
    """Remove an unused open stage."""
    from .service import remove_stage

    with get_app().unit_of_work() as uow:
        remove_stage(uow, pipeline_ref, stage)
    click.echo(f"stage {stage} removed")


@stages.command("add-pipeline")
@click.argument("code")
@click.argument("name")
@click.option("--default", "make_default", is_flag=True, help="Make it the default pipeline.")
def stages_add_pipeline(code, name, make_default):
    """Create pipeline CODE named NAME (with its won and lost stages); then add stages to it."""
    from .service import create_pipeline

    with get_app().unit_of_work() as uow:
        p = create_pipeline(uow, code, name, default=make_default)
    click.echo(
        f"pipeline {p.code} created; add stages: crm pipeline stages add CODE NAME --probability P "
        f"--pipeline {p.code}"
    )


@stages.command("record-purchase")
@click.argument("pipeline_ref", metavar="PIPELINE")
@click.argument("state", type=click.Choice(["on", "off"]))
def stages_record_purchase(pipeline_ref, state):
    """Whether winning a deal of PIPELINE records a purchase for its customer (on by default)."""
    from .sales import set_records_purchase

    with get_app().unit_of_work() as uow:
        p = set_records_purchase(uow, pipeline_ref, state == "on")
    click.echo(
        f"won deals of pipeline {p.code} {'are' if state == 'on' else 'are not'} "
        "recorded as purchases"
    )


@stages.command("set-default")
@click.argument("pipeline_ref", metavar="PIPELINE")
def stages_set_default(pipeline_ref):
    """Make PIPELINE the default for new deals."""
    from .service import set_default_pipeline

    with get_app().unit_of_work() as uow:
        p = set_default_pipeline(uow, pipeline_ref)
    click.echo(f"pipeline {p.code} is the default")
