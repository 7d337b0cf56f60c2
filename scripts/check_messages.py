#!/usr/bin/env python3
"""Enforces "every message a user can reach has a test".

Lists every user-facing error site in the sources (kernels/, pipeline/, ledger/, app/, bench/):
  - `throw SomeError(...)` for weipian's own error types (ConfigError, InputError, NoValidPixels,
    ...; InternalError and std:: exceptions are programmer errors and are skipped), and
  - calls of message helpers: functions declared [[noreturn]] (config's `fail(ctx, key, what)`,
    the ledger store's `fail(what)`, export's `cannot_write(out, what)`, outputs' `throw_fs`, ...)
    and lambdas that call one of them (config's `bad(why)` in parse_milestone). The throws inside
    a helper's own body are not sites themselves: their call sites are.
A site counts as tested when a file under tests/ contains one of its distinctive literal fragments
(a string literal of the message, trimmed of quotes/punctuation, at least 10 characters, and not a
stock phrase shared by 3 or more sites such as "; check that the folder is writable"), or, for a
fragment of 30 characters or more, its first 24+ characters up to a word boundary. A helper
call whose literals are all stock phrases (or that has none) falls back to the helper's own
fragments only if --lenient is given; otherwise it must be tested or allow-listed.

Sites no user can reach (a GDAL failure after the same call succeeded, a re-wrap of a message that
is listed at its own site) go in scripts/messages_allowlist.txt, one per line:
    FILE | SNIPPET | REASON
FILE is the source file name (no folder, so moves keep working), SNIPPET a piece of the throw or
helper call as written in the source (quotes and whitespace do not matter). Every entry needs a
reason.

Usage: check_messages.py [ROOT] [--list] [--strict]
  prints untested sites as `path:line: Kind: fragment` and the counts; exit 1 when any site is
  neither tested nor allow-listed (--strict: also when an allow-list entry matches no site).
  --list prints every site with its state (tested / allowed / UNTESTED).
"""
import pathlib
import re
import sys

SOURCE_DIRS = ('kernels', 'pipeline', 'ledger', 'app', 'bench')
SKIPPED_KINDS = {'InternalError'}  # std::* are skipped too
MIN_FRAGMENT = 10
STOCK_SITES = 3
PREFIX = 24
ADJACENT = re.compile(r'"[ \t]*\n\s*(?:u8)?"')

THROW = re.compile(r'\bthrow\s+([A-Za-z_][\w:]*)\s*\(')
LITERAL = re.compile(r'(?:u8)?"((?:[^"\\\n]|\\.)*)"')
NORETURN = re.compile(r'\[\[noreturn\]\]\s*(?:static\s+)?(?:inline\s+)?void\s+(?:\w+::)?(\w+)\s*\(')
LAMBDA = re.compile(r'\b(?:const\s+)?auto\s+(\w+)\s*=\s*\[[^\]]*\]\s*\([^)]*\)\s*(?:->\s*\w+\s*)?\{')
TRIM = ' \t\n\'":;,.()[]{}-—=+'


def strip_comments(text):
    """Blanks // and /* */ comments (keeping offsets and string literals)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "'" and i + 2 < n and (text[i + 1] != '\\' and text[i + 2] == "'"):
            out.append(text[i:i + 3])
            i += 3
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def matching(text, open_at, open_ch='(', close_ch=')'):
    """Index just past the bracket matching text[open_at], skipping string literals."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == '\\' else 1
        elif c == "'" and i + 2 < n and text[i + 2] == "'" and text[i + 1] != '\\':
            i += 2
        elif c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def fragments(call_text):
    out = []
    for raw in LITERAL.findall(call_text):
        text = raw.replace('\\"', '"').replace('\\n', '\n').replace('\\\\', '\\').strip(TRIM)
        if text:
            out.append(text)
    return out


