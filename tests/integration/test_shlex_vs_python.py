"""shlex_split() against the real thing: Debian's /usr/bin/python3
shlex.split(s) must give the same words (or the same error message) as
tests/unit/shlex-split on thousands of generated strings (fixed seed).
The helper binary is looked up in $OWCTL_BUILD (default "build").
"""

import os
import random
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = 20240611


def split_binary():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "shlex-split"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


def ours(strings):
    """[list of words | ("E", message)] for each string, from the helper."""
    data = b"".join(s.encode("utf-8") + b"\0" for s in strings)
    proc = subprocess.run([split_binary()], input=data, capture_output=True,
                          check=True, timeout=300)
    fields = proc.stdout.split(b"\0")
    assert fields.pop() == b""
    it = iter(f.decode("utf-8") for f in fields)
    results = []
    for head in it:
        if head == "E":
            results.append(("E", next(it)))
        else:
            results.append([next(it) for _ in range(int(head))])
    assert len(results) == len(strings)
    return results


def python(s):
    try:
        return shlex.split(s)
    except ValueError as e:
        return ("E", str(e))


ALPHABET = (["a", "b", "z", "0", "-", "=", "_", "."] * 3 +
            [" ", " ", "\t", "\r", "\n", "\v", "\f"] +
            ["'", "'", '"', '"', "\\", "\\", "\\"] +
            [" ''", ' ""', "\\\\", '\\"', "\\'", "\\ "] +
            ["$", "`", "#", "!", ";", "|", "&", "*", "~", "(", ")"] +
            ["\u00e9", "\u00a0", "\u2028", "\U0001f600", "\u4e2d"])


def generate(r, count):
    out = []
    for _ in range(count):
        n = r.choice([0, 1, 2, 3, 5, 8, 13, 30])
        out.append("".join(r.choice(ALPHABET) for _ in range(n)))
    return out


def test_random_strings_match_python():
    r = random.Random(SEED)
    strings = generate(r, 20000)
    want = [python(s) for s in strings]
    errors = sum(isinstance(w, tuple) for w in want)
    empties = sum(isinstance(w, list) and "" in w for w in want)
    assert 2000 < errors < 18000    # both outcomes are exercised
    assert empties > 100            # '' and "" words too
    got = ours(strings)
    bad = [(s, g, w) for s, g, w in zip(strings, got, want) if g != w]
    assert not bad[:10], f"{len(bad)} mismatches of {len(strings)}"


def test_command_lines_match_python():
    """omero load lines and wsgi_args as people write them."""
    strings = [
        "config set -- omero.web.server_list '[[\"localhost\", 4064, \"omero\"]]'",
        "config append -- omero.web.apps '\"omero_figure\"'",
        "config set omero.web.ui.top_links \"[[\\\"Data\\\", \\\"webindex\\\"]]\"",
        "config drop default",
        "  config   set  k  'two words'  ",
        "--access-logfile - --error-logfile /var/log/g.log --log-level=debug",
        "--limit-request-line 8190 --forwarded-allow-ips='*'",
        "config set k a\\ b\\\\c\\'d",
        "config set k \"a\\nb\\$c\\`d\\\"e\\\\f\"",
        "config set k 'it'\\''s'",
        "config set k ''",
        'config set k ""',
        "config set k '",
        'config set k "abc',
        "config set k abc\\",
        "config set k #not-a-comment",
        "",
        "   \t\r\n",
    ]
    assert ours(strings) == [python(s) for s in strings]
