"""Compile every .po catalogue of the project to .mo with polib.

Django's compilemessages needs GNU gettext's msgfmt, which a fresh machine
with only python3 and make does not have; polib is pure Python.
"""

import pathlib
import sys

import polib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = {".venv", "node_modules", ".git"}


def main() -> int:
    count = 0
    for po_path in ROOT.rglob("locale/*/LC_MESSAGES/*.po"):
        if SKIP & set(po_path.relative_to(ROOT).parts):
            continue
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        catalogue.save_as_mofile(str(mo_path))
        count += 1
    print(f"compiled {count} message catalogue(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
