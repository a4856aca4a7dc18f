"""The OpenAPI description made exact where it depends on the enabled plugins (interaction kinds,
customer attributes), and the real ``Allow`` of a path answered with 405.

The description is checked by running schemathesis over it in the test suite
(tests/web/test_schemathesis.py): every request the schema allows must be accepted, and the
responses must be the ones it documents.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match


def _attribute_schema(spec) -> dict[str, Any]:
    from .api import DATE

    if spec.choices:
        schema: dict[str, Any] = {"type": "string", "enum": list(spec.choices)}
    else:
        schema = {
            "str": {"type": "string", "maxLength": 1000},
            "int": {"type": "integer", "minimum": -(10**15), "maximum": 10**15},
            "bool": {"type": "boolean"},
            "date": {"type": "string", "pattern": DATE},
            "decimal": {"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"},
        }.get(spec.type, {})
    schema = {**schema, "description": spec.help} if spec.help else schema
    return schema if spec.required else {"anyOf": [schema, {"type": "null"}]}


def exact_openapi(app, web) -> dict[str, Any]:
    """``app``'s OpenAPI schema with the enabled plugins' kinds and attributes (built once)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from ..services.attributes import attribute_specs
    from ..services.interactions import interaction_kinds

    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    with web.crm.unit_of_work(readonly=True) as uow:
        kinds = sorted(interaction_kinds(uow))
        specs = attribute_specs(uow)
    components = schema.get("components", {}).get("schemas", {})
    if "InteractionIn" in components:
        components["InteractionIn"]["properties"]["kind"]["enum"] = kinds
    attributes = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _attribute_schema(spec) for name, spec in sorted(specs.items())},
    }
    for model in ("CustomerIn", "CustomerPatch"):
        if model in components:
            prop = components[model]["properties"]["attributes"]
            keep = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
            if "anyOf" in prop:  # optional: the object or null
                nullable = {"anyOf": [attributes, {"type": "null"}]}
                components[model]["properties"]["attributes"] = {**keep, **nullable}
            else:
                components[model]["properties"]["attributes"] = {**keep, **attributes}
    app.openapi_schema = schema
    return schema


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app, scope) -> list[str]:
    """Every method some route of ``app`` serves at the path of ``scope`` (for ``Allow``)."""
    return [
        m
        for m in METHODS
        if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in app.router.routes)
    ]
