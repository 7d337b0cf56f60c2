#!/usr/bin/env python3
"""Checks the verification package's index.html in a real browser (headless Chromium).

Opens the page from disk (file://, with "?check" so that the lazy chips load at once), lets its
script settle, and reads the DOM Chromium dumps:
  - the parcel tables (table.parcels) hold ROWS rows (tr[data-parcel-id]) in all;
  - body data-ready="1", data-chips-failed="0" and data-chips-loaded = 2 x ROWS (--chips-per-row);
then saves a screenshot (1280 x 2000) when --screenshot is given.

Usage:
  check_html.py INDEX_HTML ROWS [--screenshot PNG] [--chips-per-row N]
  check_html.py --run WEIPIAN CONFIG ROWS [--screenshot PNG] [--chips-per-row N]
      runs `WEIPIAN run --config CONFIG --out <temp folder>` first and checks its index.html.
Exit 0 when every check holds, and with "skipped: chromium not installed" when Debian's chromium
is absent; 1 when a check fails; 2 on wrong usage.
Python 3 standard library only.
"""
import html.parser
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

BUDGET_MS = 20000


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.rows = 0
        self.tables = []  # (data-township, rows)
        self._in_tbody = False
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'body':
            self.body = a
        elif tag == 'table' and 'parcels' in (a.get('class') or '').split():
            self._in_table = True
            self.tables.append([a.get('data-township', ''), 0])
        elif tag == 'tbody' and self._in_table:
            self._in_tbody = True
        elif tag == 'tr' and self._in_tbody and 'data-parcel-id' in a:
            self.rows += 1
            self.tables[-1][1] += 1

    def handle_endtag(self, tag):
        if tag == 'tbody':
            self._in_tbody = False
        elif tag == 'table':
            self._in_table = False


def chromium():
    for name in ('chromium', 'chromium-browser'):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(browser, profile, *args):
    cmd = [browser, '--headless', '--disable-gpu', '--no-sandbox', '--hide-scrollbars',
           '--user-data-dir=' + profile, '--virtual-time-budget=%d' % BUDGET_MS, *args]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode('utf-8', 'replace'))
        raise SystemExit('check_html: chromium failed (exit %d): %s' % (done.returncode, ' '.join(cmd)))
    return done.stdout.decode('utf-8', 'replace')


def check(index, rows, screenshot, chips_per_row):
    browser = chromium()
    if not browser:
        print('skipped: chromium not installed')
        return 0
    index = pathlib.Path(index).resolve()
    if not index.is_file():
        print('check_html: FAIL: %s does not exist (is the verification package written? output.html)' % index)
        return 1
    url = index.as_uri() + '?check=1'
    with tempfile.TemporaryDirectory(prefix='weipian-chromium-') as profile:
        dom = Dom()
        dom.feed(run_chromium(browser, profile, '--dump-dom', url))
        failures = []
        if dom.rows != rows:
            failures.append('%d table rows, expected %d (%s)' % (dom.rows, rows, ', '.join('%s: %d' % (t, n) for t, n in dom.tables)))
        if dom.body.get('data-ready') != '1':
            failures.append('the page did not settle (body data-ready=%r)' % dom.body.get('data-ready'))
        loaded, failed = dom.body.get('data-chips-loaded'), dom.body.get('data-chips-failed')
        if failed != '0':
            failures.append('chips failed to load: data-chips-failed=%r' % failed)
        if loaded != str(chips_per_row * rows):
            failures.append('data-chips-loaded=%r, expected %d' % (loaded, chips_per_row * rows))
        if screenshot:
            shot = pathlib.Path(screenshot).resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            run_chromium(browser, profile, '--screenshot=' + str(shot), '--window-size=1280,2000', url)
            if not shot.is_file() or shot.stat().st_size == 0:
                failures.append('no screenshot at %s' % shot)
            else:
                print('screenshot: %s' % shot)
    if failures:
        for f in failures:
            print('check_html: FAIL: %s: %s' % (index, f))
        return 1
    print('check_html: ok: %s: %d rows in %d tables, %s chips loaded, 0 failed' % (index, dom.rows, len(dom.tables), loaded))
    return 0


def main(argv):
    args, screenshot, chips_per_row, run = [], None, 2, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--screenshot' and i + 1 < len(argv):
            screenshot = argv[i + 1]; i += 2
        elif a == '--chips-per-row' and i + 1 < len(argv):
            chips_per_row = int(argv[i + 1]); i += 2
        elif a == '--run' and i + 2 < len(argv):
            run = (argv[i + 1], argv[i + 2]); i += 3
        elif a.startswith('-'):
            print(__doc__); return 2
        else:
            args.append(a); i += 1
    if (run and len(args) != 1) or (not run and len(args) != 2):
        print(__doc__)
        return 2
    if run:
        if not chromium():
            print('skipped: chromium not installed')
            return 0
        weipian, config = run
        with tempfile.TemporaryDirectory(prefix='weipian-check-html-') as temp:
            out = os.path.join(temp, 'out')
            done = subprocess.run([weipian, 'run', '--config', config, '--out', out], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=600)
            if done.returncode != 0:
                sys.stdout.write(done.stdout.decode('utf-8', 'replace'))
                print('check_html: FAIL: weipian run exited %d' % done.returncode)
                return 1
            return check(os.path.join(out, 'index.html'), int(args[0]), screenshot, chips_per_row)
    return check(args[0], int(args[1]), screenshot, chips_per_row)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
