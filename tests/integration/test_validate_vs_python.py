"""config validate's value checks against the real parsers: Python's int(),
json.loads() and OMERO.web's parse_boolean (s.strip().lower() in ("true",
"1", "t")) must give the same verdicts as tests/unit/validate-value on
thousands of generated strings (fixed seed); the time zone check must agree
with pytz on its zone list; the partial regular-expression check must never
call an expression re.compile() accepts an error. The helper binary is
looked up in $OWCTL_BUILD (the meson build directory, default "build").
"""

import json
import os
import random
import warnings
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = 20240612

SPACES = [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85",
          "\xa0", "\u1680", "\u2007", "\u2028", "\u202f", "\u3000", "\u200b"]
DIGITS = ["0", "1", "7", "9", "\u0660", "\u0669", "\u06f4", "\u0967",
          "\uff10", "\uff19", "\U0001d7ce", "\U0001d7ff", "\u00b2",
          "\u2460", "\u0f33"]   # the last three are digits, not decimals


def helper():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "validate-value"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


def run_helper(parser, values):
    data = "".join("%s\t%s\n" % (parser, v.encode("utf-8").hex())
                   for v in values).encode("ascii")
    proc = subprocess.run([helper(), "-x"], input=data, capture_output=True,
                          check=True, timeout=300)
    out = proc.stdout.decode("ascii").split("\n")
    assert out[-1] == ""
    assert len(out) - 1 == len(values)
    return out[:-1]


def compare(parser, values, python):
    got = run_helper(parser, values)
    bad = [(v, g, python(v)) for v, g in zip(values, got) if g != python(v)]
    assert not bad, "%d/%d differ, e.g. %r" % (len(bad), len(values),
                                               bad[:10])


# ---- int ------------------------------------------------------------------

def py_int(s):
    try:
        n = int(s)
    except ValueError:
        return "error"
    return "ok %d" % n if -2**63 <= n < 2**63 else "ok big"


def int_strings(rng):
    alphabet = DIGITS * 3 + SPACES + ["_", "_", "+", "-", "a", "x", "e",
                                      ".", "0x", "\x7f", "\xe9"]
    out = ["", "0", "-0", "+0", "00", "1_0", "1__0", "_1", "1_", " 1 ",
           "9223372036854775807", "9223372036854775808",
           "-9223372036854775808", "-9223372036854775809",
           "7" * 4300, "7" * 4301, "0" * 4300 + "1", "1_" * 4300 + "1",
           " " + "9" * 4300 + "\n"]
    for _ in range(20000):
        out.append("".join(rng.choice(alphabet)
                           for _ in range(rng.randint(0, 8))))
    return out


def test_int_matches_python():
    compare("int", int_strings(random.Random(SEED)), py_int)


# ---- json -----------------------------------------------------------------

def py_json(s):
    try:
        json.loads(s)
    except (ValueError, RecursionError):
        return "error"
    return "ok"


