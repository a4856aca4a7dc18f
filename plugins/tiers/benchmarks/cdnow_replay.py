"""Replay CDNOW purchases (shared/data/cdnow) through the kernel with loyalty alone and with loyalty + tiers, on
SQLite; print purchases/s of each, the ratio (what tiers costs on top of loyalty), the evaluation time, and
check the tier counts against the independent computation of tests/test_cdnow.py before printing.

Run: CRMCORE_PLUGINS_ONLY=loyalty,tiers .venv/bin/python plugins/tiers/benchmarks/cdnow_replay.py [--customers N]
(default 1000 customers ≈ 3,000 purchases; --customers all for the whole file, several minutes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def run(rows, plugins: list[str], directory: str) -> tuple[float, float | None, object]:
    import test_cdnow as cd
    from crmcore_loyalty import api as loyalty  # noqa: F401  (loyalty must be installed)

    from crmcore.api import CRM
    from crmcore.testing import FrozenClock
    from crmcore.testing.database import migrate_all

    url = f"sqlite:///{directory}/{'-'.join(plugins)}.db"
    migrate_all(url)
    app = CRM(url, plugins=plugins, clock=FrozenClock())
    program = cd.PROGRAM if "tiers" in plugins else cd.PROGRAM.split("[[tiers]]")[0]
    from click.testing import CliRunner

    from crmcore.testing import cli

    path = Path(directory) / "program.toml"
    path.write_text(program, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", url, "plugins", "enable", "loyalty"])
    if "tiers" in plugins:
        CliRunner().invoke(cli, ["--db", url, "plugins", "enable", "tiers"])
    result = CliRunner().invoke(cli, ["--db", url, "loyalty", "program", "load", str(path)])
    assert result.exit_code == 0, result.output
    started = time.perf_counter()
    cd.replay(app, rows)
    replay_s = time.perf_counter() - started
    evaluate_s = None
    if "tiers" in plugins:
        from crmcore_tiers.evaluation import evaluate

        started = time.perf_counter()
        with app.unit_of_work() as uow:
            evaluate(uow, cd.AS_OF)
        evaluate_s = time.perf_counter() - started
    return replay_s, evaluate_s, app


def main() -> None:
    import test_cdnow as cd

    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", default="1000", help="customers 1..N, or 'all' (23,570)")
    args = parser.parse_args()
    path = cd.cdnow_file()
    if path is None:
        raise SystemExit("shared/data/cdnow/CDNOW_master.txt not found beside the repository")
    rows = cd.read_rows(path, None if args.customers == "all" else int(args.customers))
    print(
        f"CDNOW: {len(rows):,} purchases by {len({r[0] for r in rows}):,} customers, SQLite, 2,500 per unit of work"
    )
    with tempfile.TemporaryDirectory() as directory:
        base_s, _, base_app = run(rows, ["loyalty"], directory)
        tiers_s, eval_s, app = run(rows, ["loyalty", "tiers"], directory)
        from crmcore.api import ReportParams, run_report

        want, _ups, _downs = cd.expected(rows)
        with app.unit_of_work(readonly=True) as uow:
            got = {
                r[0]: r[4]
                for r in run_report(uow, "tiers.members", ReportParams(end=cd.AS_OF))["rows"]
            }
        assert got == dict(want), (got, want)
        base_app.dispose()
        app.dispose()
    print(f"loyalty alone:    {base_s:7.1f} s  {len(rows) / base_s:8.0f} purchases/s")
    print(
        f"loyalty + tiers:  {tiers_s:7.1f} s  {len(rows) / tiers_s:8.0f} purchases/s  "
        f"(ratio {tiers_s / base_s:.2f}× the loyalty-only replay)"
    )
    print(
        f"evaluation as of {cd.AS_OF}: {eval_s:.2f} s; tier counts {dict(sorted(got.items()))} "
        "= the independent computation"
    )


if __name__ == "__main__":
    main()
