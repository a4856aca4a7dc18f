"""Hook specifications of the kernel (the plugin API), and the markers plugins use.

Plugins implement hooks with :data:`hookimpl`; plugins that announce their own events declare them with
:data:`hookspec` in a ``hookspecs`` module named by their manifest. Hooks are grouped by purpose:

- :mod:`crmcore.hooks.lifecycle` — what a plugin contributes: reports, jobs, search fields, demo data…
- :mod:`crmcore.hooks.events` — domain events, called inside the unit of work (raising rolls it back).
- :mod:`crmcore.hooks.web` — routes, pages, panels, boards and menu entries of the web interface.
- :mod:`crmcore.hooks.async_events` — work done after commit by the background workers.
"""

import pluggy

PROJECT = "crmcore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

SPEC_MODULES = (
    "crmcore.hooks.lifecycle",
    "crmcore.hooks.events",
    "crmcore.hooks.web",
    "crmcore.hooks.async_events",
)


def spec_functions(module) -> list:
    """The hook specifications a module declares (``@hookspec`` functions), by name."""
    return [
        obj
        for name, obj in sorted(vars(module).items())
        if callable(obj) and getattr(obj, f"{PROJECT}_spec", None) is not None
    ]
