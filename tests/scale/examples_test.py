#!/usr/bin/env python3
"""scale-examples (tests/scale/meson.build): the scale-out examples of
docs/scale-out/ run locally as their engine would run them.

    python3 tests/scale/examples_test.py AFTERSHOCK_BINARY SOURCE_DIR [--dry-run]

For each example (a Kubernetes Indexed Job, a GitHub Actions workflow, a
GitLab CI pipeline) the file is parsed with yaml.safe_load and the shard and
merge commands are found by their place in the structure:

- k8s-indexed-job.yaml: the Job with completionMode Indexed (completions and
  parallelism 4) is the shards; the other Job is the merge. Each pod runs its
  container's command + args, with $(VAR) expanded as Kubernetes does
  (JOB_COMPLETION_INDEX=0..3 and the container's env), each volume's
  mountPath mapped into the temporary directory (one directory per
  PersistentVolumeClaim, shared by both Jobs) and workingDir mapped to a
  checkout.
- github-actions.yml: the job with strategy.matrix.shard is the shards
  (${{ matrix.shard }} = 1..4); the job that `needs` it is the merge. Their
  `run:` steps that invoke aftershock run with `bash -e`, and so does the
  step that appends to $GITHUB_STEP_SUMMARY (a file here, checked).
  actions/upload-artifact and actions/download-artifact are played by copies
  (v4's layout: without `name`, each artifact into PATH/NAME/); the other
  actions (checkout, upload-sarif) and the setup steps are skipped, but the
  files they would upload must exist.
- gitlab-ci.yml: the job with `parallel` (4) is the shards (CI_NODE_INDEX=
  1..4, CI_NODE_TOTAL=4); the job that `needs` it is the merge. Their
  script lines that invoke aftershock run with bash; artifacts:paths are
  copied from each shard to the merge's directory, as GitLab passes them.

The commands run unchanged. A "checkout" in the temporary directory holds a
symbolic link to each top-level entry of SOURCE_DIR (scenarios/, targets/,
...): it is the working directory of the shards, so their relative outputs
land in the temporary directory; the merge job gets a checkout of its own,
as it would on another runner. PATH starts with the directory of
AFTERSHOCK_BINARY. At most two shards run at once.

Checks: every shard exits 0 and writes report.json whose "shard" is the
right index/4 with the right source (JOB_COMPLETION_INDEX, --shard,
CI_NODE_INDEX); the merge exits 0 and writes report.json (merged_shards 4,
its counts the sum of the shards'), junit.xml, summary.md, report.html and
results.sarif. One line per example:
`k8s-indexed-job.yaml: 4 shards + merge ok (12.3 s)`. Exit 1 on any
failure, 2 on bad usage. The temporary directory is always removed.

--dry-run parses the examples and prints what would run, without running
it (no binary needed).
"""

import argparse
import fnmatch
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

SHARDS = 4
AT_ONCE = 2  # shards running at the same time (a 2-core machine)
COMMAND_TIMEOUT_S = 400
REPORTS = ("report.json", "junit.xml", "summary.md", "report.html", "results.sarif")
EXAMPLES = ("k8s-indexed-job.yaml", "github-actions.yml", "gitlab-ci.yml")

# Variables aftershock reads to choose a shard: never inherited from the
# environment this test runs in (a CI job, a Slurm allocation).
SHARD_VARIABLES = re.compile(r"^(JOB_COMPLETION_INDEX|CI_NODE_INDEX|CI_NODE_TOTAL|SLURM_.*)$")

print_lock = threading.Lock()
running = {}  # pid -> Popen, the commands running now
running_lock = threading.RLock()  # also taken by the signal handler, in the main thread
interrupted = threading.Event()


def say(text):
    with print_lock:
        print(text, flush=True)


class Failure(Exception):
    """A check failed: the message says which and why."""


def require(condition, message):
    if not condition:
        raise Failure(message)


# --- the temporary directory -------------------------------------------------


class Tmp:
    """Paths under the temporary root, printed as $TMP/..."""

    def __init__(self, root):
        self.root = root

    def show(self, text):
        return text.replace(self.root, "$TMP")


