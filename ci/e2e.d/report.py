#!/usr/bin/env python3
"""Assertions of the e2e steps on citadel-check's reports (SPEC section 6). Used by ci/e2e.d/steps.sh.

    report.py KIND JSON [options]

Prints one line: on success the step's summary (exit 0), on failure what is wrong (exit 1). Reads only the
report fields the SPEC defines: mode, checks[].{id, status, findings, before, fix{status, message, actions,
refusals}}, so that it stays valid however the CLI formats the rest.
"""

import argparse
import json
import sys
import xml.etree.ElementTree as ET

CHECK_IDS = [
    "required_tools",
    "storage_mounts",
    "mount_options",
    "directory_structure",
    "model_directories",
    "symlinks",
    "scripts",
    "io_schedulers",
    "trim_timer",
    "backup_cron",
]


class Failed(Exception):
    pass


def load(path, mode):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except FileNotFoundError:
        raise Failed(f"no JSON report was written ({path})")
    except (OSError, ValueError) as e:
        raise Failed(f"the JSON report {path} does not parse: {e}")
    if report.get("mode") != mode:
        raise Failed(f"report mode is {report.get('mode')!r}, expected {mode!r}")
    checks = report.get("checks")
    if not isinstance(checks, list):
        raise Failed("the report has no checks list")
    ids = [c.get("id") for c in checks]
    if ids != CHECK_IDS:
        raise Failed(f"the report's checks are {ids}, expected the ten of SPEC section 3 in order")
    return report, checks


def fix_of(check):
    """The check's fix object, or an empty one (a check that needed nothing may have none)."""
    return check.get("fix") or {}


def actions_of(check):
    return fix_of(check).get("actions") or []


def with_status(checks, status, key="status"):
    return [c["id"] for c in checks if c.get(key) == status]


def describe(check):
    """A check's state in a few words, for failure messages."""
    fix = fix_of(check)
    words = [f"{check['id']}={check.get('status')}"]
    if "before" in check:
        words.append(f"before={check.get('before')}")
    if fix:
        words.append(f"fix={fix.get('status')} ({len(actions_of(check))} actions)")
        if fix.get("status") not in ("not_needed", "fixed", "planned") and fix.get("message"):
            words.append(f"'{fix['message']}'")
    if check.get("status") in ("fail", "error"):
        findings = check.get("findings") or []
        if findings:
            words.append(f"first finding: '{findings[0].get('message') or findings[0]}'")
        elif check.get("reason"):
            words.append(f"reason: '{check['reason']}'")
    return " ".join(words)


def require_all_pass(checks):
    bad = [c for c in checks if c.get("status") != "pass"]
    if bad:
        raise Failed(f"{10 - len(bad)}/10 pass; " + "; ".join(describe(c) for c in bad))


def step_check(args):
    """Step 1: on the fresh sandbox at least MIN checks fail, each with findings."""
    _, checks = load(args.json, "check")
    failing = [c for c in checks if c.get("status") == "fail"]
    empty = [c["id"] for c in failing if not c.get("findings")]
    if empty:
        raise Failed(f"failing checks without findings: {', '.join(empty)}")
    if len(failing) < args.min_failing:
        passing = [describe(c) for c in checks if c.get("status") != "fail"]
        raise Failed(f"only {len(failing)}/10 fail (at least {args.min_failing} expected); {'; '.join(passing)}")
    findings = sum(len(c["findings"]) for c in failing)
    others = [f"{c['id']}={c.get('status')}" for c in checks if c.get("status") != "fail"]
    tail = f"; not failing: {', '.join(others)}" if others else ""
    return f"{len(failing)}/10 fail ({findings} findings){tail}"


FIX_ORDER = ["required_tools", "storage_mounts", "mount_options", "io_schedulers", "trim_timer",
             "directory_structure", "model_directories", "symlinks", "scripts", "backup_cron"]


