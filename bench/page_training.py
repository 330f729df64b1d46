"""Training from the page in a real browser vs the same run without a page, interleaved.

``page`` runs start the dashboard (``streamlit run dashboard.py``), open the Training page in
``--tabs`` headless Chromium tabs (Playwright, Debian's ``/usr/bin/chromium``), press Train in
the first and keep every tab open on the live view until the run is done; ``cli`` runs train
the same configuration with ``python -m catdog train`` (the same ``train_run``, no Streamlit).
Both report the run's own ``wall_seconds`` from ``run.json`` (run created → test score) and
the CPU seconds of the server or the CLI (the CLI's include TensorFlow's import and the dataset scan;
since 4 Dec 2026 a server trains in a child process, whose CPU is not counted in the server's) and of
the browser, so the difference is what an open page costs the job: its live fragment reruns every 2 s
per tab while a job trains.

    .venv/bin/python bench/page_training.py --model model1 --epochs 2 --tabs 2 --runs 2
    .venv/bin/python bench/page_training.py --idle 60 --tabs 2 --epochs 1

``--idle SECONDS`` measures instead what open tabs cost while nothing trains: CPU seconds of
server and browser over that many seconds with the Training page open and no job yet, then again
after a job (``--epochs`` of ``--model``, started from the first tab) has finished and its curves
stay on the page.

Needs the real dataset (``$CATDOG_DATA_DIR`` or ``../shared``), Playwright and Chromium; prints a
markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_DATA, REPO

sys.path.insert(0, str(REPO))

from tests.browser import helpers as web  # noqa: E402  (the browser tests' server and page helpers)

MODELS = ("model1", "model2", "model3")


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds of processes ``pids`` so far (``/proc/PID/stat``; gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))
    return total / tick


def _browser_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if "chromium" in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@contextlib.contextmanager
def training_pages(args, folder: Path):
    """A dashboard server and ``args.tabs`` Chromium tabs open on its Training page: yields ``(server, pages)``."""
    from playwright.sync_api import sync_playwright

    server = web.AppServer(Path(args.data_dir), folder / "runs", folder / "logs").start()
    try:
        with sync_playwright() as playwright:
            browser = web.launch_browser(playwright)
            pages = [browser.new_context(viewport=web.VIEWPORT).new_page() for _ in range(args.tabs)]
            for page in pages:
                web.open_app(page, server, "training")
            yield server, pages
            browser.close()
    finally:
        server.stop()


def _train_from(page, server, args) -> tuple[str, dict]:
    """Set up ``args.model`` for ``args.epochs`` in ``page``, press Train, wait for the run: ``(run id, record)``."""
    web.set_training(page, epochs=args.epochs, batch=32, model=args.model)
    run_id = web.start_training(page, server, epochs=args.epochs, batch=32)
    return run_id, web.wait_for_run_status(server.runs_dir, run_id, timeout=args.limit)


def page_run(args, folder: Path) -> dict:
    with training_pages(args, folder) as (server, pages):
        server_cpu, browser_cpu = _cpu_seconds([server.process.pid]), _cpu_seconds(_browser_pids())
        run_id, record = _train_from(pages[0], server, args)
        server_cpu = _cpu_seconds([server.process.pid]) - server_cpu
        browser_cpu = _cpu_seconds(_browser_pids()) - browser_cpu
    return {**_row("page", record, server.runs_dir / run_id), "process_cpu_seconds": server_cpu,
            "browser_cpu_seconds": browser_cpu}


def idle_run(args, folder: Path) -> list[dict]:
    """CPU of server and browser over ``args.idle`` seconds with tabs open and no job running."""
    rows = []

    def measure(server, state: str) -> None:
        time.sleep(3)  # let the pages settle
        server_cpu, browser_cpu = _cpu_seconds([server.process.pid]), _cpu_seconds(_browser_pids())
        time.sleep(args.idle)
        rows.append({"state": state, "seconds": args.idle,
                     "server_cpu_seconds": _cpu_seconds([server.process.pid]) - server_cpu,
                     "browser_cpu_seconds": _cpu_seconds(_browser_pids()) - browser_cpu})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    with training_pages(args, folder) as (server, pages):
        measure(server, "no job yet")
        _train_from(pages[0], server, args)
        measure(server, f"{args.model} finished, curves on the page")
    return rows


def cli_run(args, folder: Path) -> dict:
    runs = folder / "runs"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CATDOG_DATA_DIR": args.data_dir}
    done = subprocess.run([sys.executable, "-m", "catdog", "train", "--model", args.model, "--epochs",
                           str(args.epochs), "--runs-dir", str(runs)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=args.limit)
    if done.returncode != 0:
        raise SystemExit(f"cli run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    (run_dir,) = [p for p in runs.iterdir() if (p / "run.json").is_file()]
    return {**_row("cli", json.loads((run_dir / "run.json").read_text()), run_dir), "process_cpu_seconds": cpu,
            "browser_cpu_seconds": 0.0}


def _row(path: str, record: dict, run_dir: Path) -> dict:
    import csv

    with open(run_dir / "history.csv", newline="") as f:
        epochs = [row for row in csv.DictReader(f)]
    return {"path": path, "status": record["status"], "wall_seconds": record.get("wall_seconds"),
            "epochs": len(epochs), "val_accuracy": float(epochs[-1]["val_accuracy"]) if epochs else None,
            "test_accuracy": (record.get("test") or {}).get("accuracy")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="model1", choices=MODELS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tabs", type=int, default=2, help="browser tabs open on the Training page")
    parser.add_argument("--runs", type=int, default=2, help="runs per path, interleaved page, cli, cli, page, …")
    parser.add_argument("--limit", type=float, default=900, help="seconds a run may take")
    parser.add_argument("--idle", type=float, default=0,
                        help="instead: CPU over this many seconds with the tabs open and nothing training")
    parser.add_argument("--data-dir", default=os.environ.get("CATDOG_DATA_DIR") or str(DEFAULT_DATA))
    args = parser.parse_args(argv)
    if not (Path(args.data_dir) / "train").is_dir():
        parser.error(f"no dataset at {args.data_dir} (give --data-dir or set CATDOG_DATA_DIR)")
    if reason := web.browser_missing_reason():
        parser.error(reason)
    if args.idle:
        with tempfile.TemporaryDirectory(prefix="catdog-bench-") as tmp:
            rows = idle_run(args, Path(tmp))
        print(f"\n{args.tabs} tab(s) open on the Training page, nothing training; "
              f"load average after: {os.getloadavg()[0]:.1f}\n")
        print("| page shows | seconds | server CPU s | browser CPU s | CPU % of one core (both) |")
        print("|---|---:|---:|---:|---:|")
        for r in rows:
            share = (r["server_cpu_seconds"] + r["browser_cpu_seconds"]) / r["seconds"]
            print(f"| {r['state']} | {r['seconds']:.0f} | {r['server_cpu_seconds']:.1f} | "
                  f"{r['browser_cpu_seconds']:.1f} | {share:.1%} |")
        return 0
    order = [("page", "cli") if i % 2 == 0 else ("cli", "page") for i in range(args.runs)]
    rows = []
    for pair in order:
        for path in pair:
            with tempfile.TemporaryDirectory(prefix="catdog-bench-") as tmp:
                print(f"… {path}", file=sys.stderr, flush=True)
                rows.append((page_run if path == "page" else cli_run)(args, Path(tmp)))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"\n{args.model}, {args.epochs} epochs, batch 32, real data; page runs with {args.tabs} tab(s) open; "
          f"load average after: {os.getloadavg()[0]:.1f}\n")
    print("| run | path | run wall s (created → test score) | server / CLI CPU s | browser CPU s | status | "
          "val. acc. | test acc. |")
    print("|---:|---|---:|---:|---:|---|---:|---:|")
    for i, r in enumerate(rows, 1):
        val = f"{r['val_accuracy']:.1%}" if r["val_accuracy"] is not None else "–"
        test = f"{r['test_accuracy']:.1%}" if r["test_accuracy"] is not None else "–"
        print(f"| {i} | {r['path']} | {r['wall_seconds']:.1f} | {r['process_cpu_seconds']:.1f} | "
              f"{r['browser_cpu_seconds']:.1f} | {r['status']} | {val} | {test} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
