"""Bulk import, export and data quality: customers and interaction histories from CSV and XLSX.

- :func:`import_customers` — ``crm customers import``: validation with the kernel's rules, dedup by
  normalised phone / email / customer code, merge rules, errors file.
- :func:`import_interactions` — ``crm interactions import``: histories announced like live recording.
- :func:`export_customers` — ``crm customers export``, which import reads back.
- :func:`find_duplicates`, :func:`merge_certain_duplicates` — ``crm customers duplicates``.
"""

from .customers import import_customers  # noqa: F401
from .duplicates import find_duplicates, merge_certain_duplicates  # noqa: F401
from .export import export_customers  # noqa: F401
from .interactions import import_interactions  # noqa: F401
from .summary import ImportSummary, Rejection  # noqa: F401