# The built-in scenarios the examples run, here: a correct queue, a bug
# variant and a fan-out keep the test quick (three engines, four shards
# each); harness-shard and scale-slurm run every one of them.
QUICK_SCENARIOS = ["single-message.toml", "bug-no-dir-fsync.toml", "fanout-workfile.toml"]


def make_checkout(source_dir, where):
    """A directory that looks like the checkout: a link to each top-level
    entry of source_dir, except hidden ones and earlier outputs; scenarios/
    holds QUICK_SCENARIOS only."""
    os.makedirs(where)
    for name in sorted(os.listdir(source_dir)):
        if name.startswith(".") or name == "aftershock-out" or name.startswith("shard-") or name == "merged":
            continue
        if name == "scenarios":
            os.makedirs(os.path.join(where, name))
            for f in QUICK_SCENARIOS:
                os.symlink(os.path.join(source_dir, name, f), os.path.join(where, name, f))
            continue
        os.symlink(os.path.join(source_dir, name), os.path.join(where, name))
    return where


def base_environment(aftershock_dir):
    env = {k: v for k, v in os.environ.items() if not SHARD_VARIABLES.match(k)}
    env["PATH"] = aftershock_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    return env


# --- actions: what a job does, in order --------------------------------------


class Job:
    """One pod or CI job: actions run in order in `cwd` with `env`."""

    def __init__(self, label, cwd, env, shard=None):
        self.label = label
        self.cwd = cwd
        self.env = env
        self.shard = shard  # (index, count, source) for a shard
        self.out = None  # its --out, absolute, once known
        self.actions = []
        self.logs = None  # directory for the commands' output

    def add(self, action):
        self.actions.append(action)


