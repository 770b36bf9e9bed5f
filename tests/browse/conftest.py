"""Session fixtures: the publishing tests' simulated store, published and built into a site through
the real CLI, served on 127.0.0.1, and a headless Chromium (Debian's) driven by Playwright."""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest


CHROMIUM = "/usr/bin/chromium"
#: no outside traffic from the browser itself (updates, sync, QUIC probes)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def hubscan(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "hubscan.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def cohort(results_cohort):
    """The publishing tests' simulated results store (tests/conftest.py)."""
    return results_cohort


@pytest.fixture(scope="session")
def release(published):
    """The publishing tests' release of that store (tests/conftest.py), published once."""
    return published[0]


@pytest.fixture(scope="session")
def built(release, tmp_path_factory):
    """(site folder, completed process) of `hubscan --log-level DEBUG browse RELEASE --out SITE`."""
    out = tmp_path_factory.mktemp("site") / "site"
    proc = hubscan("--log-level", "DEBUG", "browse", release, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="session")
def site(built):
    return built[0]


@pytest.fixture(scope="session")
def server(site):
    from gwas.browse.serve import make_server

    srv = make_server(site, 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(f"headless Chromium not found at {CHROMIUM} (Debian: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download needed)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory):
    """Folder of the pages' screenshots: $HUBSCAN_SCREENSHOTS when set (kept), else one in pytest's
    temporary folder (pytest keeps the last 3 runs of the machine). Printed with -s."""
    where = os.environ.get("HUBSCAN_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture
def page(browser, server):
    """A fresh page whose every request is recorded; any request not to 127.0.0.1 is aborted (and
    recorded, so a test sees it)."""
    from urllib.parse import urlparse

    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    requests, errors = [], []

    def route(r):
        requests.append(r.request.url)
        host = urlparse(r.request.url).hostname
        if host == "127.0.0.1" or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.requests, pg.errors, pg.base = requests, errors, server
    yield pg
    context.close()
