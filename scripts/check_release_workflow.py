#!/usr/bin/env python3
"""Checks .github/workflows/release.yml without running it (it cannot run
here): the file is valid YAML, triggers on tags v*, runs the tests (.ci/run)
first, then publishes to npm with provenance and to JSR, each publishing
job with exactly `contents: read` and `id-token: write`.

    python3 scripts/check_release_workflow.py [path]   (needs PyYAML: Debian's python3-yaml)
"""
import sys
from pathlib import Path

import yaml

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / ".github" / "workflows" / "release.yml"
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


try:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
except yaml.YAMLError as err:
    sys.exit(f"{path}: not valid YAML: {err}")

check(isinstance(workflow, dict), "the document is a mapping")
workflow = workflow if isinstance(workflow, dict) else {}
# YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
trigger = workflow.get("on", workflow.get(True)) or {}
tags = ((trigger.get("push") or {}).get("tags") or []) if isinstance(trigger, dict) else []
check(tags == ["v*"], f"on.push.tags is [v*], not {tags!r}")
check(workflow.get("permissions") == {"contents": "read"}, "top-level permissions are contents: read only")

jobs = workflow.get("jobs") or {}
check(set(jobs) == {"test", "npm", "jsr"}, f"jobs are test, npm and jsr, not {sorted(jobs)!r}")


def runs(job):
    return "\n".join(str(s.get("run", "")) for s in (jobs.get(job) or {}).get("steps") or [] if isinstance(s, dict))


def uses(job):
    return [str(s.get("uses", "")) for s in (jobs.get(job) or {}).get("steps") or [] if isinstance(s, dict)]


check("bash .ci/run" in runs("test"), "the test job runs bash .ci/run")
check('"$GITHUB_REF_NAME" = "v$version"' in runs("test"), "the test job checks that the tag names package.json's version")
for job in ("npm", "jsr"):
    spec = jobs.get(job) or {}
    check(spec.get("needs") == "test", f"{job} needs test")
    check(spec.get("permissions") == {"contents": "read", "id-token": "write"}, f"{job} has permissions contents: read, id-token: write")
    check(any(u.startswith("actions/checkout@") for u in uses(job)), f"{job} checks out the repository")
check("npm publish --provenance --access public" in runs("npm"), "the npm job runs npm publish --provenance --access public")
check(
    any(
        (s.get("env") or {}).get("NODE_AUTH_TOKEN") == "${{ secrets.NPM_TOKEN }}"
        for s in (jobs.get("npm") or {}).get("steps") or []
        if isinstance(s, dict) and "npm publish" in str(s.get("run", ""))
    ),
    "npm publish gets NODE_AUTH_TOKEN from secrets.NPM_TOKEN",
)
setup = [s for s in (jobs.get("npm") or {}).get("steps") or [] if isinstance(s, dict) and str(s.get("uses", "")).startswith("actions/setup-node@")]
check(any((s.get("with") or {}).get("registry-url") == "https://registry.npmjs.org" for s in setup), "the npm job sets registry-url")
check("deno publish" in runs("jsr") or "jsr publish" in runs("jsr"), "the jsr job runs deno publish (or npx jsr publish)")

if problems:
    sys.exit(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))
print(f"ok - {path.name}: valid YAML; on tags v*: test (.ci/run), then npm (provenance) and JSR, with id-token: write")
