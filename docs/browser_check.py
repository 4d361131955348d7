"""Check the built documentation as a reader would, in headless Chromium.

Usage::

    python docs/browser_check.py [docs/_build/html] [--screenshots DIR]

It serves the built site on a free localhost port and, with Debian's
``chromium`` and ``chromium-driver`` (``/usr/bin/chromedriver``) driven by
Selenium:

* loads the home page, a user-guide page, an API page and a gallery page, checks
  that each rendered (its title and main text are there, every image loaded,
  and on the user-guide page MathJax typeset the formulas) and that the
  JavaScript console logged no error, and saves a screenshot of each;
* runs the site's search for "contrastive divergence" and "DBNClassifier" and
  checks that each finds pages;
* checks that every internal link of every page resolves: the file exists
  (and is served), and a ``#fragment`` names an element of the target page.

Exits 0 when every check passed, 1 otherwise, printing one line per check and
a closing ``N passed, N failed`` line.  Nothing is fetched from the network:
the browser runs with its background networking off.
"""

import argparse
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, path in the site, text the page must show)
PAGES = [
    ("home", "index.html", "Restricted Boltzmann Machines"),
    ("user_guide", "user_guide/sampling.html", "contrastive divergence"),
    ("api", "api/generated/rbmlib.BernoulliRBM.html", "BernoulliRBM"),
    ("gallery", "auto_examples/rbm/rbm_digits_features.html", "BernoulliRBM"),
]
SEARCHES = [("contrastive divergence", "user_guide/sampling"), ("DBNClassifier", "rbmlib.DBNClassifier")]

CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000", "--hide-scrollbars",
]


class _Links(HTMLParser):
    """The ids and the outgoing href/src targets of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value is not None and not (tag == "a" and key == "src"):
                self.links.append((tag, value))


@functools.lru_cache(maxsize=None)
def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def site_pages(root):
    """The site's HTML pages (not the theme's templates copied into _static/)."""
    return [p for p in sorted(root.rglob("*.html"))
            if p.relative_to(root).parts[0] not in ("_static", "_sources")]


def check_links(root):
    """Every internal href/src of every page: (n_links, list of problems)."""
    problems = []
    n = 0
    for page in site_pages(root):
        for tag, link in _parse(page).links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            n += 1
            target = page if not parts.path else (page.parent / urllib.parse.unquote(parts.path))
            target = Path(os.path.normpath(target))
            if target.is_dir():
                target = target / "index.html"
            rel = page.relative_to(root)
            if root not in target.parents and target != root:
                problems.append(f"{rel}: {link} points outside the site")
            elif not target.is_file():
                problems.append(f"{rel}: {link} -> missing file")
            elif parts.fragment and target.suffix == ".html":
                fragment = urllib.parse.unquote(parts.fragment)
                if fragment not in _parse(target).ids:
                    problems.append(f"{rel}: {link} -> no element with id {fragment!r}")
    return n, problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # the browser closing a connection early (a cancelled font or image load)
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root):
    """Serve ``root`` on a free localhost port, in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def make_driver(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    # An explicit driver path: Selenium Manager is never asked to download one.
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def _console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _wait(predicate, timeout=20.0, step=0.2):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(step)


def _full_page_screenshot(driver, path):
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(1280, min(max(int(height), 1000), 2600))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=str(HERE / "_build" / "html"),
                        help="the built HTML folder (default: docs/_build/html)")
    parser.add_argument("--screenshots", default=None,
                        help="folder for the PNG screenshots (default: <site>/../screenshots)")
    args = parser.parse_args(argv)
    root = Path(args.site).resolve()
    if not (root / "index.html").is_file():
        print(f"no built site at {root}: build it first (make -C docs html)", file=sys.stderr)
        return 2
    shots = Path(args.screenshots) if args.screenshots else root.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    passed, failed = [], []

    def record(ok, what, detail=""):
        (passed if ok else failed).append(what)
        print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f": {detail}" if detail else ""))

    n_links, problems = check_links(root)
    n_pages = len(site_pages(root))
    record(not problems, f"internal links resolve ({n_links} links in {n_pages} pages)",
           "; ".join(problems[:20]) + (f" ... and {len(problems) - 20} more" if len(problems) > 20 else ""))

    server = serve(root)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    # every page is served (not only present on disk)
    bad = []
    for page in site_pages(root):
        url = base + urllib.parse.quote(page.relative_to(root).as_posix())
        with urllib.request.urlopen(url, timeout=10) as response:
            if response.status != 200:
                bad.append(f"{url}: {response.status}")
    record(not bad, f"every page is served over HTTP ({n_pages} pages)", "; ".join(bad[:10]))

    profile = tempfile.mkdtemp(prefix="rbmlib-docs-chromium-")
    driver = make_driver(profile)
    try:
        driver.set_page_load_timeout(60)
        for name, path, text in PAGES:
            driver.get(base + path)
            _wait(lambda: driver.execute_script("return document.readyState") == "complete")
            # MathJax and the theme's scripts run after load: let them finish.
            time.sleep(1.0)
            body = driver.find_element("tag name", "body").text
            title = driver.title
            ok = text.lower() in body.lower() and "rbmlib" in title
            record(ok, f"{name} page renders ({path})", f"title {title!r}" if not ok else "")
            broken = driver.execute_script(
                "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.getAttribute('src'));")
            n_images = driver.execute_script("return document.images.length;")
            record(not broken, f"{name} page: its {n_images} images load", "; ".join(broken[:5]))
            if name == "user_guide":
                # the formulas are typeset by the MathJax served from the site
                n_math = _wait(lambda: driver.execute_script(
                    "return document.querySelectorAll('mjx-container').length;"), timeout=20)
                record(bool(n_math), f"{name} page: MathJax typeset {n_math} formulas")
            errors = _console_errors(driver)
            record(not errors, f"{name} page: no JavaScript console errors", "; ".join(errors[:5]))
            shot = shots / f"{name}.png"
            _full_page_screenshot(driver, shot)
            record(shot.is_file() and shot.stat().st_size > 10_000,
                   f"{name} page: screenshot {shot}")
            if name == "gallery":
                # the example's output and first figure, further down the page
                found = driver.execute_script(
                    "const e = document.querySelector('.sphx-glr-script-out, img.sphx-glr-single-img');"
                    "if (e) { e.scrollIntoView(); return true; } return false;")
                out = shots / f"{name}_output.png"
                driver.set_window_size(1280, 1400)
                driver.save_screenshot(str(out))
                record(bool(found) and out.stat().st_size > 10_000,
                       f"{name} page: its output and figures, screenshot {out}")

        for query, expected in SEARCHES:
            driver.get(base + "search.html?q=" + urllib.parse.quote_plus(query))

            def results():
                return driver.execute_script(
                    "return Array.from(document.querySelectorAll('#search-results li a'))"
                    ".map(a => a.getAttribute('href'));")

            found = _wait(results, timeout=30)
            ok = bool(found) and any(expected in href for href in found)
            record(ok, f"search for {query!r} finds {expected}",
                   f"{len(found or [])} results: {(found or [])[:5]}")
            errors = _console_errors(driver)
            record(not errors, f"search page ({query!r}): no JavaScript console errors",
                   "; ".join(errors[:5]))
        _full_page_screenshot(driver, shots / "search.png")
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)

    # the closing line in the plain "N passed, N failed" form CI reads
    print(f"docs: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