class Run:
    """A command; argv as the engine would start it."""

    def __init__(self, argv, shown, extra_env=None):
        self.argv = argv
        self.shown = shown
        self.extra_env = extra_env or {}

    def describe(self, job, tmp):
        env = "".join(f"{k}={v} " for k, v in sorted(self.extra_env.items()))
        return f"$ {env}{tmp.show(self.shown)}    (in {tmp.show(job.cwd)})"

    def do(self, job, tmp, number):
        log = os.path.join(job.logs, f"{number:02d}.log")
        env = dict(job.env)
        env.update(self.extra_env)
        started = time.monotonic()
        with open(log, "wb") as out:
            with running_lock:
                if interrupted.is_set():
                    raise Failure(f"{job.label}: interrupted")
                try:
                    p = subprocess.Popen(self.argv, cwd=job.cwd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                except OSError as e:
                    raise Failure(f"{job.label}: cannot start {self.argv[0]}: {e}")
                running[p.pid] = p
            try:
                status = p.wait(timeout=COMMAND_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                stop(p)
                status = None
            finally:
                with running_lock:
                    running.pop(p.pid, None)
        with open(log, "rb") as f:
            output = f.read().decode("utf-8", "replace")
        if interrupted.is_set():
            raise Failure(f"{job.label}: interrupted")
        took = time.monotonic() - started
        if status != 0:
            tail = "\n".join("    | " + line for line in output.splitlines()[-30:])
            how = f"did not end within {COMMAND_TIMEOUT_S} s" if status is None else f"exited {status}"
            raise Failure(f"{job.label}: `{tmp.show(self.shown)}` {how} after {took:.1f} s; its output "
                          f"(last 30 lines):\n{tmp.show(tail)}")
        say(f"  [{job.label}] exit 0 ({took:.1f} s)")
        return output


class CopyOut:
    """actions/upload-artifact, GitLab artifacts:paths: keep files of the
    job's directory in the artifact store."""

    def __init__(self, what, paths, store, name):
        self.what = what
        self.paths = paths  # relative to the job's cwd; globs
        self.store = store
        self.name = name

    def describe(self, job, tmp):
        return f"[{self.what}] artifact {self.name!r}: {' '.join(self.paths)}"

    def do(self, job, tmp, number):
        dest = os.path.join(self.store, self.name)
        require(not os.path.exists(dest), f"{job.label}: artifact {self.name!r} uploaded twice")
        os.makedirs(dest)
        for pattern in self.paths:
            found = sorted(glob.glob(os.path.join(job.cwd, pattern)))
            require(found, f"{job.label}: {self.what}: nothing matches {pattern!r} in {tmp.show(job.cwd)}")
            if self.what == "upload-artifact":
                # v4: a single directory is uploaded as its contents.
                require(len(found) == 1 and os.path.isdir(found[0]),
                        f"{job.label}: upload-artifact path {pattern!r}: this test plays one directory only")
                shutil.copytree(found[0], dest, symlinks=True, dirs_exist_ok=True)
            else:
                # GitLab keeps paths relative to the project directory.
                for f in found:
                    rel = os.path.relpath(f.rstrip("/"), job.cwd)
                    if os.path.isdir(f):
                        shutil.copytree(f, os.path.join(dest, rel), symlinks=True, dirs_exist_ok=True)
                    else:
                        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                        shutil.copy2(f, os.path.join(dest, rel))


class CopyIn:
    """actions/download-artifact, GitLab's artifacts of `needs`: artifacts
    from the store into the job's directory."""

    def __init__(self, what, store, select, layout, path="."):
        self.what = what
        self.store = store
        self.select = select  # artifact name -> bool
        self.layout = layout  # "own-dir": each into PATH/NAME/; "merge": all into PATH
        self.path = path

    def describe(self, job, tmp):
        return f"[{self.what}] artifacts into {self.path} ({self.layout})"

    def do(self, job, tmp, number):
        names = sorted(n for n in os.listdir(self.store) if self.select(n)) if os.path.isdir(self.store) else []
        require(names, f"{job.label}: {self.what}: no artifact to download")
        for name in names:
            dest = os.path.join(job.cwd, self.path)
            if self.layout == "own-dir":
                dest = os.path.join(dest, name)
            shutil.copytree(os.path.join(self.store, name), dest, symlinks=True, dirs_exist_ok=True)


class MustExist:
    """A step that only the engine can run (upload-sarif, a report upload):
    the file it takes must be there."""

    def __init__(self, what, path):
        self.what = what
        self.path = path

    def describe(self, job, tmp):
        return f"[{self.what}] skipped (engine only); needs {self.path}"

    def do(self, job, tmp, number):
        require(os.path.exists(os.path.join(job.cwd, self.path)),
                f"{job.label}: {self.what} would find no {self.path}")


class Skip:
    def __init__(self, what):
        self.what = what

    def describe(self, job, tmp):
        return f"skip: {self.what}"

    def do(self, job, tmp, number):
        pass


def stop(p):
    """Ends a command this test started, and what it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            p.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


# --- shell-ish helpers -------------------------------------------------------


def invokes_aftershock(text):
    return re.search(r"(^|[\s;&|(`])aftershock(\s|$)", text, re.M) is not None


def expand_dollar(text, env):
    """$VAR and ${VAR} as a shell would, for the paths the test must know
    (GitLab artifacts:paths, an --out)."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def out_dir_of(command_text, env, cwd):
    """The --out of the aftershock command in `command_text`, absolute."""
    for line in command_text.splitlines():
        if not invokes_aftershock(line):
            continue
        words = shlex.split(line, comments=True)
        for i, w in enumerate(words):
            if w == "--out" and i + 1 < len(words):
                return os.path.normpath(os.path.join(cwd, expand_dollar(words[i + 1], env)))
            if w.startswith("--out="):
                return os.path.normpath(os.path.join(cwd, expand_dollar(w[len("--out="):], env)))
        return os.path.join(cwd, "aftershock-out")
    raise Failure(f"no aftershock command in {command_text!r}")


def lines_of(value, where):
    """A GitLab script: a string or a list of strings (lists may nest)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    require(isinstance(value, list), f"{where}: expected a list of lines")
    out = []
    for v in value:
        out.extend(lines_of(v, where))
    return out


# --- Kubernetes --------------------------------------------------------------


def expand_k8s(text, env):
    """$(VAR) references in command/args as Kubernetes expands them: a
    defined variable is replaced, $$ is a literal $, anything else stays."""
    def one(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def map_paths(text, mounts):
    for mount, local in mounts:
        text = re.sub(r"(?<![\w./-])" + re.escape(mount.rstrip("/")) + r"(?![\w.-])", local, text)
    return text


def k8s_pod(job_doc, what, tmp, checkout, base_env, index=None):
    """The Job's pod: its command and its mounts mapped into tmp."""
    name = job_doc.get("metadata", {}).get("name", "?")
    pod = ((job_doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    require(pod.get("restartPolicy") in ("Never", "OnFailure"),
            f"Job {name}: a Job's pod needs restartPolicy Never or OnFailure")
    containers = pod.get("containers") or []
    require(len(containers) == 1 and not pod.get("initContainers"),
            f"Job {name}: this test plays one container per pod, found {len(containers)}")
    c = containers[0]
    require(c.get("command"), f"Job {name}: container {c.get('name')} has no command (the image's "
            "entrypoint is unknown here)")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = []
    for vm in c.get("volumeMounts") or []:
        v = volumes.get(vm["name"])
        require(v is not None, f"Job {name}: volumeMount {vm['name']} names no volume")
        if "persistentVolumeClaim" in v:
            local = os.path.join(tmp.root, "k8s", "pvc-" + v["persistentVolumeClaim"]["claimName"])
        elif "emptyDir" in v:
            local = os.path.join(tmp.root, "k8s", f"emptydir-{name}-{index}-{vm['name']}")
        else:
            raise Failure(f"Job {name}: volume {vm['name']}: this test plays persistentVolumeClaim "
                          "and emptyDir volumes only")
        os.makedirs(local, exist_ok=True)
        mounts.append((vm["mountPath"], local))
    env = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = expand_k8s(str(e["value"]), env)
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)  # the Job controller sets it
    argv = [map_paths(expand_k8s(str(a), env), mounts) for a in list(c["command"]) + list(c.get("args") or [])]
    job_env = dict(base_env)
    job_env.update(env)
    label = f"{what}" if index is None else f"{what} (JOB_COMPLETION_INDEX={index})"
    job = Job(label, checkout, job_env)
    shown = shlex.join(argv)
    job.add(Run(argv, shown, {"JOB_COMPLETION_INDEX": str(index)} if index is not None else {}))
    if argv[:2] == ["sh", "-c"] or argv[:2] == ["/bin/sh", "-c"]:
        job.out = out_dir_of(argv[2], job_env, checkout)
    else:
        job.out = out_dir_of(shlex.join(argv), job_env, checkout)
    return job


def plan_k8s(path, tmp, source_dir, base_env):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    jobs = [d for d in docs if d.get("kind") == "Job"]
    indexed = [j for j in jobs if (j.get("spec") or {}).get("completionMode") == "Indexed"]
    require(len(indexed) == 1, f"expected one Job with completionMode: Indexed, found {len(indexed)}")
    shards_doc = indexed[0]
    spec = shards_doc["spec"]
    require(spec.get("completions") == SHARDS, f"the Indexed Job's completions is {spec.get('completions')}, "
            f"expected {SHARDS}")
    require(spec.get("parallelism") == SHARDS, f"the Indexed Job's parallelism is {spec.get('parallelism')}, "
            f"expected {SHARDS}")
    others = [j for j in jobs if j is not shards_doc]
    require(len(others) == 1, f"expected one more Job (the merge), found {len(others)}")
    merge_doc = others[0]
    require((merge_doc.get("spec") or {}).get("completions", 1) == 1,
            "the merge Job must run one pod")
    checkout = make_checkout(source_dir, os.path.join(tmp.root, "k8s", "checkout"))
    shards = []
    for index in range(SHARDS):
        job = k8s_pod(shards_doc, f"shard pod {index + 1}/{SHARDS}", tmp, checkout, base_env, index)
        job.shard = (index + 1, SHARDS, "JOB_COMPLETION_INDEX")
        shards.append(job)
    merge = k8s_pod(merge_doc, "merge pod", tmp, checkout, base_env)
    return shards, merge, None


# --- GitHub Actions ----------------------------------------------------------


def gh_expand(text, values, where):
    def one(m):
        expr = m.group(1).strip()
        require(expr in values, f"{where}: expression ${{{{ {expr} }}}} is not played by this test")
        return values[expr]
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def gh_needs(job):
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def gh_job(job_id, job, values, label, cwd, env, store, tmp, shard=None):
    j = Job(label, cwd, env, shard)
    summary = os.path.join(tmp.root, "github", f"step-summary-{label.replace(' ', '-').replace('/', 'of')}")
    j.summary = summary
    j.env = dict(env)
    j.env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": cwd, "GITHUB_JOB": job_id,
                  "GITHUB_STEP_SUMMARY": summary})
    for k, v in (job.get("env") or {}).items():
        j.env[k] = gh_expand(v, values, f"jobs.{job_id}.env")
    commands = []
    for n, step in enumerate(job.get("steps") or []):
        where = f"jobs.{job_id}.steps[{n}]"
        uses = step.get("uses")
        with_ = step.get("with") or {}
        if uses:
            action = uses.split("@")[0]
            if action == "actions/upload-artifact":
                name = gh_expand(with_.get("name", "artifact"), values, where)
                paths = [gh_expand(p.strip(), values, where) for p in str(with_["path"]).splitlines() if p.strip()]
                j.add(CopyOut("upload-artifact", paths, store, name))
            elif action == "actions/download-artifact":
                require(step.get("with") is not None, f"{where}: download-artifact without `with`")
                path = gh_expand(with_.get("path", "."), values, where)
                if "name" in with_:
                    name = gh_expand(with_["name"], values, where)
                    j.add(CopyIn("download-artifact", store, lambda n, name=name: n == name, "merge", path))
                else:
                    pattern = gh_expand(with_.get("pattern", "*"), values, where)
                    layout = "merge" if with_.get("merge-multiple") else "own-dir"
                    j.add(CopyIn("download-artifact", store,
                                 lambda n, p=pattern: fnmatch.fnmatchcase(n, p), layout, path))
            elif action == "github/codeql-action/upload-sarif":
                j.add(MustExist("upload-sarif", gh_expand(with_.get("sarif_file", "../results"), values, where)))
            else:
                j.add(Skip(f"uses: {uses} (engine only)"))
            continue
        run = step.get("run")
        require(run is not None, f"{where}: neither `uses` nor `run`")
        if not (invokes_aftershock(run) or "GITHUB_STEP_SUMMARY" in run):
            j.add(Skip(f"run: {run.strip()} (setup)"))
            continue
        text = gh_expand(run, values, where)
        step_env = {k: gh_expand(v, values, where) for k, v in (step.get("env") or {}).items()}
        script = os.path.join(tmp.root, "github", f"{job_id}-{label.replace(' ', '-').replace('/', 'of')}-step{n}.sh")
        with open(script, "w") as f:
            f.write(text)
        run_cwd = os.path.join(cwd, step["working-directory"]) if "working-directory" in step else cwd
        require(run_cwd == cwd, f"{where}: working-directory is not played by this test")
        # GitHub's default shell on Linux: bash -e {0}.
        j.add(Run(["bash", "-e", script], text.strip(), step_env))
        commands.append(text)
    return j, commands


def plan_github(path, tmp, source_dir, base_env):
    with open(path) as f:
        wf = yaml.safe_load(f)
    require(isinstance(wf, dict) and isinstance(wf.get("jobs"), dict), "no `jobs:` mapping")
    jobs = wf["jobs"]
    shard_ids = [i for i, j in jobs.items() if "shard" in (((j.get("strategy") or {}).get("matrix")) or {})]
    require(len(shard_ids) == 1, f"expected one job with strategy.matrix.shard, found {len(shard_ids)}")
    sid = shard_ids[0]
    values = jobs[sid]["strategy"]["matrix"]["shard"]
    require(values == list(range(1, SHARDS + 1)), f"jobs.{sid}.strategy.matrix.shard is {values}, expected "
            f"{list(range(1, SHARDS + 1))}")
    merge_ids = [i for i, j in jobs.items() if sid in gh_needs(j)]
    require(len(merge_ids) == 1, f"expected one job that needs {sid}, found {len(merge_ids)}")
    mid = merge_ids[0]
    os.makedirs(os.path.join(tmp.root, "github"))
    env = dict(base_env)
    for k, v in (wf.get("env") or {}).items():
        env[k] = str(v)
    store = os.path.join(tmp.root, "github", "artifacts")
    # Every job's workspace has the same path on the runners: the shards
    # share one checkout (each writes its own shard-N); the merge job, which
    # must see only what it downloads, gets its own.
    checkout = make_checkout(source_dir, os.path.join(tmp.root, "github", "checkout"))
    shards = []
    for v in values:
        job, commands = gh_job(sid, jobs[sid], {"matrix.shard": str(v)}, f"{sid} {v}/{SHARDS}", checkout, env,
                               store, tmp, (v, SHARDS, "--shard"))
        require(sum(invokes_aftershock(c) for c in commands) == 1,
                f"jobs.{sid}: expected one step that runs aftershock")
        job.out = out_dir_of(commands[0], job.env, checkout)
        shards.append(job)
    merge_checkout = make_checkout(source_dir, os.path.join(tmp.root, "github", "merge-checkout"))
    merge, commands = gh_job(mid, jobs[mid], {}, mid, merge_checkout, env, store, tmp)
    merges = [c for c in commands if invokes_aftershock(c)]
    require(len(merges) == 1 and re.search(r"\baftershock\s+merge\b", merges[0]),
            f"jobs.{mid}: expected one step that runs aftershock merge")
    require(any("GITHUB_STEP_SUMMARY" in c for c in commands),
            f"jobs.{mid}: no step appends to $GITHUB_STEP_SUMMARY")
    merge.out = out_dir_of(merges[0], merge.env, merge_checkout)

    def check_summary():
        with open(os.path.join(merge.out, "summary.md")) as f:
            summary = f.read()
        require(os.path.exists(merge.summary), "$GITHUB_STEP_SUMMARY was not written")
        with open(merge.summary) as f:
            require(summary in f.read(), "$GITHUB_STEP_SUMMARY does not hold the merged summary.md")
    return shards, merge, check_summary


# --- GitLab CI ---------------------------------------------------------------

GITLAB_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "types"}


