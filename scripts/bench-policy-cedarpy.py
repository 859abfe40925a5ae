#!/usr/bin/env python3
"""Policy speed: cedarpy (Cedar's Rust engine behind Python) against the Swift engine, same inputs.

What it does, in one run:
  1. Builds the entities (the indicator catalog of policies/indicators.yaml as Shanyrak::Indicator and
     Shanyrak::IndicatorClass entities, one staff member per role) and a request set: eight staff
     scenarios (social worker household/person views, unassigned, GBV specialist, researcher, administrator,
     agency ingest, break-glass) times every catalog indicator. These are written to
     Benchmarks/Fixtures/policy-entities.json and policy-requests.json together with the decision cedarpy
     gives each request; the Swift PolicyBenchmarks target reads the same files, checks that its own
     decisions are the same, and times them.
  2. Times cedarpy.is_authorized_batch on the whole request set (no schema: the Swift engine does not
     validate at decision time either), repeated, and prints median and p99 per batch and per request.
     Also a household view the way an uncompiled engine does it: 5 members x every indicator = one batch.
  3. With --swift, runs the Swift PolicyBenchmarks target in the same invocation and prints the ratio
     cedarpy / Swift per authorization.

Usage (from the repository root, with the project venv):
  python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt
  .venv/bin/python scripts/bench-policy-cedarpy.py [--rounds 200] [--swift]
"""
import argparse
import glob
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import time

import cedarpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Benchmarks", "Fixtures")
NS = "Shanyrak"


def uid(t, i):
    return {"type": f"{NS}::{t}", "id": i}


def uid_str(t, i):
    return f'{NS}::{t}::"{i}"'


def load_catalog():
    """The catalog's flow-style entries, parsed without a YAML library (one entry per line)."""
    out = []
    line_re = re.compile(r"^\s*-\s*\{id:\s*([^,]+),")
    for line in open(os.path.join(ROOT, "policies", "indicators.yaml"), encoding="utf-8"):
        m = line_re.match(line)
        if not m:
            continue

        def field(name):
            fm = re.search(r"\b" + name + r":\s*(\[[^\]]*\]|[^,}]+)", line)
            return fm.group(1).strip() if fm else None

        sources = [s.strip() for s in field("sources").strip("[]").split(",") if s.strip()]
        out.append({
            "id": m.group(1).strip(),
            "class": field("class"),
            "sphere": field("sphere"),
            "sources": sources,
            "sensitive": field("survivor_sensitive") == "true",
        })
    return out


CLASSES = ["identity", "demographic", "economic", "employment", "health", "education", "housing", "social",
           "violence"]
STAFF = [
    # id, roles, district, organisation, source
    ("sw1", ["social_worker"], "almaty-bostandyk", "akimat", ""),
    ("gbv1", ["gbv_specialist"], "almaty-bostandyk", "crisis-centre", ""),
    ("res1", ["researcher"], "astana", "institute", ""),
    ("adm1", ["administrator"], "astana", "ministry", ""),
    ("agency-labour", ["agency"], "astana", "labour-ministry", "labour"),
]


def entities(catalog):
    ents = [{"uid": uid("IndicatorClass", c), "attrs": {}, "parents": []} for c in CLASSES]
    for ind in catalog:
        ents.append({
            "uid": uid("Indicator", ind["id"]),
            "attrs": {"survivorSensitive": ind["sensitive"], "sphere": ind["sphere"], "sources": ind["sources"]},
            "parents": [uid("IndicatorClass", ind["class"])],
        })
    roles = sorted({r for s in STAFF for r in s[1]})
    ents += [{"uid": uid("Role", r), "attrs": {}, "parents": []} for r in roles]
    for sid, rs, district, org, source in STAFF:
        ents.append({
            "uid": uid("Staff", sid),
            "attrs": {"district": district, "organisation": org, "source": source},
            "parents": [uid("Role", r) for r in rs],
        })
    return ents


def context(view, assigned, same_district, purpose="", break_glass=False):
    return {"view": view, "assigned": assigned, "sameDistrict": same_district, "purpose": purpose,
            "breakGlass": break_glass}


SCENARIOS = [
    # name, staff, action, context
    ("social worker, household view, assigned", "sw1", "read", context("household", True, True)),
    ("social worker, person view, assigned", "sw1", "read", context("person", True, True)),
    ("social worker, household view, not assigned", "sw1", "read", context("household", False, True)),
    ("gbv specialist, person view, own case", "gbv1", "read", context("person", True, True)),
    ("researcher, extract", "res1", "export", context("extract", False, False, "study")),
    ("administrator, read", "adm1", "read", context("person", False, False)),
    ("agency, ingest", "agency-labour", "ingest", context("none", False, False)),
    ("social worker, break-glass person view", "sw1", "read", context("person", False, True, "", True)),
]


def requests(catalog):
    out = []
    for _, staff, action, ctx in SCENARIOS:
        for ind in catalog:
            out.append({
                "principal": uid_str("Staff", staff),
                "action": uid_str("Action", action),
                "resource": uid_str("Indicator", ind["id"]),
                "context": ctx,
            })
    return out


def policies_text():
    files = sorted(glob.glob(os.path.join(ROOT, "policies", "**", "*.cedar"), recursive=True))
    return "\n".join(open(f, encoding="utf-8").read() for f in files)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def time_batches(reqs, policies, entities_json, rounds):
    """Seconds per is_authorized_batch call, after a warm-up."""
    for _ in range(5):
        cedarpy.is_authorized_batch(reqs, policies, entities_json)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        cedarpy.is_authorized_batch(reqs, policies, entities_json)
        out.append((time.perf_counter_ns() - t0) / 1e9)
    return out


