import shutil
from pathlib import Path

package = Path("{{ cookiecutter.package_name }}")
if "{{ cookiecutter.has_tables }}" != "yes":
    (package / "models.py").unlink()
    shutil.rmtree(package / "migrations")