def gl_variables(mapping):
    out = {}
    for k, v in (mapping or {}).items():
        out[k] = str(v["value"] if isinstance(v, dict) else v)
    return out


def gl_job(name, job, ci, label, cwd, env, store, tmp, node=None):
    default = ci.get("default") or {}
    j = Job(label, cwd, dict(env))
    j.env.update({"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": cwd, "CI_JOB_NAME": label,
                  "CI_NODE_TOTAL": "1"})  # GitLab sets CI_NODE_TOTAL on every job
    j.env.update(gl_variables(ci.get("variables")))
    j.env.update(gl_variables(job.get("variables")))
    if node is not None:
        j.env["CI_NODE_INDEX"] = str(node)
        j.env["CI_NODE_TOTAL"] = str(SHARDS)
    before = job.get("before_script", default.get("before_script", ci.get("before_script")))
    script = lines_of(before, f"{name}.before_script") + lines_of(job.get("script"), f"{name}.script")
    kept = []
    for line in script:
        if invokes_aftershock(line):
            kept.append(line)
        else:
            j.add(Skip(f"{line.strip()} (setup)"))
    require(kept, f"{name}: no script line runs aftershock")
    text = "\n".join(kept) + "\n"
    path = os.path.join(tmp.root, "gitlab", f"{label.replace(' ', '-').replace('/', 'of')}.sh")
    with open(path, "w") as f:
        f.write("set -eo pipefail\n" + text)
    extra = {"CI_NODE_INDEX": str(node), "CI_NODE_TOTAL": str(SHARDS)} if node is not None else {}
    j.add(Run(["bash", path], text.strip(), extra))
    after = job.get("after_script", default.get("after_script"))
    for line in lines_of(after, f"{name}.after_script"):
        j.add(Skip(f"after_script: {line.strip()}"))
    return j, kept


