import pytest
from crmcore_loyalty import api
from crmcore_loyalty.program import parse_toml, validate_program
from crmcore_loyalty.testing import load, load_base

from crmcore.api import ValidationError, hookimpl


@pytest.mark.parametrize(
    "text, field, reason",
    [
        ("[program]\nnmae = 'x'", "program.nmae", "unknown key 'nmae'"),
        ("[bonus]\nx = 1", "bonus", "unknown section [bonus]"),
        (
            "[[rules]]\nname='b'\nkind='per_amount'\npoints=-1\nper='10000'",
            "rules[0].points",
            "at least 1",
        ),
        (
            "[[rules]]\nname='b'\nkind='per_amount'\npoints=1\nper='-10000'",
            "rules[0].per",
            "positive",
        ),
        (
            "[[rules]]\nname='b'\nkind='per_amount'\npoints=1.5\nper='10000'",
            "rules[0].points",
            "whole number",
        ),
        ("[[rules]]\nname='b'\nkind='magic'", "rules[0].kind", "not one of"),
        (
            "[[rules]]\nname='b'\nkind='per_amount'\npoints=1\nper='10000'\ncolour='red'",
            "rules[0].colour",
            "unknown key",
        ),
        ("[[rules]]\nname='m'\nkind='multiplier'\nfactor=1.5", "rules[0].factor", "as text"),
        ("[[rules]]\nname='m'\nkind='multiplier'\nfactor='-2'", "rules[0].factor", "positive"),
        (
            "[[rules]]\nname='t'\nkind='threshold'\nevery='500000'\nreward='nope'",
            "rules[0].reward",
            "no reward",
        ),
        ("[program]\nexpiry='soon'", "program.expiry", "not an expiry"),
        ("[program]\nspend_order='random'", "program.spend_order", "not one of"),
        (
            "[[rewards]]\ncode='x'\nkind='percent_discount'\npercent=120\ncost=5",
            "rewards[0].percent",
            "exceed 100",
        ),
        (
            "[[rules]]\nname='b'\nkind='per_amount'\npoints=1\nper='10000'\nstarts='1403-13-01'",
            "rules[0].starts",
            "",
        ),
        ("[program\nname='x'", "program", "not valid TOML"),
    ],
)
def test_bad_program_files_are_refused_with_the_key_and_nothing_is_stored(
    crm_app, text, field, reason
):
    with pytest.raises(ValidationError) as err:
        load(crm_app, text)
    assert err.value.field == field
    assert reason in str(err.value)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.active_program(uow).version is None


def test_versions_are_recorded_and_reloading_the_same_text_changes_nothing(crm_app):
    p1 = load_base(crm_app)
    again = load_base(crm_app)
    p2 = load_base(crm_app, "absorb")
    assert (p1.version, again.version, p2.version) == (1, 1, 2)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.active_program(uow).negative_balance == "absorb"


def test_the_sample_program_is_valid():
    from importlib import resources

    text = (
        resources.files("crmcore_loyalty.examples")
        .joinpath("program.toml")
        .read_text(encoding="utf-8")
    )
    p = validate_program(parse_toml(text), {})
    assert p.expiry.describe() == "12 months" and "free-tea" in p.rewards


def test_other_plugins_own_sections_through_the_hook(crm_app_factory):
    class Tiers:
        @hookimpl
        def loyalty_program_sections(self):
            def validate(raw):
                if not isinstance(raw, dict) or "levels" not in raw:
                    raise ValidationError("is required", field="levels")
                return tuple(raw["levels"])

            return {"tiers": validate}

    app = crm_app_factory(extra_plugins=[("tiers_fake", Tiers(), None)])
    with pytest.raises(ValidationError) as err:
        load(app, "[tiers]\nwindow = 12")
    assert err.value.field == "tiers.levels"
    load(app, "[tiers]\nlevels = ['silver', 'gold']")
    with app.unit_of_work(readonly=True) as uow:
        assert api.active_program(uow).sections["tiers"] == ("silver", "gold")
