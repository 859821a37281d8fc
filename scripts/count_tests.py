#!/usr/bin/env python3
"""Counts test cases in meson's logs and prints 'N passed, N failed'.

With protocol 'gtest', meson folds each gtest case (and so each RapidCheck
property) into its JUnit log as its own testcase; other tests count once
each. A test that failed without a failing case in the JUnit log (it
crashed, timed out, or its cases passed but it exited non-zero) counts as
one more failure, so a crash can never pass unnoticed. Given several log
directories (one per build), it prints their sum.
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def count(logdir):
    """Returns (passed, failed) for one build's logs: every meson test run
    it holds (testlog.*, and testlog-NAME.* of a run given --logbase)."""
    bases = sorted(glob.glob(os.path.join(logdir, "testlog*.junit.xml")))
    if not bases:
        print(f"count_tests: no meson test log in {logdir}", file=sys.stderr)
        return 0, 1
    passed = failed = 0
    for junit in bases:
        p, f = count_one(junit, junit[: -len(".junit.xml")] + ".json")
        passed += p
        failed += f
    return passed, failed


def count_one(junit, jlog):
    """Returns (passed, failed) for one meson test run's logs."""
    logdir = os.path.dirname(junit)
    try:
        root = ET.parse(junit).getroot()
        results = [json.loads(line) for line in open(jlog) if line.strip()]
    except (OSError, ET.ParseError, ValueError) as e:
        print(f"count_tests: cannot read meson's test logs in {logdir}: {e}", file=sys.stderr)
        return 0, 1
    passed = failed = 0
    failing_suites = set()
    for suite in root.iter("testsuite"):
        for case in suite.findall("testcase"):
            if case.find("skipped") is not None:
                continue
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failing_suites.add(suite.get("name", ""))
            else:
                passed += 1
    for r in results:
        if r.get("result") in ("OK", "SKIP", "EXPECTEDFAIL"):
            continue
        name = r.get("name", "")
        if not any(name in s.split(".") or s.endswith("." + name) for s in failing_suites):
            print(f"count_tests: {name} ended {r.get('result')} without a failing case",
                  file=sys.stderr)
            failed += 1
    return passed, failed


def main(logdirs):
    """Sums the counts of every build's logs (.ci/run: normal and sanitizer)."""
    passed = failed = 0
    for logdir in logdirs:
        p, f = count(logdir)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["build/meson-logs"]))