def plan_gitlab(path, tmp, source_dir, base_env):
    with open(path) as f:
        ci = yaml.safe_load(f)
    require(isinstance(ci, dict), "not a mapping")
    jobs = {k: v for k, v in ci.items()
            if k not in GITLAB_KEYWORDS and not str(k).startswith(".") and isinstance(v, dict) and "script" in v}
    parallel = [k for k, v in jobs.items() if "parallel" in v]
    require(len(parallel) == 1, f"expected one job with `parallel`, found {len(parallel)}")
    sname = parallel[0]
    require(jobs[sname]["parallel"] == SHARDS, f"{sname}.parallel is {jobs[sname]['parallel']!r}, "
            f"expected {SHARDS}")

    def needs(job):
        return [n if isinstance(n, str) else n.get("job") for n in job.get("needs") or []]
    merges = [k for k, v in jobs.items() if sname in needs(v)]
    require(len(merges) == 1, f"expected one job that needs {sname}, found {len(merges)}")
    mname = merges[0]
    stages = ci.get("stages") or ["build", "test", "deploy"]
    sstage, mstage = jobs[sname].get("stage", "test"), jobs[mname].get("stage", "test")
    require(sstage in stages and mstage in stages and stages.index(mstage) > stages.index(sstage),
            f"{mname} (stage {mstage}) must be in a later stage than {sname} (stage {sstage})")
    os.makedirs(os.path.join(tmp.root, "gitlab"))
    store = os.path.join(tmp.root, "gitlab", "artifacts")
    checkout = make_checkout(source_dir, os.path.join(tmp.root, "gitlab", "checkout"))
    shards = []
    for node in range(1, SHARDS + 1):
        label = f"{sname} {node}/{SHARDS}"
        job, kept = gl_job(sname, jobs[sname], ci, label, checkout, base_env, store, tmp, node)
        job.shard = (node, SHARDS, "CI_NODE_INDEX")
        job.out = out_dir_of("\n".join(kept), job.env, checkout)
        paths = [expand_dollar(p, job.env) for p in ((jobs[sname].get("artifacts") or {}).get("paths") or [])]
        require(paths, f"{sname}: no artifacts:paths, the merge would see nothing")
        job.add(CopyOut("artifacts", paths, store, f"{sname}-{node}"))
        shards.append(job)
    merge_checkout = make_checkout(source_dir, os.path.join(tmp.root, "gitlab", "merge-checkout"))
    merge = Job(mname, merge_checkout, {})
    merge.add(CopyIn(f"needs: {sname}", store, lambda n: re.fullmatch(re.escape(sname) + r"-\d+", n) is not None, "merge"))
    mjob, kept = gl_job(mname, jobs[mname], ci, mname, merge_checkout, base_env, store, tmp)
    merge.env = mjob.env
    merge.actions.extend(mjob.actions)
    require(len(kept) == 1 and re.search(r"\baftershock\s+merge\b", kept[0]),
            f"{mname}: expected one script line that runs aftershock merge")
    merge.out = out_dir_of(kept[0], merge.env, merge_checkout)
    artifacts = jobs[mname].get("artifacts") or {}
    junit = (artifacts.get("reports") or {}).get("junit")
    require(junit, f"{mname}: no artifacts:reports:junit")
    require(artifacts.get("when") == "always",
            f"{mname}: artifacts:when should be always (the reports matter most when the merge fails)")
    for p in lines_of(junit, f"{mname}.artifacts.reports.junit"):
        merge.add(MustExist("artifacts:reports:junit", p))
    for p in artifacts.get("paths") or []:
        merge.add(MustExist("artifacts:paths", p))
    return shards, merge, None


