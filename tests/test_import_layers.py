"""The import rules of the architecture, checked on the source: the kernel imports no plugin; a
plugin imports the kernel only through ``crmcore.api`` (and ``crmcore.testing`` in its tests) and
another plugin only through the ``api`` module of a plugin it requires."""

from __future__ import annotations

import ast
import pathlib

import pytest

from crmcore.plugin_host import installed_manifests

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNEL_PUBLIC = {"crmcore.api"}
TEST_PUBLIC = KERNEL_PUBLIC | {"crmcore.testing"}


def imported_modules(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if "." not in node.module and node.module.startswith("crmcore_"):
                # ``from crmcore_loyalty import api``: a module of the package, by name
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_the_kernel_imports_no_plugin():
    plugins = {m.package for m in installed_manifests().values()}
    wrong = [
        f"{f.relative_to(ROOT)}:{line} imports {mod}"
        for f in (ROOT / "crmcore").rglob("*.py")
        for line, mod in imported_modules(f)
        if mod.split(".")[0] in plugins
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(installed_manifests()))
def test_a_plugin_imports_only_the_public_api(name):
    manifests = installed_manifests()
    manifest = manifests[name]
    packages = {m.package: n for n, m in manifests.items()}
    package_dir = ROOT / "plugins" / name
    if not package_dir.is_dir():
        pytest.skip(f"{name} is not a plugin of this repository")
    wrong = []
    for f in package_dir.rglob("*.py"):
        in_tests = "tests" in f.relative_to(package_dir).parts[:1] or "benchmarks" in f.parts
        allowed = TEST_PUBLIC if in_tests else KERNEL_PUBLIC
        for line, mod in imported_modules(f):
            top = mod.split(".")[0]
            where = f"{f.relative_to(ROOT)}:{line} imports {mod}"
            if (
                top == "crmcore"
                and mod != "crmcore"
                and not any(mod == ok or mod.startswith(ok + ".") for ok in allowed)
            ):
                wrong.append(where)
            elif top == "crmcore" and mod == "crmcore":
                wrong.append(where + " (import names from crmcore.api)")
            elif top in packages and top != manifest.package:
                other = packages[top]
                if in_tests:
                    continue  # a plugin's tests may set up the plugins it works with
                declared = manifest.requires + manifest.uses
                if other not in declared or mod != f"{top}.api":
                    wrong.append(
                        where + f" (only the api of a plugin it requires or uses: "
                        f"{', '.join(declared) or 'none'})"
                    )
    assert not wrong, "\n".join(sorted(wrong))
