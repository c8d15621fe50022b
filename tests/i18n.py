"""The interface's strings as the code and templates ask for them, read without
GNU gettext (a fresh machine has only python3): Python files through `ast`,
templates through Django's own `templatize` (what makemessages feeds xgettext).

`used_messages()` -> {(context, msgid): [where, ...]}; plural forms are keyed by
their singular, as in a catalogue.
"""

from __future__ import annotations

import ast
import pathlib
import re
from collections import defaultdict

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ["pacnam", "branches", "members", "meetings", "overview", "devtools"]
SKIP_PARTS = {"migrations", "locale", "tests", ".venv", "__pycache__"}

# name -> (index of the context argument or None, index of the msgid argument)
FUNCTIONS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
CALL = re.compile(r"\b(" + "|".join(sorted(FUNCTIONS, key=len, reverse=True)) + r")\(")


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _from_call(node: ast.Call):
    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
    if name not in FUNCTIONS:
        return None
    context_index, msgid_index = FUNCTIONS[name]
    if len(node.args) <= msgid_index:
        return None
    msgid = _literal(node.args[msgid_index])
    context = _literal(node.args[context_index]) if context_index is not None else None
    if msgid is None or (context_index is not None and context is None):
        return None
    return context, msgid


def _python_messages(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found = _from_call(node)
            if found:
                yield found


def _template_messages(path: pathlib.Path):
    from django.utils.translation.template import templatize

    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for match in CALL.finditer(code):
        # The call ends at the first closing parenthesis after which it parses.
        start = match.start()
        end = code.find(")", match.end())
        while end != -1:
            try:
                node = ast.parse(code[start : end + 1], mode="eval").body
            except SyntaxError:
                end = code.find(")", end + 1)
                continue
            found = _from_call(node) if isinstance(node, ast.Call) else None
            if found:
                yield found
            break


def used_messages() -> dict[tuple[str | None, str], list[str]]:
    used: dict = defaultdict(list)
    files = [p for app in APPS for p in (ROOT / app).rglob("*.py")]
    templates = list((ROOT / "templates").rglob("*.html")) + [
        p for app in APPS for p in (ROOT / app).rglob("*.html")
    ]
    for path in files + templates:
        if SKIP_PARTS & set(path.relative_to(ROOT).parts):
            continue
        reader = _python_messages if path.suffix == ".py" else _template_messages
        for key in reader(path):
            used[key].append(str(path.relative_to(ROOT)))
    return dict(used)