# --- running and checking ----------------------------------------------------


def run_job(job, tmp, dry_run):
    job.logs = os.path.join(tmp.root, "logs", re.sub(r"[^\w.-]+", "_", job.label))
    os.makedirs(job.logs, exist_ok=True)
    for number, action in enumerate(job.actions):
        if interrupted.is_set():
            raise Failure(f"{job.label}: interrupted")
        say(f"  [{job.label}] {action.describe(job, tmp)}")
        if not dry_run:
            action.do(job, tmp, number)


def load_report(directory, what):
    path = os.path.join(directory, "report.json")
    require(os.path.isfile(path), f"{what}: no {path}")
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise Failure(f"{what}: {path}: {e}")


def check_shard(job, tmp):
    report = load_report(job.out, job.label)
    index, count, source = job.shard
    want = {"index": index, "count": count, "source": source}
    require(report.get("shard") == want,
            f"{job.label}: {tmp.show(job.out)}/report.json has shard {report.get('shard')}, expected {want}")
    return report


def check_merge(job, shard_reports, tmp):
    for name in REPORTS:
        require(os.path.isfile(os.path.join(job.out, name)), f"{job.label}: no {tmp.show(job.out)}/{name}")
    require(os.path.isdir(os.path.join(job.out, "logs")), f"{job.label}: no {tmp.show(job.out)}/logs/")
    merged = load_report(job.out, job.label)
    require("shard" not in merged, f"{job.label}: the merged report.json still has a shard")
    require(merged.get("merged_shards") == SHARDS,
            f"{job.label}: merged_shards is {merged.get('merged_shards')}, expected {SHARDS}")
    require(merged.get("passed") is True, f"{job.label}: the merged report did not pass")
    # The shards split the states: the merge's counts are their sums.
    for i, scenario in enumerate(merged["scenarios"]):
        for m, model in enumerate(scenario["models"]):
            where = f"{scenario['name']} under {model['model']}"
            parts = [r["scenarios"][i]["models"][m] for r in shard_reports]
            for key in ("states_explored", "states_unique"):
                total = sum(p[key] for p in parts)
                require(model[key] == total, f"{job.label}: {where}: {key} {model[key]}, the shards' sum {total}")
            for verdict, n in model["verdicts"].items():
                total = sum(p["verdicts"][verdict] for p in parts)
                require(n == total, f"{job.label}: {where}: {verdict} {n}, the shards' sum {total}")


