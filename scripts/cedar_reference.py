#!/usr/bin/env python3
"""Decide authorization requests with cedarpy, Cedar's reference implementation.

Used by the differential test of the Swift policy engine (Tests/ShanyrakPolicyTests).

Input (stdin): {"cases": [{"policies": "<cedar text>", "entities": [...], "schema"?: "<json schema text>",
                           "requests": [{"principal": ..., "action": ..., "resource": ..., "context": {...}}]}]}
Output (stdout): {"results": [[{"decision": "allow"|"deny"|"parse_error",
                                "reasons": [ids], "errors": [ids]}...]...]}
Policy ids are mapped as the Swift engine names them: the @id annotation where a
policy has one, otherwise Cedar's positional "policyN".
"""
import json
import re
import sys

import cedarpy

ERR_ID = re.compile(r"error while evaluating policy `([^`]*)`")


def decide(case):
    policies = case["policies"]
    try:
        pset = cedarpy.PolicySet.from_str(policies) if hasattr(cedarpy, "PolicySet") else policies
    except Exception:
        return [{"decision": "parse_error", "reasons": [], "errors": []} for _ in case["requests"]]
    # Map positional ids to @id annotations (cedarpy reports policyN): reasons through
    # diagnostics.id_annotations_by_reason, error ids through the policy set's JSON form.
    static = json.loads(cedarpy.policies_to_json_str(policies))["staticPolicies"]
    names = {pid: p.get("annotations", {}).get("id", pid) for pid, p in static.items()}
    schema = case.get("schema")
    results = cedarpy.is_authorized_batch(case["requests"], pset, json.dumps(case["entities"]), schema=schema)
    out = []
    for r in results:
        ann = r.diagnostics.id_annotations_by_reason
        errs = r.diagnostics.errors
        if r.decision == cedarpy.Decision.NoDecision or any("parse" in e for e in errs if not ERR_ID.search(e)):
            out.append({"decision": "parse_error", "reasons": [], "errors": [str(e) for e in errs]})
            continue
        reasons = sorted(ann.get(p, p) for p in r.diagnostics.reasons)
        assert reasons == sorted(names[p] for p in r.diagnostics.reasons), "id mapping mismatch"
        error_ids = sorted(names.get(ERR_ID.search(e).group(1), "?") for e in errs if ERR_ID.search(e))
        out.append({"decision": "allow" if r.allowed else "deny", "reasons": reasons, "errors": error_ids})
    return out


def main():
    doc = json.load(sys.stdin)
    json.dump({"results": [decide(c) for c in doc["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
