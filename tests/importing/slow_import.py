"""Run an import in its own process, slowed down after every batch, so a test can kill it mid-file.

python slow_import.py URL customers|interactions FILE CHUNK_ROWS BATCH SECONDS_PER_BATCH
[ERRORS_FILE]"""

import sys
import time


def main(
    url: str, kind: str, path: str, chunk_rows: str, batch: str, delay: str, errors: str = ""
) -> None:
    from crmcore.app import CRM
    from crmcore.importing import import_customers, import_interactions

    app = CRM(url)
    run = import_customers if kind == "customers" else import_interactions
    run(
        app,
        path,
        chunk_rows=int(chunk_rows),
        batch_size=int(batch),
        progress=lambda *_: time.sleep(float(delay)),
        errors_path=errors or None,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