def run_example(name, planner, source_dir, aftershock_dir, dry_run):
    path = os.path.join(source_dir, "docs", "scale-out", name)
    started = time.monotonic()
    root = tempfile.mkdtemp(prefix="aftershock-scale-examples-")
    tmp = Tmp(root)
    try:
        say(f"{name}: $TMP={root}")
        with open(os.path.join(source_dir, "docs", "scale-out.md")) as f:
            require(f"scale-out/{name}" in f.read(), f"docs/scale-out.md does not link scale-out/{name}")
        try:
            shards, merge, extra_check = planner(path, tmp, source_dir, base_environment(aftershock_dir))
        except yaml.YAMLError as e:
            raise Failure(f"{path} does not parse: {e}")
        except (KeyError, TypeError, AttributeError) as e:
            raise Failure(f"{path}: unexpected structure ({type(e).__name__}: {e})")
        with ThreadPoolExecutor(max_workers=1 if dry_run else AT_ONCE) as pool:
            futures = [pool.submit(run_job, job, tmp, dry_run) for job in shards]
            errors = []
            for f in futures:
                try:
                    f.result()
                except Failure as e:
                    errors.append(str(e))
            if errors:
                raise Failure("\n".join(errors))
        if not dry_run:
            reports = [check_shard(job, tmp) for job in shards]
        run_job(merge, tmp, dry_run)
        if not dry_run:
            check_merge(merge, reports, tmp)
            if extra_check:
                extra_check()
        took = time.monotonic() - started
        what = "parsed, would run" if dry_run else "ok"
        say(f"{name}: {len(shards)} shards + merge {what} ({took:.1f} s)")
        return True
    except Failure as e:
        say(f"{name}: FAIL: {e}")
        return False
    finally:
        shutil.rmtree(root, ignore_errors=True)