class Site:
    def __init__(self, path, line, kind, call, frags, helper=None):
        self.path, self.line, self.kind, self.call, self.frags, self.helper = path, line, kind, call, frags, helper
        self.state = 'UNTESTED'
        self.matched = ''


def collect(root):
    files = sorted(p for d in SOURCE_DIRS if (root / d).is_dir() for p in (root / d).rglob('*.[ch]pp'))
    texts = {p: strip_comments(p.read_text(errors='replace')) for p in files}
    # 1. helpers: [[noreturn]] functions, then lambdas whose body calls one (to a fixed point).
    helpers, bodies = {}, []  # name -> fragments of its own throw; (path, start, end) of bodies
    for p, text in texts.items():
        for m in NORETURN.finditer(text):
            body_open = text.find('{', matching(text, m.end() - 1))
            semicolon = text.find(';', matching(text, m.end() - 1))
            if body_open < 0 or (0 <= semicolon < body_open):
                helpers.setdefault(m.group(1), [])  # a declaration; the definition is elsewhere
                continue
            end = matching(text, body_open, '{', '}')
            helpers[m.group(1)] = fragments(text[body_open:end])
            bodies.append((p, body_open, end))
    # Out-of-line definitions of helpers declared [[noreturn]] in a header (LedgerStore::fail).
    for p, text in texts.items():
        for name in list(helpers):
            for m in re.finditer(r'\bvoid\s+(?:\w+::)+' + re.escape(name) + r'\s*\(', text):
                close = matching(text, m.end() - 1)
                body_open = text.find('{', close)
                semicolon = text.find(';', close)
                if body_open < 0 or (0 <= semicolon < body_open):
                    continue
                end = matching(text, body_open, '{', '}')
                helpers[name] = helpers[name] or fragments(text[body_open:end])
                bodies.append((p, body_open, end))
    changed = True
    while changed:
        changed = False
        for p, text in texts.items():
            for m in LAMBDA.finditer(text):
                name = m.group(1)
                if name in helpers:
                    continue
                end = matching(text, m.end() - 1, '{', '}')
                body = text[m.end():end]
                # A lambda that forwards to a helper is a helper (config's `bad(why)`); one that
                # merely throws is not: its throws are sites of their own.
                if any(re.search(r'(?<![\w.>])' + re.escape(h) + r'\s*\(', body) for h in helpers):
                    helpers[name] = fragments(body)
                    bodies.append((p, m.end(), end))
                    changed = True
    helper_call = re.compile(r'(?<![\w:])(?:[\w\]\)]+(?:\.|->))?(' + '|'.join(map(re.escape, helpers)) + r')\s*\(') if helpers else None

    def preceding(text, pos):
        # A message built just before the throw (`range << "value " << text << ...; fail(ctx, key, range.str())`):
        # the literals of the two statements before it in the same block.
        start = text.rfind('{', 0, pos)
        block = text[start + 1:pos]
        statements = [x for x in block.split(';') if x.strip()]
        return [f for x in statements[-3:-1] + statements[-1:] for f in fragments(x)] if statements else []

    def inside_helper(p, pos):
        return any(bp == p and start <= pos < end for bp, start, end in bodies)

    def is_definition(text, m):
        before = text[max(0, m.start() - 40):m.start()]
        return re.search(r'(\]\]|void|auto|::)\s*$', before) is not None

    sites = []
    for p, text in texts.items():
        rel = p.relative_to(root)
        for m in THROW.finditer(text):
            kind = m.group(1)
            if kind in SKIPPED_KINDS or kind.startswith('std::'):
                continue
            if inside_helper(p, m.start()):
                continue
            end = matching(text, m.end() - 1)
            call = text[m.start():end]
            sites.append(Site(rel, text.count('\n', 0, m.start()) + 1, kind, call, fragments(call) or preceding(text, m.start())))
        if helper_call:
            for m in helper_call.finditer(text):
                if is_definition(text, m):
                    continue
                end = matching(text, m.end() - 1)
                call = text[m.start():end]
                if inside_helper(p, m.start()):
                    continue  # a helper forwarding to another helper: its own call sites count
                sites.append(Site(rel, text.count('\n', 0, m.start()) + 1, 'via ' + m.group(1) + '()', call,
                                  fragments(call) or preceding(text, m.start()), m.group(1)))
    return sites, helpers