def earlier_fix_waited_for(check):
    """The earlier fixer every refusal of this dry-run fix waits for, or None.

    A dry run plans each fixer on the unchanged system (SPEC section 4 runs them in order for real), so a fix
    that needs what an earlier one makes (a directory, an fstab entry) says so, naming that fix."""
    refusals = fix_of(check).get("refusals") or []
    if not refusals or actions_of(check):
        return None
    position = FIX_ORDER.index(check["id"]) if check.get("id") in FIX_ORDER else -1
    named = None
    for refusal in refusals:
        text = refusal.get("by_hand") or ""
        earlier = [f for f in FIX_ORDER[:position] if f"fix {f}" in text or f"the {f} fix" in text]
        if not earlier:
            return None
        named = earlier[0]
    return named


def planned_or_waiting(check, by_id, depth=0):
    """A plan of its own, or a wait for an earlier fix that itself has a plan (or waits, in turn)."""
    if fix_of(check).get("status") == "planned" and actions_of(check):
        return True
    earlier = earlier_fix_waited_for(check)
    return depth < len(FIX_ORDER) and earlier in by_id and planned_or_waiting(by_id[earlier], by_id, depth + 1)


def step_dry_run(args):
    """Step 2: a plan for each failing check (or a wait for an earlier fix that has one); none for the others."""
    _, checks = load(args.json, "dry-run")
    failing = [c for c in checks if c.get("status") == "fail"]
    if not failing:
        raise Failed("no check fails in the dry run: the sandbox is not fresh")
    by_id = {c.get("id"): c for c in checks}
    unplanned = [describe(c) for c in failing if not planned_or_waiting(c, by_id)]
    if unplanned:
        raise Failed("failing checks without a plan: " + "; ".join(unplanned))
    # SPEC section 2: the dry run shows a unified diff for every file it would write.
    no_diff = [
        f"{c['id']}: {a.get('target')}"
        for c in checks
        for a in actions_of(c)
        if a.get("kind") == "write_file" and not a.get("diff")
    ]
    if no_diff:
        raise Failed("file writes planned without a diff: " + "; ".join(no_diff))
    stray = [describe(c) for c in checks if c.get("status") == "pass" and actions_of(c)]
    if stray:
        raise Failed("passing checks with planned actions: " + "; ".join(stray))
    actions = sum(len(actions_of(c)) for c in checks)
    refusals = sum(len(fix_of(c).get("refusals") or []) for c in checks)
    tail = f", {refusals} refusals" if refusals else ""
    return f"{len(failing)} plans ({actions} actions{tail})"


def step_converge(args):
    """Step 3: every check passes; each one that failed before was fixed."""
    _, checks = load(args.json, "fix")
    require_all_pass(checks)
    unfixed = [describe(c) for c in checks if c.get("before") != "pass" and fix_of(c).get("status") != "fixed"]
    if unfixed:
        raise Failed("checks that failed before and pass now without a 'fixed' fix: " + "; ".join(unfixed))
    fixed = with_status(checks, "fail", key="before")
    actions = sum(len(actions_of(c)) for c in checks)
    return f"10/10 pass ({len(fixed)} fixed, {actions} actions)"


def step_idempotent(args):
    """Step 4: a second --fix finds nothing to do."""
    _, checks = load(args.json, "fix")
    require_all_pass(checks)
    busy = [describe(c) for c in checks if c.get("before") != "pass" or actions_of(c)]
    if busy:
        raise Failed("a second --fix had work to do: " + "; ".join(busy))
    statuses = {fix_of(c).get("status") for c in checks if fix_of(c)}
    if statuses - {"not_needed"}:
        raise Failed(f"fix statuses {sorted(statuses)}, expected only not_needed")
    return "10/10 pass, 0 actions"


