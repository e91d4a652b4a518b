"""pyjson against the real thing: json.dumps(json.loads(line)) of Debian's
/usr/bin/python3 must equal, byte for byte, what tests/unit/pyjson-roundtrip
prints, on thousands of generated documents (fixed seed). The helper binary
is looked up in $OWCTL_BUILD (the meson build directory, default "build").
"""

import json
import math
import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = 20240611


def roundtrip_binary():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "pyjson-roundtrip"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


def run_roundtrip(lines):
    """Feed UTF-8 lines (str) to the helper; return its output lines (str)."""
    data = b"".join(line.encode("utf-8") + b"\n" for line in lines)
    proc = subprocess.run([roundtrip_binary()], input=data,
                          capture_output=True, check=True, timeout=300)
    out = proc.stdout.split(b"\n")
    assert out[-1] == b""
    out = out[:-1]
    assert len(out) == len(lines)
    return [o.decode("ascii") for o in out]


def python_result(line):
    """json.dumps(json.loads(line)), or None when Python refuses the line."""
    try:
        return json.dumps(json.loads(line))
    except ValueError:   # JSONDecodeError, int digit limit
        return None


class Pairs(list):
    """An object as all its (key, value) pairs, duplicates included."""


def unrepresentable(v, key=False):
    """Does v hold something jansson cannot (so pyjson must refuse it)?"""
    if isinstance(v, bool) or v is None or isinstance(v, float):
        return False
    if isinstance(v, int):
        return not -2**63 <= v < 2**63
    if isinstance(v, str):
        if key and "\0" in v:
            return True
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, list) and not isinstance(v, Pairs):
        return any(unrepresentable(x) for x in v)
    return any(unrepresentable(k, key=True) or unrepresentable(x)
               for k, x in v)


def must_refuse(line):
    """jansson parses every value, also those a later duplicate key drops."""
    return unrepresentable(json.loads(line, object_pairs_hook=Pairs))


# ---- a random JSON writer with varied spelling ---------------------------

WS = [" ", "\t", "\r", "  ", " \t "]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def ws(self):
        return self.r.choice(WS) if self.r.random() < 0.3 else ""

    def char(self):
        r = self.r.random()
        if r < 0.45:
            return chr(self.r.randint(0x20, 0x7E))
        if r < 0.55:
            return chr(self.r.randint(0x00, 0x1F))
        if r < 0.60:
            return self.r.choice(['"', "\\", "/", "\x7f", "\u2028", "\ufeff",
                                  "\uffff", "\u00e9", "\x80", "\xff"])
        if r < 0.75:
            return chr(self.r.randint(0x80, 0x7FF))
        if r < 0.90:
            c = self.r.randint(0x800, 0xFFFF)
            return chr(c) if not 0xD800 <= c <= 0xDFFF else "\ue000"
        return chr(self.r.randint(0x10000, 0x10FFFF))

    def text(self, no_nul=False):
        n = self.r.choice([0, 1, 2, 3, 5, 8, 20])
        s = "".join(self.char() for _ in range(n))
        return s.replace("\0", "0") if no_nul else s

    def quote(self, s):
        out = ['"']
        short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r",
                 "\t": "\\t", "\b": "\\b", "\f": "\\f", "/": "\\/"}
        for c in s:
            o = ord(c)
            style = self.r.random()
            if c in short and (c in '"\\' or o < 0x20 or style < 0.5):
                out.append(short[c])
            elif o < 0x20 or c in '"\\' or style < 0.3:
                if o > 0xFFFF:
                    o -= 0x10000
                    units = [0xD800 | (o >> 10), 0xDC00 | (o & 0x3FF)]
                else:
                    units = [o]
                fmt = "\\u%04X" if self.r.random() < 0.5 else "\\u%04x"
                out.extend(fmt % u for u in units)
            else:
                out.append(c)
        out.append('"')
        return "".join(out)

    def integer(self):
        r = self.r.random()
        if r < 0.4:
            return self.r.randint(-1000, 1000)
        if r < 0.7:
            return self.r.randint(-2**53, 2**53)
        if r < 0.9:
            return self.r.randint(-2**63, 2**63 - 1)
        return self.r.choice([2**63 - 1, -2**63, 0, -1, 2**53 + 1])

    def double(self):
        r = self.r.random()
        if r < 0.3:
            bits = self.r.getrandbits(64)
            d = struct.unpack("<d", struct.pack("<Q", bits))[0]
            if math.isfinite(d):
                return d
            return 0.0
        if r < 0.45:
            return self.r.uniform(-1e6, 1e6)
        if r < 0.55:
            return float(self.r.randint(-10**17, 10**17))
        if r < 0.65:
            return (self.r.choice([1, -1]) *
                    math.ldexp(self.r.random(), self.r.randint(-1074, 1024)))
        if r < 0.75:
            return self.r.choice([0.0, -0.0, 5e-324, -5e-324, 1e16, 1e-5,
                                  1e-4, 1e15, 0.1, 1.5e-7, 1e22, 1e23,
                                  2.2250738585072014e-308,
                                  1.7976931348623157e308, 9007199254740993.0])
        if r < 0.85:
            return (self.r.choice([1, -1]) *
                    math.ldexp(1.0, self.r.randint(-1074, 1023)))
        return round(self.r.uniform(-10, 10), self.r.randint(0, 6)) * \
            10.0 ** self.r.randint(-30, 30)

    def float_text(self, d):
        style = self.r.random()
        if style < 0.5:
            s = repr(d)
        elif style < 0.7:
            s = "%.17g" % d
        elif style < 0.85:
            s = "%.25E" % d
        else:
            s = "%.*e" % (self.r.randint(0, 20), d)
            s = s.replace("e+", self.r.choice(["e+", "e", "E"]))
        if "e" not in s and "E" not in s and "." not in s:
            s += ".0"
        return s

    def nonfinite_text(self):
        return self.r.choice(["NaN", "Infinity", "-Infinity", "1E400",
                              "-1e999", "1.5e309", "123e456789",
                              "9" * 309 + ".0", "-" + "1" * 400 + ".5",
                              "9" * 308 + ".5", "0." + "0" * 400 + "1e400"])

    def value(self, depth=0):
        r = self.r.random()
        if depth < 4 and r < 0.25:
            items = [self.value(depth + 1)
                     for _ in range(self.r.choice([0, 1, 2, 3, 5]))]
            sep = "," + self.ws()
            return "[" + self.ws() + sep.join(items) + self.ws() + "]"
        if depth < 4 and r < 0.45:
            keys = [self.text(no_nul=True)
                    for _ in range(self.r.choice([0, 1, 2, 3, 5]))]
            if keys and self.r.random() < 0.2:
                keys.append(self.r.choice(keys))        # duplicate key
            members = [self.ws() + self.quote(k) + self.ws() + ":" +
                       self.ws() + self.value(depth + 1) for k in keys]
            return "{" + ",".join(members) + self.ws() + "}"
        if r < 0.55:
            return self.quote(self.text())
        if r < 0.70:
            return str(self.integer())
        if r < 0.90:
            return self.float_text(self.double())
        if r < 0.95:
            return self.nonfinite_text()
        return self.r.choice(["null", "true", "false"])

    def document(self):
        return self.ws() + self.value() + self.ws()

    def mutate(self, doc):
        doc = list(doc)
        for _ in range(self.r.randint(1, 3)):
            op = self.r.random()
            pos = self.r.randint(0, len(doc))
            junk = self.r.choice(list('[]{},:"\\ -+.eE0123456789') +
                                 ["NaN", "Infinity", "null", "x", "\\u",
                                  "\\ud800", "9" * 20, "\x01"])
            if op < 0.4 and doc:
                del doc[min(pos, len(doc) - 1)]
            elif op < 0.8:
                doc.insert(pos, junk)
            elif doc:
                doc[min(pos, len(doc) - 1)] = junk
        return "".join(doc)


