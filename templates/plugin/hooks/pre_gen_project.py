import re
import sys

name = "{{ cookiecutter.plugin_name }}"
events = [e.strip() for e in "{{ cookiecutter.handles_events }}".split(",") if e.strip()]
KNOWN = {"customer_created", "customer_updated", "customers_merged", "customer_forgotten", "interaction_recorded"}
if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name):
    sys.exit(f"plugin_name {name!r} must be lower case letters, digits and _ (2-31 characters, starting with a letter)")
unknown = [e for e in events if e not in KNOWN]
if unknown:
    sys.exit(f"unknown kernel event(s) {', '.join(unknown)}; choose from {', '.join(sorted(KNOWN))}")
