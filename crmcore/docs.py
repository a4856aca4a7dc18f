"""Generate the hook reference from the hook specifications' docstrings (``crm dev hooks-doc``)."""

from __future__ import annotations

import importlib
import inspect

from .hooks import PROJECT, SPEC_MODULES, spec_functions

HEADER = """# Hook reference

Generated from the hook specifications' docstrings by `crm dev hooks-doc --output docs/hooks.md`;
`tests/test_docs.py` fails when this file is not current. Do not edit by hand.

Implement a hook with `@crmcore.api.hookimpl` in the module your manifest names as `hooks`; every argument
is optional in an implementation (declare only those you use). Event hooks run inside the unit of work of
the command that caused them: raising rolls the whole command back and names your plugin.
"""


def _section(title: str, module) -> list[str]:
    out = [f"## {title}", ""]
    doc = inspect.getdoc(module)
    if doc:
        out += [doc, ""]
    for fn in spec_functions(module):
        opts = getattr(fn, f"{PROJECT}_spec")
        sig = str(inspect.signature(fn))
        out.append(f"### `{fn.__name__}{sig}`")
        out.append("")
        if opts.get("firstresult"):
            out += ["*firstresult: the first non-None result is used.*", ""]
        out.append(inspect.getdoc(fn) or "(undocumented)")
        out.append("")
    events = getattr(module, "OUTBOX_EVENTS", {})
    if events:
        out += [
            "### Outbox-only events (no hook is called; workers and triggers read them)",
            "",
            "| event | payload |",
            "| --- | --- |",
        ]
        out += [f"| `{name}` | {text} |" for name, text in events.items()]
        out.append("")
    return out


def hooks_markdown() -> str:
    from .plugin_host import installed_manifests

    lines = [HEADER]
    for modname in SPEC_MODULES:
        lines += _section(f"Kernel: `{modname}`", importlib.import_module(modname))
    for name, manifest in installed_manifests().items():
        if manifest.hookspecs:
            lines += _section(
                f"Plugin `{name}`: `{manifest.hookspecs}`",
                importlib.import_module(manifest.hookspecs),
            )
    return "\n".join(lines).rstrip() + "\n"
