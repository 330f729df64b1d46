"""Training from the page in a real browser vs the same run without a page, interleaved.

``page`` runs start the dashboard (``streamlit run dashboard.py``), open the Training page in
``--tabs`` headless Chromium tabs (Playwright, Debian's ``/usr/bin/chromium``), press Train in
the first and keep every tab open on the live view until the run is done; ``cli`` runs train
the same configuration with ``python -m catdog train`` (the same ``train_run``, no Streamlit).
Both report the run's own ``wall_seconds`` from ``run.json`` (run created → test score) and
the CPU seconds of the process that trained (server or CLI; the CLI's include TensorFlow's import
and the dataset scan, which a server did before the click) and of the browser, so the difference is
what an open page costs the job: its live fragment reruns once a second per tab.

    .venv/bin/python bench/page_training.py --model model1 --epochs 2 --tabs 2 --runs 2

Needs the real dataset (``$CATDOG_DATA_DIR`` or ``../shared``), Playwright and Chromium; prints a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import helpers as web  # noqa: E402  (the browser tests' server and page helpers)

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cats_and_dogs_filtered"
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


def page_run(args, folder: Path) -> dict:
    from playwright.sync_api import sync_playwright

    server = web.AppServer(Path(args.data_dir), folder / "runs", folder / "logs").start()
    try:
        with sync_playwright() as playwright:
            browser = web.launch_browser(playwright)
            pages = [browser.new_context(viewport=web.VIEWPORT).new_page() for _ in range(args.tabs)]
            for page in pages:
                web.open_app(page, server, "training")
            web.set_training(pages[0], epochs=args.epochs, batch=32, model=args.model)
            server_cpu, browser_cpu = _cpu_seconds([server.process.pid]), _cpu_seconds(_browser_pids())
            run_id = web.start_training(pages[0], server, epochs=args.epochs, batch=32)
            record = web.wait_for_run_status(server.runs_dir, run_id, timeout=args.limit)
            server_cpu = _cpu_seconds([server.process.pid]) - server_cpu
            browser_cpu = _cpu_seconds(_browser_pids()) - browser_cpu
            browser.close()
    finally:
        server.stop()
    return {**_row("page", record, server.runs_dir / run_id), "process_cpu_seconds": server_cpu,
            "browser_cpu_seconds": browser_cpu}


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
    parser.add_argument("--data-dir", default=os.environ.get("CATDOG_DATA_DIR") or str(DEFAULT_DATA))
    args = parser.parse_args(argv)
    if not (Path(args.data_dir) / "train").is_dir():
        parser.error(f"no dataset at {args.data_dir} (give --data-dir or set CATDOG_DATA_DIR)")
    if reason := web.browser_missing_reason():
        parser.error(reason)
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
