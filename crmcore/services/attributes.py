"""Custom customer attributes, validated by specs that plugins contribute (hook ``crm_customer_attributes``).

Numbers are read as people type them: Persian and Arabic-Indic digits, the Persian decimal separator (٫) and
an optional sign; thousands separators, underscores, ``NaN`` and infinities are refused (they are not what a
person means by a number, and NaN would not survive as JSON). Two plugins declaring the same attribute name
with different specs is refused with both names: one would silently override the other's rules.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import attrs

from ..domain.text import check_text, to_ascii_digits
from ..errors import PluginError, ValidationError

_WHOLE = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _number_text(value: Any) -> str:
    """``value`` as plain ASCII number text: Persian/Arabic digits and the Persian decimal separator mapped."""
    if isinstance(value, bool):  # True is an int to Python, not a number to a person
        return str(value)
    return to_ascii_digits(str(value)).strip().replace("\u066b", ".")


TYPES = ("str", "int", "bool", "date", "decimal")


@attrs.frozen
class AttributeSpec:
    name: str
    type: str = "str"
    choices: tuple[str, ...] | None = None
    required: bool = False
    help: str = ""

    def clean(self, value: Any) -> Any:
        """Return the JSON form of ``value`` or raise :class:`ValidationError`."""
        field = f"attributes.{self.name}"
        if value is None or value == "":
            if self.required:
                raise ValidationError("a value is required", field=field)
            return None
        if self.type == "str":
            value = check_text(str(value), field)
        elif self.type == "int":
            text = _number_text(value)
            if not _WHOLE.fullmatch(text):
                raise ValidationError(f"{value!r} is not a whole number", field=field)
            value = int(text)
        elif self.type == "bool":
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "y", "بله", "on"):
                value = True
            elif text in ("0", "false", "no", "n", "خیر", "off"):
                value = False
            else:
                raise ValidationError(f"{value!r} is not yes/no", field=field)
        elif self.type == "date":
            from ..domain.dates import parse_date

            value = parse_date(value, field=field).isoformat()
        elif self.type == "decimal":
            text = _number_text(value)
            if not _NUMBER.fullmatch(text):
                raise ValidationError(f"{value!r} is not a number", field=field)
            value = str(Decimal(text))
        if self.choices and str(value) not in self.choices:
            raise ValidationError(f"{value!r} is not one of {', '.join(self.choices)}", field=field)
        return value


def attribute_specs(uow) -> dict[str, AttributeSpec]:
    """Every declared attribute by name; :class:`PluginError` when two plugins declare one name differently."""
    specs: dict[str, AttributeSpec] = {}
    owners: dict[str, str] = {}
    caller = uow.plugins.hook.crm_customer_attributes
    for (
        impl
    ) in caller.get_hookimpls():  # registration order: the error names the earlier plugin first
        if impl.hookwrapper or impl.wrapper:
            continue
        group = uow.plugins.call_one(impl, "crm_customer_attributes", uow=uow)
        for spec in group or ():
            known = specs.get(spec.name)
            if known is not None and known != spec:
                raise PluginError(
                    f"attribute {spec.name!r} is declared by both {owners[spec.name]!r} and "
                    f"{impl.plugin_name!r} with different rules; one would silently override the "
                    "other: rename one of them or disable one plugin",
                    field=f"attributes.{spec.name}",
                )
            specs.setdefault(spec.name, spec)
            owners.setdefault(spec.name, impl.plugin_name)
    return specs


def clean_attributes(
    uow, values: dict[str, Any], *, specs: dict[str, AttributeSpec] | None = None
) -> dict[str, Any]:
    """``values`` checked and converted by the enabled plugins' attribute specs (``specs``: as
    :func:`attribute_specs` gave them earlier in this unit of work; an import asks once)."""
    if specs is None:
        specs = attribute_specs(uow)
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none are declared by the enabled plugins"
            raise ValidationError(
                f"unknown attribute {name!r} (known: {known})", field=f"attributes.{name}"
            )
        cleaned[name] = spec.clean(value)
    return cleaned