def step_drift(args):
    """Step 5: exactly the drifted checks failed before; they were fixed; everything passes."""
    _, checks = load(args.json, "fix")
    drifted = args.drifted.split(",")
    before = with_status(checks, "fail", key="before")
    if sorted(before) != sorted(drifted):
        raise Failed(f"failing before the fix: {before or 'none'}, expected exactly {drifted}")
    require_all_pass(checks)
    unfixed = [describe(c) for c in checks if c["id"] in drifted and fix_of(c).get("status") != "fixed"]
    if unfixed:
        raise Failed("drifted checks not 'fixed': " + "; ".join(unfixed))
    busy = [describe(c) for c in checks if c["id"] not in drifted and actions_of(c)]
    if busy:
        raise Failed("checks that did not drift had actions: " + "; ".join(busy))
    actions = sum(len(actions_of(c)) for c in checks)
    return f"{len(drifted)} drifted ({', '.join(drifted)}), all fixed with {actions} actions; 10/10 pass"


def step_trap(args):
    """Step 7: the refused check still fails, naming the obstacle; the other broken checks are fixed."""
    _, checks = load(args.json, "fix")
    by_id = {c["id"]: c for c in checks}
    refused = by_id[args.refused]
    if refused.get("status") != "fail" or fix_of(refused).get("status") != "refused":
        raise Failed(f"expected {args.refused} to fail with a refused fix: {describe(refused)}")
    text = json.dumps(fix_of(refused))
    if args.subject not in text:
        raise Failed(f"the refusal of {args.refused} does not name {args.subject}: {fix_of(refused).get('message')}")
    fixed = args.fixed.split(",")
    for check_id in fixed:
        c = by_id[check_id]
        if c.get("before") != "fail" or c.get("status") != "pass" or fix_of(c).get("status") != "fixed":
            raise Failed(f"expected {check_id} to be broken, then fixed: {describe(c)}")
    others = [describe(c) for c in checks if c["id"] != args.refused and c.get("status") != "pass"]
    if others:
        raise Failed("checks other than the refused one do not pass: " + "; ".join(others))
    return f"{args.refused} refused ({args.subject}), {', '.join(fixed)} fixed; 9/10 pass"


def step_junit(args):
    """Every step: the JUnit file parses and agrees with the JSON (one testcase per check, failures alike)."""
    try:
        with open(args.json, encoding="utf-8") as f:
            checks = json.load(f).get("checks") or []
    except (OSError, ValueError) as e:
        raise Failed(f"the JSON report {args.json} is unreadable: {e}")
    try:
        tree = ET.parse(args.junit)
    except (OSError, ET.ParseError) as e:
        raise Failed(f"the JUnit report {args.junit} does not parse: {e}")
    cases = {tc.get("name"): tc for tc in tree.getroot().iter("testcase")}
    if sorted(cases) != sorted(CHECK_IDS):
        raise Failed(f"JUnit testcases {sorted(cases)}, expected the ten check ids")
    for c in checks:
        has_failure = cases[c["id"]].find("failure") is not None
        if has_failure != (c.get("status") == "fail"):
            raise Failed(f"JUnit and JSON disagree on {c['id']}: JSON {c.get('status')}, JUnit failure={has_failure}")
    return "JUnit agrees"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("check")
    p.add_argument("json")
    p.add_argument("--min-failing", type=int, default=8)
    p.set_defaults(run=step_check)
    for name, run in [("dry-run", step_dry_run), ("converge", step_converge), ("idempotent", step_idempotent)]:
        p = sub.add_parser(name)
        p.add_argument("json")
        p.set_defaults(run=run)
    p = sub.add_parser("drift")
    p.add_argument("json")
    p.add_argument("--drifted", required=True, help="comma-separated check ids")
    p.set_defaults(run=step_drift)
    p = sub.add_parser("trap")
    p.add_argument("json")
    p.add_argument("--refused", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--fixed", required=True, help="comma-separated check ids")
    p.set_defaults(run=step_trap)
    p = sub.add_parser("junit")
    p.add_argument("json")
    p.add_argument("junit")
    p.set_defaults(run=step_junit)
    args = parser.parse_args()
    try:
        print(args.run(args))
    except Failed as e:
        print(e)
        sys.exit(1)


if __name__ == "__main__":
    main()
