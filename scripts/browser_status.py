"""One visible line saying whether the browser tests will run (never a silent skip)."""

import shutil

path = shutil.which("chromium") or shutil.which("chromium-browser")
if path:
    print(f"browser tests: running in headless Chromium ({path})")
else:
    print(
        "browser tests: NOT RUN - chromium is not installed "
        "(run `make browser-setup`, or see .ci/run); running everything else"
    )
