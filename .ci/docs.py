#!/usr/bin/env python3
"""Build the documentation with every warning an error, then check its links.

    python3 .ci/docs.py [--out DIR] [--screenshot PAGE PNG ...]

Sphinx runs in nitpicky mode (-n: every cross-reference must resolve), with
-W --keep-going (all warnings are reported, and any fails the build), from
a fresh environment (-E).  The link check then reads every built HTML page
and follows each href and src that stays within the site: the file must
exist, and a #fragment must name an id (or an <a name>) in it.  External
links (http, https, mailto) are not followed; no network is needed.

--screenshot renders a built page (its path in the site, e.g. cli.html) to a
PNG with headless Chromium (Debian's chromium), as a reader's browser
shows it; docs/screenshots/ holds two made so.

Needs the `docs` extra (pip install -e '.[docs]') and an importable
pynng_core (installed, or PYTHONPATH=src after build_ext --inplace).
"""
import argparse
import html.parser
import os
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTERNAL_SCHEMES = {"http", "https", "mailto", "data", "javascript"}


class PageParser(html.parser.HTMLParser):
    """Collects a page's anchors (id=, <a name=>) and its links (href=, src=)."""

    def __init__(self):
        super().__init__()
        self.anchors = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.anchors.add(value)
            elif name in ("href", "src"):
                self.links.append(value)


def parse(path):
    parser = PageParser()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser


def check_links(site):
    """Every broken internal link as 'page: link (reason)'; and the counts."""
    pages = {}
    for folder, _, files in os.walk(site):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                pages[os.path.normpath(path)] = parse(path)
    broken = []
    checked = 0
    for page, parsed in sorted(pages.items()):
        for link in parsed.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme in EXTERNAL_SCHEMES or url.netloc:
                continue
            checked += 1
            target = page
            if url.path:
                target = os.path.normpath(os.path.join(os.path.dirname(page),
                                                       urllib.parse.unquote(url.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
            where = "%s: %s" % (os.path.relpath(page, site), link)
            if not os.path.isfile(target):
                broken.append(where + " (no such file)")
            elif url.fragment:
                anchors = pages[target].anchors if target in pages else set()
                if urllib.parse.unquote(url.fragment) not in anchors:
                    broken.append(where + " (no such anchor)")
    return broken, len(pages), checked


def screenshot(site, page, png):
    """``page`` of the built ``site`` as Chromium draws it, 1280 px wide."""
    subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1280,1700", "--screenshot=" + png,
                    "file://" + os.path.join(os.path.abspath(site), page)],
                   check=True, capture_output=True)
    print("%s: %s" % (page, png))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "_build", "html"))
    ap.add_argument("--screenshot", nargs=2, action="append", default=[],
                    metavar=("PAGE", "PNG"), help="render a built page to a PNG (Chromium)")
    args = ap.parse_args()

    import pynng_core
    print("documenting pynng_core %s from %s" % (pynng_core.__version__,
                                                 os.path.dirname(pynng_core.__file__)))
    started = time.monotonic()
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-E",
                            "-q", "-b", "html", os.path.join(ROOT, "docs"), args.out])
    if build.returncode:
        print("sphinx-build failed (status %d): the warnings are above" % build.returncode)
        return 1
    print("sphinx-build: no warnings (%.1f s)" % (time.monotonic() - started))

    broken, pages, checked = check_links(args.out)
    for line in broken:
        print("broken link: " + line)
    print("link check: %d internal links in %d pages, %d broken" % (checked, pages, len(broken)))
    if broken:
        return 1
    for page, png in args.screenshot:
        screenshot(args.out, page, png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