def compare(lines):
    """Run the lines through both; return a list of (line, ours, python)."""
    bad = []
    ours = run_roundtrip(lines)
    for line, got in zip(lines, ours):
        try:
            v = json.loads(line)
        except ValueError:
            if got != "ERROR":
                bad.append((line, got, "ERROR"))
            continue
        want = json.dumps(v)
        if got == "ERROR" and must_refuse(line):
            continue        # documented refusal
        if got != want:
            bad.append((line, got, want))
    return bad


def test_random_documents_match_python():
    g = Gen(SEED)
    lines = [g.document() for _ in range(6000)]
    accepted = sum(python_result(line) is not None for line in lines)
    assert accepted == len(lines), "generator wrote invalid JSON"
    ours = run_roundtrip(lines)
    bad = [(line, got, json.dumps(json.loads(line)))
           for line, got in zip(lines, ours)
           if got != json.dumps(json.loads(line))]
    assert not bad[:10], f"{len(bad)} mismatches of {len(lines)}"


def test_mutated_documents_match_python():
    """Broken variants: refused when Python refuses, else identical."""
    g = Gen(SEED + 1)
    lines = [g.mutate(g.document()) for _ in range(6000)]
    refused = sum(python_result(line) is None for line in lines)
    assert 1000 < refused < len(lines) - 1000   # both kinds are exercised
    bad = compare(lines)
    assert not bad[:10], f"{len(bad)} mismatches of {len(lines)}"


def test_doubles_match_python():
    g = Gen(SEED + 2)
    values = [math.ldexp(1.0, k) for k in range(-1074, 1024)]
    values += [-v for v in values]
    values += [g.double() for _ in range(20000)]
    lines = [g.float_text(v) for v in values]
    lines += ["[" + ", ".join(g.float_text(g.double()) for _ in range(8)) + "]"
              for _ in range(500)]
    bad = compare(lines)
    assert not bad[:10], f"{len(bad)} mismatches of {len(lines)}"


def test_refused_values():
    """What Python keeps but jansson cannot hold is refused, not changed."""
    lines = ["[9223372036854775808]", "-9223372036854775809",
             "1" * 40, '"\\ud800"', '["\\udc00x"]', '{"a": "\\ude00\\ud83d"}',
             '{"a\\u0000": 1}', '[{"k": {"\\u0000": null}}]']
    for line in lines:
        assert python_result(line) is not None
    assert run_roundtrip(lines) == ["ERROR"] * len(lines)


def test_config_values_from_vectors():
    """Values omero config append/remove stored in vector 07."""
    steps = (REPO.parent / "shared" / "vectors" / "config-xml" / "scenarios" /
             "07_append_remove" / "steps.json")
    text = steps.read_text(encoding="utf-8")
    values = []
    for step in json.loads(text):
        argv = step.get("argv") or []
        if argv[:2] == ["config", "append"] or argv[:2] == ["config", "remove"]:
            values.append(argv[-1])
        for line in (step.get("stdout") or "").splitlines():
            key, sep, value = line.partition("=")
            if sep and value[:1] in "[{":
                values.append(value)
    values = [v for v in values if python_result(v) is not None]
    assert len(values) >= 10
    assert run_roundtrip(values) == [python_result(v) for v in values]