def random_doc(rng, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice([0, -1, 1.5, 1e300, "a", "\u00e9\t\"\\",
                           "\ud800", True, None, float("nan"),
                           float("inf"), 2**70])
    if r < 0.7:
        return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "b", "\u00e9"]): random_doc(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def mutate(rng, s):
    pieces = ["[", "]", "{", "}", ",", ":", "\"", "\\", " ", "\n", "\x0b",
              "\t", "0", "-", ".", "e", "+", "N", "'", "\x00", "\x1f", "u"]
    for _ in range(rng.randint(1, 2)):
        i = rng.randint(0, len(s))
        op = rng.random()
        if op < 0.4 and s:
            s = s[:i] + s[i + 1:]
        else:
            s = s[:i] + rng.choice(pieces) + s[i:]
    return s


def json_strings(rng):
    tokens = ["[", "]", "{", "}", ",", ":", " ", "\t", "\n", "\r", "\x0b",
              "\"a\"", "\"\\u12\"", "\"\\u12ab\"", "\"\\ud800\"",
              "\"\\x\"", "\"\t\"", "'a'", "1", "-", "0", "01", ".", ".5",
              "e", "E", "+", "1e5", "NaN", "Infinity", "-Infinity", "nan",
              "true", "True", "null", "\"\\/\"", "\ufeff"]
    out = ["", "[" * 50 + "]" * 50, "9" * 4300, "9" * 4301, "-" + "9" * 4301,
           "9" * 4301 + ".0", "[" + "9" * 5000 + "e1]"]
    for _ in range(10000):
        out.append("".join(rng.choice(tokens)
                           for _ in range(rng.randint(1, 7))))
    for _ in range(10000):
        doc = json.dumps(random_doc(rng), ensure_ascii=rng.random() < 0.5)
        out.append(doc if rng.random() < 0.3 else mutate(rng, doc))
    # config.xml values hold no NUL and, being UTF-8, no lone surrogates
    return [s for s in out if not re.search("[\x00\ud800-\udfff]", s)]


def test_json_matches_python():
    compare("json", json_strings(random.Random(SEED)), py_json)


# ---- parse_boolean ----------------------------------------------------------

def py_bool(s):
    return "true" if s.strip().lower() in ("true", "1", "t") else "false"


def bool_strings(rng):
    words = ["true", "TRUE", "True", "t", "T", "1", "yes", "on", "false",
             "0", "tr", "ue", "\u0130", "\u212a", "\u017f", "x"]
    out = []
    for _ in range(20000):
        parts = [rng.choice(SPACES) for _ in range(rng.randint(0, 2))]
        parts.append(rng.choice(words))
        if rng.random() < 0.2:
            parts.append(rng.choice(words))
        parts += [rng.choice(SPACES) for _ in range(rng.randint(0, 2))]
        out.append("".join(parts))
    # every code point whose lower() is ASCII, alone and around "true"
    for cp in range(0x80, 0x30000):
        c = chr(cp)
        if 0xd800 <= cp < 0xe000:
            continue
        if c.lower().isascii() or c.isspace():
            out += [c, "true" + c, c + "t", "1" + c]
    return out


def test_bool_matches_python():
    compare("bool", bool_strings(random.Random(SEED)), py_bool)


# ---- time zones (pytz) -----------------------------------------------------

def test_timezone_matches_pytz():
    import pytz

    def py_tz(s):
        try:
            pytz.timezone(s)
        except (pytz.UnknownTimeZoneError, KeyError, ValueError):
            return "error"
        return "ok"

    names = list(pytz.all_timezones)
    rng = random.Random(SEED)
    values = names + [n.lower() for n in names] + [n.upper() for n in names]
    values += [n.replace("+", "_plus_").replace("-", "_minus_")
               for n in names if "+" in n or "-" in n]
    values += ["", "utc", "Mars/Olympus_Mons", "Europe", "Europe/",
               "/Europe/London", "Europe//London", "../zoneinfo/UTC",
               "Europe/London/", "Europe/London ", " UTC", "zone.tab",
               "leap-seconds.list", "posix/Europe/London",
               "right/Europe/London", "Europe/Lond\u00f6n", "Factory",
               "localtime", "posixrules", "LOCALTIME"]
    values += ["".join(rng.choice("abcEurope/_-+LondGMT0")
                       for _ in range(rng.randint(1, 12)))
               for _ in range(2000)]
    compare("timezone", values, py_tz)


# ---- regular expressions -----------------------------------------------------

def test_regex_no_false_errors():
    rng = random.Random(SEED)
    tokens = ["(", ")", "[", "]", "\\", "a", "*", "+", "?", "|", "^", "$",
              "{2}", "{", "(?:", "(?P<n>", "(?#c)", "(?#", "\\d", "\\q",
              "\\b", "\\A", "\\Z", ".", "-", "[^", "\\]", "(?i)", "(?=",
              "\\1", "*?", "++"]
    values = ["".join(rng.choice(tokens) for _ in range(rng.randint(0, 6)))
              for _ in range(20000)]
    got = run_helper("regex", values)
    false_errors, caught, missed = [], 0, 0
    for v, g in zip(values, got):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                re.compile(v)
            ok = True
        except (re.error, RecursionError, OverflowError):
            ok = False
        if ok and g != "ok":
            false_errors.append(v)
        elif not ok:
            caught += g == "error"
            missed += g == "ok"
    assert not false_errors, false_errors[:20]
    # the partial check must still catch most broken expressions
    assert caught > 3 * missed, (caught, missed)