def load_allowlist(path):
    entries = []
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        parts = [x.strip() for x in line.split('|')]
        if len(parts) < 3 or not parts[2]:
            sys.exit(f'{path}:{number}: expected "FILE | SNIPPET | REASON" with a reason')
        entries.append({'file': parts[0], 'snippet': ' '.join(parts[1].replace('"', '').split()), 'reason': '|'.join(parts[2:]), 'line': number, 'used': 0})
    return entries


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    root = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parent.parent)
    listing, strict, lenient = '--list' in argv, '--strict' in argv, '--lenient' in argv
    sites, helpers = collect(root)
    tests_dir = root / 'tests'
    corpus = '\n'.join(p.read_text(errors='replace') for p in sorted(tests_dir.rglob('*')) if p.is_file()) if tests_dir.is_dir() else ''
    corpus = ADJACENT.sub('', corpus)  # "one " "message" split over lines in a test reads as one literal
    # Stock phrases: fragments that several sites share say nothing about which site a test hit.
    from collections import Counter
    uses = Counter(f for s in sites for f in set(s.frags))
    allow = load_allowlist(root / 'scripts' / 'messages_allowlist.txt')

    def found(fragment):
        if fragment in corpus or fragment.replace('"', '\\"') in corpus:
            return True
        # A test may assert the start of a long fragment (the words that say what is wrong) and
        # leave out the rest, so that a reworded hint does not break it: PREFIX characters or
        # more, cut at a word boundary.
        if len(fragment) >= PREFIX + 6:
            cut = fragment.find(' ', PREFIX)
            head = fragment[:cut] if cut > 0 else fragment
            return head in corpus or head.replace('"', '\\"') in corpus
        return False

    for s in sites:
        distinctive = [f for f in s.frags if len(f) >= MIN_FRAGMENT and uses[f] < STOCK_SITES]
        if not distinctive and lenient and s.helper:
            distinctive = [f for f in helpers.get(s.helper, []) if len(f) >= MIN_FRAGMENT]
        hit = next((f for f in distinctive if found(f)), None)
        if hit:
            s.state, s.matched = 'tested', hit
        flat = ' '.join(s.call.replace('"', '').split())
        for e in allow:
            if s.path.name == e['file'] and e['snippet'] in flat:
                e['used'] += 1
                if not hit:
                    s.state, s.matched = 'allowed', e['reason']
    untested = [s for s in sites if s.state == 'UNTESTED']
    for s in sites if listing else untested:
        shown = [f for f in s.frags if uses[f] < STOCK_SITES] or s.frags
        best = max(shown, key=len) if shown else ' '.join(s.call.split())[:80]
        extra = f'  [{s.matched}]' if listing and s.matched else ''
        print(f'{s.path}:{s.line}: {s.state if listing else s.kind}: {best[:100]}{extra}')
    stale = [e for e in allow if not e['used']]
    for e in stale:
        print(f'scripts/messages_allowlist.txt:{e["line"]}: entry matches no site: {e["file"]} | {e["snippet"]}', file=sys.stderr)
    tested = sum(s.state == 'tested' for s in sites)
    allowed = sum(s.state == 'allowed' for s in sites)
    print(f'{tested}/{len(sites)} user-facing error sites have a test, {allowed} allow-listed as unreachable, '
          f'{len(untested)} untested', file=sys.stderr)
    if untested:
        print('each untested site needs a test asserting its message (tests/...), or an entry in '
              'scripts/messages_allowlist.txt saying why no user can reach it', file=sys.stderr)
    return 1 if untested or (strict and stale) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
