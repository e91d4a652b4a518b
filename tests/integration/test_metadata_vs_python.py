"""lib/venv/distinfo.c and pep508.c against the real thing, on generated
files (fixed seeds):
- METADATA headers as email.message_from_string() + importlib.metadata's
  re-indentation read them (text-mode newlines included);
- whole .dist-info / .egg-info directories as
  importlib.metadata.Distribution.at() reads them (Name, Version,
  Requires-Python, requires, Provides-Extra, top-level names);
- Requires-Dist strings as packaging.requirements.Requirement parses them,
  and their markers as Marker.evaluate() decides them.
The helper tests/unit/distinfo-dump is looked up in $OWCTL_BUILD.
"""

import email
import importlib.metadata as im
import io
import json
import os
import random
import subprocess
from importlib.metadata import _adapters
from pathlib import Path

import pytest
from packaging.markers import UndefinedComparison
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier
from packaging.version import InvalidVersion

REPO = Path(__file__).resolve().parents[2]
SEED = 508


def helper():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "distinfo-dump"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


def dump(args, stdin=b""):
    proc = subprocess.run([helper()] + args, input=stdin, capture_output=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


# --- METADATA headers --------------------------------------------------------

NAMES = ["Name", "name", "NAME", "Version", "Requires-Dist", "requires-dist",
         "Requires-Python", "Provides-Extra", "Summary", "X-Weird_Name.1",
         "Metadata-Version", "Description"]
VALUES = ["omero-web", "5.31.0", "Django (>=3.2)", "Django>=3.2", "",
          " leading", "trailing  ", "\tTab", "caf\u00e9 \u4e2d", "a: b: c",
          'x; extra == "redis"', "  ", "From here", "=?utf-8?q?x?="]
ENDS = ["\n", "\n", "\n", "\r\n", "\r", ""]


def gen_line(rng):
    r = rng.random()
    if r < 0.55:
        return (rng.choice(NAMES) + rng.choice([":", ":", ": ", ":  ", ":\t"])
                + rng.choice(VALUES))
    if r < 0.75:   # continuation
        return rng.choice([" ", "  ", "\t", "        ", " \t"]) + \
            rng.choice(VALUES + ["", "more text"])
    if r < 0.8:
        return rng.choice(["From someone", "From  x", ":no name", ":"])
    if r < 0.85:
        return rng.choice(["Bad Header: x", "no colon at all", "\ufeffName: x",
                           "Name : spaced"])
    if r < 0.9:
        return ""   # header/body separator
    return rng.choice(NAMES) + ":" + rng.choice(VALUES)


def gen_metadata(rng):
    lines = [gen_line(rng) for _ in range(rng.randint(0, 12))]
    out = ""
    for line in lines:
        out += line + rng.choice(ENDS[:-1])
    if lines and rng.random() < 0.3:
        out = out.rstrip("\r\n")
    if rng.random() < 0.2:
        out += "\nbody text\nName: not-a-header\n"
    return out.encode("utf-8")


def py_headers(raw):
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
    except UnicodeDecodeError:
        return "error"
    msg = email.message_from_string(text)
    n = len(msg._headers)
    return [list(h) for h in _adapters.Message(msg)._headers[:n]]


def test_headers_match_email_parser():
    rng = random.Random(SEED)
    texts = [gen_metadata(rng) for _ in range(4000)]
    texts += [b"", b"\n", b"Name: x\n", b"Name: a\n b\n\n c\n",
              b"Requires-Dist:\n  foo\n   bar\n", b"Name: \xff\n",
              b"Name: \xed\xa0\x80\n", b"Name: \xc0\xaf\n",
              b"From x\nName: y\n", b"Name: y\nFrom x\n", b"Name: y\nFrom x",
              b"Summary: a\n \n\t\n b\n", b"Name: a\r\n\tb\r\n"]
    got = dump(["meta"], b"".join(t + b"\0" for t in texts if b"\0" not in t))
    bad = []
    multiline = 0
    for raw, ours in zip(texts, got):
        want = py_headers(raw)
        if want == "error":
            ok = isinstance(ours, dict) and "error" in ours
        else:
            ok = ours == want
            multiline += any("\n" in v for _, v in want)
        if not ok:
            bad.append((raw, want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:4])
    assert multiline > 300, multiline


# --- distributions -----------------------------------------------------------

RECORD_PATHS = ["omero_figure/__init__.py", "omero_figure/apps.py",
                "figure_helper.py", "../../bin/tool.py", "x/y/z.py",
                "pkg/.py", "single.pyc", "data/file.txt", '"quoted,name.py"',
                "/abs/mod.py", "./dot/mod.py", "a//b.py", "noext",
                "omero_figure-2.0.0.dist-info/METADATA", "Mixed/Case.PY",
                "sp ace/m.py"]


def gen_record(rng):
    rows = []
    for _ in range(rng.randint(0, 6)):
        p = rng.choice(RECORD_PATHS)
        rows.append(p + rng.choice(["", ",", ",sha256=abc,12", ",,"]))
    # (no blank row: importlib's Distribution.files raises TypeError on it)
    return "\n".join(rows) + (rng.choice(["", "\n"]) if rows else "")


def gen_requires_txt(rng):
    lines = []
    for _ in range(rng.randint(0, 6)):
        r = rng.random()
        if r < 0.3:
            lines.append(rng.choice(["[redis]", "[:python_version < '3.8']",
                                     "[test:sys_platform == 'linux']",
                                     "[[odd]]", "[]"]))
        elif r < 0.4:
            lines.append(rng.choice(["", "   ", "# comment"]))
        else:
            lines.append(rng.choice(["Django>=3.2", "redis>=3", "  foo  ",
                                     "bar @ https://x.org/b.whl",
                                     "omero-web>=5.30"]))
    return "\n".join(lines) + "\n"


def make_dist(rng, root, i):
    kind = rng.choice(["dist-info", "dist-info", "egg-info", "EGG-INFO"])
    d = root / ("pkg%d-1.0.%s" % (i, kind))
    d.mkdir()
    meta = gen_metadata(rng)
    if rng.random() < 0.7:   # mostly well-formed
        reqs = "".join("Requires-Dist: %s\n" % r for r in rng.sample(
            ["Django (>=3.2)", "omero-web>=5.31", 'x; extra == "a"',
             "y[z]>=1"], rng.randint(0, 3)))
        meta = ("Metadata-Version: 2.1\nName: Pkg%d\nVersion: 1.0\n%s\n"
                % (i, reqs)).encode() + meta
    fname = "METADATA" if kind == "dist-info" else "PKG-INFO"
    if rng.random() < 0.1:
        fname = rng.choice(["METADATA", "PKG-INFO"])
    (d / fname).write_bytes(meta)
    if rng.random() < 0.1:
        (d / "METADATA").write_bytes(b"")   # empty: falls back to PKG-INFO
        (d / "PKG-INFO").write_bytes(meta)
    if rng.random() < 0.5:
        (d / "top_level.txt").write_text(rng.choice(
            ["omero_figure\n", "", "\n\n", "a b\tc\n", "dup\ndup\n"]))
    if rng.random() < 0.6:
        (d / "RECORD").write_text(gen_record(rng))
    if "egg" in kind.lower() and rng.random() < 0.6:
        (d / "SOURCES.txt").write_text("\n".join(
            rng.sample(["setup.py", "pkg/__init__.py", "mod.py", "a,b.py",
                        'q"uote.py'], 3)) + "\n")
    if rng.random() < 0.4:
        (d / "requires.txt").write_text(gen_requires_txt(rng))
    return d


def py_dist(path):
    d = im.Distribution.at(path)
    try:
        md = d.metadata
        top = im._top_level_declared(d) or im._top_level_inferred(d)
        return {"name": md["Name"], "version": md["Version"],
                "requires_python": md["Requires-Python"],
                "requires": d.requires or [],
                "extras": md.get_all("Provides-Extra") or [],
                "top_level": sorted(set(top))}
    except (UnicodeDecodeError, TypeError) as e:
        return {"error": repr(e)}


def test_dists_match_importlib(tmp_path):
    rng = random.Random(SEED + 1)
    paths = [make_dist(rng, tmp_path, i) for i in range(1500)]
    # real ones too
    for site in ("/usr/lib/python3/dist-packages",):
        paths += sorted(p for p in Path(site).iterdir()
                        if p.name.endswith((".dist-info", ".egg-info")))
    got = dump(["dist"] + [str(p) for p in paths])
    bad = []
    inferred = 0
    for p, ours in zip(paths, got):
        want = py_dist(p)
        if "error" in want:
            ok = "error" in ours
        else:
            ok = ours == want
            inferred += not (p / "top_level.txt").exists() and \
                bool(want["top_level"])
        if not ok:
            bad.append((str(p), want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:3])
    assert len(got) == len(paths)
    assert inferred > 100, inferred


# --- requirements and markers ------------------------------------------------

ENV = {"python_version": "3.11", "python_full_version": "3.11.2",
       "os_name": "posix", "sys_platform": "linux",
       "platform_release": "6.1.0-18-amd64", "platform_system": "Linux",
       "platform_version": "#1 SMP Debian", "platform_machine": "x86_64",
       "platform_python_implementation": "CPython",
       "implementation_name": "cpython", "implementation_version": "3.11.2",
       "extra": ""}

MVARS = ["python_version", "python_full_version", "os_name", "os.name",
         "sys_platform", "sys.platform", "platform_system", "platform_machine",
         "platform.machine", "python_implementation", "implementation_name",
         "extra", "platform_release", "implementation_version"]
MVALS = ["3.11", "3.8", "3.12", "3.11.2", "3.11.*", "posix", "nt", "linux",
         "win32", "Linux", "x86_64", "cpython", "CPython", "redis", "Redis",
         "test_x", "", "6.1", "3", "3.10"]
MOPS = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"]


def gen_marker(rng, depth=0):
    items = []
    for _ in range(rng.randint(1, 3)):
        if depth < 2 and rng.random() < 0.2:
            items.append("(" + gen_marker(rng, depth + 1) + ")")
            continue
        var = rng.choice(MVARS)
        val = rng.choice(['"%s"', "'%s'"]) % rng.choice(MVALS)
        op = rng.choice(MOPS)
        ws = lambda: rng.choice(["", " ", " ", "  "])  # noqa: E731
        if rng.random() < 0.2:
            items.append(val + ws() + op + ws() + var)
        else:
            items.append(var + ws() + op + ws() + val)
    glue = [rng.choice([" and ", " or ", " and ", "  or  "])
            for _ in items[1:]]
    out = items[0]
    for g, it in zip(glue, items[1:]):
        out += g + it
    return out


def gen_req(rng):
    name = rng.choice(["omero-web", "Django", "django_redis", "x", "a.b-c_d",
                       "omero_figure", "-bad", "bad-", "9lives", "na me"])
    s = rng.choice(["", " "]) + name
    if rng.random() < 0.2:
        s += rng.choice(["[redis]", "[ a , b ]", "[]", "[a b]", "[a,]",
                         "[security,tests]"])
    r = rng.random()
    if r < 0.1:
        s += rng.choice([" @ https://example.org/x.whl",
                         "@file:///tmp/x.whl", " @ notaurl"])
    elif r < 0.75:
        specs = [rng.choice(["==", ">=", "<", "<=", "!=", "~=", ">", "==="])
                 + rng.choice(["", " "]) +
                 rng.choice(["5.31", "5.30.1", "3.2", "1.0a1", "2.*", "1",
                             "5.31.0.dev0", "1.0+local", "v1.0"])
                 for _ in range(rng.randint(1, 3))]
        spec = rng.choice([",", ", ", " ,"]).join(specs)
        s += rng.choice(["", " "]) + (rng.choice(["(%s)", "%s", "( %s )"])
                                      % spec)
    if rng.random() < 0.5:
        s += rng.choice([";", " ;", "; ", " ; "]) + gen_marker(rng)
    if rng.random() < 0.05:
        s += rng.choice([" trailing", ")", "\n"])
    return s


def py_req(s, env):
    try:
        r = Requirement(s)
    except (InvalidRequirement, InvalidSpecifier):
        # "===" takes commas too: "x (===1,>2.*)" fails in SpecifierSet
        return {"error": True}
    out = {"name": r.name, "extras": sorted(r.extras),
           "specifier": str(r.specifier), "url": r.url}
    if r.marker is None:
        out["eval"] = 1
    else:
        try:
            out["eval"] = int(r.marker.evaluate(env))
        except (InvalidVersion, UndefinedComparison, KeyError):
            out["eval"] = -1
    return out


def test_requirements_match_packaging():
    rng = random.Random(SEED + 2)
    reqs = [gen_req(rng) for _ in range(6000)]
    reqs += ["Django (>=3.2)", "omero-web>=5.30,<5.31",
             'django-redis>=6; extra == "redis"', "name",
             'a; python_version < "3.8" or python_version >= "3.11"',
             'a; "linux" in sys_platform', 'a; extra == "Test_X"',
             "a; python_version ~= 'x'", "a; os_name == os_name"]
    bad = []
    counts = {}
    for extra in ("", "redis", "test-x"):
        env = dict(ENV, extra=extra)
        got = dump(["req", json.dumps(env)],
                   b"".join(r.encode() + b"\0" for r in reqs))
        assert len(got) == len(reqs)
        for s, ours in zip(reqs, got):
            want = py_req(s, env)
            if "error" in want:
                ok = "error" in ours
            else:
                mine = {"name": ours.get("name"),
                        "extras": sorted(set(ours.get("extras", []))),
                        "specifier": ours.get("specifier"),
                        "url": ours.get("url"), "eval": ours.get("eval")}
                ok = mine == want
            key = "error" if "error" in want else want["eval"]
            counts[key] = counts.get(key, 0) + 1
            if not ok:
                bad.append((s, extra, want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:5])
    assert min(counts.values()) > 300, counts


def test_unknown_marker_values_are_reported():
    # Without a value for a variable the answer is "unknown", with its name.
    env = {k: v for k, v in ENV.items() if k != "platform_machine"}
    got = dump(["req", json.dumps(env)],
               b'a; platform_machine == "x86_64"\0'
               b'a; platform_machine == "x86_64" or python_version > "3"\0'
               b'a; platform_machine == "x86_64" and python_version < "3"\0')
    assert [g["eval"] for g in got] == [-1, 1, 0]
    assert got[0]["unknown"] == "platform_machine"