def report(name, secs, n):
    med, p99 = statistics.median(secs), pct(secs, 99)
    print(f"{name}: {n} requests per batch; per batch median {med * 1e6:,.0f} us, p99 {p99 * 1e6:,.0f} us; "
          f"per request median {med / n * 1e6:.2f} us, p99 {p99 / n * 1e6:.2f} us")
    return med / n


def swift_benchmarks():
    """Runs the Swift PolicyBenchmarks target; returns {benchmark name: (p50, p99) wall clock in microseconds}."""
    cmd = ["swift", "package", "--allow-writing-to-package-directory", "benchmark", "--target", "PolicyBenchmarks",
           "--no-progress"]
    print("$ cd Benchmarks && " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=os.path.join(ROOT, "Benchmarks"), check=True, capture_output=True,
                         text=True).stdout
    print(out)
    results, name = {}, None
    for line in out.splitlines():
        if line and not line.startswith(("╒", "│", "╞", "├", "╘", "=", " ")) and ":" in line:
            name = line.strip()
        elif line.startswith("│ Time (wall clock)") and name:
            cells = [c.strip() for c in line.strip("│").split("│")]
            unit = cells[0][cells[0].rfind("(") + 1:cells[0].rfind(")")]
            scale = {"ns": 1e-3, "μs": 1.0, "us": 1.0, "ms": 1e3}[unit]
            # columns: metric, p0, p25, p50, p75, p90, p99, p100, samples
            results[name] = (float(cells[3].replace(",", "")) * scale, float(cells[6].replace(",", "")) * scale)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200, help="timed batches per measurement")
    ap.add_argument("--swift", action="store_true", help="also run the Swift PolicyBenchmarks target")
    args = ap.parse_args()

    catalog = load_catalog()
    ents = entities(catalog)
    reqs = requests(catalog)
    policies = policies_text()
    entities_json = json.dumps(ents)

    # Decisions, with the @id of determining policies, stored for the Swift side to check against.
    results = cedarpy.is_authorized_batch(reqs, policies, entities_json)
    static = json.loads(cedarpy.policies_to_json_str(policies))["staticPolicies"]
    names = {pid: p.get("annotations", {}).get("id", pid) for pid, p in static.items()}
    fixture = []
    for r, res in zip(reqs, results):
        if res.diagnostics.errors:
            sys.exit(f"cedarpy reported errors for {r}: {res.diagnostics.errors}")
        fixture.append(dict(r, expected={"decision": "allow" if res.allowed else "deny",
                                         "reasons": sorted(names[p] for p in res.diagnostics.reasons)}))
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "policy-entities.json"), "w", encoding="utf-8") as f:
        json.dump(ents, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(FIXTURES, "policy-requests.json"), "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")
    allowed = sum(1 for x in fixture if x["expected"]["decision"] == "allow")
    print(f"cedarpy {importlib.metadata.version('cedarpy')}; catalog {len(catalog)} "
          f"indicators; {len(SCENARIOS)} scenarios; {len(reqs)} requests ({allowed} allow, {len(reqs) - allowed} deny)"
          f"; fixtures written to Benchmarks/Fixtures/")

    per_req = report("cedarpy is_authorized_batch, request set",
                     time_batches(reqs, policies, entities_json, args.rounds), len(reqs))
    household = [r for r in reqs if r["context"] == SCENARIOS[0][3] and r["principal"].endswith('"sw1"')] * 5
    per_hh = report("cedarpy is_authorized_batch, household view (5 members x catalog)",
                    time_batches(household, policies, entities_json, args.rounds), len(household))

    # The same batch with the batch's fixed cost (policy parse, entity JSON parse) measured on its own.
    one = time_batches(reqs[:1], policies, entities_json, args.rounds)
    print(f"cedarpy is_authorized_batch of 1 request (the per-call fixed cost: policy text and entity JSON parse): "
          f"median {statistics.median(one) * 1e6:,.0f} us")
    # Marginal cost per extra request: (batch(N) - batch(1)) / (N - 1).
    full = time_batches(reqs, policies, entities_json, args.rounds)
    marginal = (statistics.median(full) - statistics.median(one)) / (len(reqs) - 1)
    print(f"cedarpy marginal cost per request inside a batch: {marginal * 1e6:.2f} us")

    print(json.dumps({"cedarpy_per_request_us": round(per_req * 1e6, 3),
                      "cedarpy_household_view_us": round(per_hh * len(household) * 1e6, 1),
                      "cedarpy_marginal_per_request_us": round(marginal * 1e6, 3)}))
    if args.swift:
        swift = swift_benchmarks()
        key = next((k for k in swift if k.startswith("authorize: cedarpy request set")), None)
        if key is None:
            sys.exit("no 'authorize: cedarpy request set' figure in the Swift output")
        p50, p99 = swift[key]
        print(f"Swift, same request set: median {p50:.2f} us, p99 {p99:.2f} us per authorization")
        print(f"ratio cedarpy / Swift per authorization (batch median per request / Swift median): "
              f"{per_req * 1e6 / p50:.1f}x; marginal cost inside a batch / Swift median: "
              f"{marginal * 1e6 / p50:.1f}x")
        hh = next((k for k in swift if k.startswith("household view: 1 decision table")), None)
        if hh:
            print(f"household view: cedarpy batch of {len(household)} requests {per_hh * len(household) * 1e6:,.0f} us"
                  f" vs Swift decision table {swift[hh][0]:.1f} us median: {per_hh * len(household) * 1e6 / swift[hh][0]:,.0f}x")


if __name__ == "__main__":
    main()
