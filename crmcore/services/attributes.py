"""Custom customer attributes, validated by specs that plugins contribute (hook ``crm_customer_attributes``)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ..errors import ValidationError

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
            value = str(value)
        elif self.type == "int":
            try:
                value = int(str(value))
            except ValueError:
                raise ValidationError(f"{value!r} is not a whole number", field=field) from None
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
            try:
                value = str(Decimal(str(value)))
            except InvalidOperation:
                raise ValidationError(f"{value!r} is not a number", field=field) from None
        if self.choices and str(value) not in self.choices:
            raise ValidationError(f"{value!r} is not one of {', '.join(self.choices)}", field=field)
        return value


def attribute_specs(uow) -> dict[str, AttributeSpec]:
    specs: dict[str, AttributeSpec] = {}
    for group in uow.call("crm_customer_attributes"):
        for spec in group or ():
            specs[spec.name] = spec
    return specs


def clean_attributes(uow, values: dict[str, Any]) -> dict[str, Any]:
    specs = attribute_specs(uow)
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none are declared by the enabled plugins"
            raise ValidationError(f"unknown attribute {name!r} (known: {known})", field=f"attributes.{name}")
        cleaned[name] = spec.clean(value)
    return cleaned