def on_signal(signum, frame):
    interrupted.set()
    with running_lock:  # no command starts after this
        procs = list(running.values())
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("aftershock")
    parser.add_argument("source_dir")
    parser.add_argument("--dry-run", action="store_true",
                        help="parse the examples and print what would run, without running it")
    parser.add_argument("--only", action="append", choices=EXAMPLES, help="run this example only (repeatable)")
    args = parser.parse_args()
    source_dir = os.path.realpath(args.source_dir)
    aftershock = os.path.realpath(args.aftershock)
    if not args.dry_run and not os.access(aftershock, os.X_OK):
        print(f"examples_test: {args.aftershock} is not an executable", file=sys.stderr)
        return 2
    if os.path.basename(aftershock) != "aftershock":
        print(f"examples_test: {args.aftershock} must be named aftershock (the examples call it so)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    planners = {"k8s-indexed-job.yaml": plan_k8s, "github-actions.yml": plan_github, "gitlab-ci.yml": plan_gitlab}
    failed = []
    try:
        for name in args.only or EXAMPLES:
            if not run_example(name, planners[name], source_dir, os.path.dirname(aftershock), args.dry_run):
                failed.append(name)
    except KeyboardInterrupt:
        print("examples_test: interrupted", file=sys.stderr)
        return 1
    if failed:
        print(f"examples_test: FAIL: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"examples_test: {len(args.only or EXAMPLES)} example(s) ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
