"""Ray: start a local instance or join a cluster, and run the tasks on an actor pool.

Without an address a local Ray starts inside this process with ``workers x threads`` CPUs
and stops at the end; ``auto`` or ``host:port`` joins a running cluster (``ray start``); a
Ray already initialised in this process (a notebook) is used as it is. (Ray Client,
``ray://``, cannot run Ray Data's executor; the driver refuses it.) Ray Data runs one
``BatchWorker`` actor per worker
(``ActorPoolStrategy``: the model is loaded once per actor) and hands each one task at a time.
A worker process that dies is restarted by Ray and its task retried (Ray Data's defaults for
actor pools); the ``Tally`` actor counts the attempts and a worker given a task for the
``retries + 2``-th time reports its inputs as failed instead of running it again, so one input
that crashes a decoder cannot stop the batch. (Ray 2.60 deprecates passing
``max_task_retries`` to ``map_batches`` and names no replacement; counting ourselves needs
neither.) A task that errors anyway is skipped (``max_errored_blocks``) and its inputs reported
as failed by the driver.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time

from liveseg.errors import ConfigError, DependencyError, LivesegError, first_line

# Ray's own console chatter (start-up banners, Ray Data's execution log, the traceback of a
# task whose worker died) is noise next to our progress bar and summary; --verbose keeps it.
_RAY_LOGGERS = ("ray", "ray.data")


def require_ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise DependencyError(
            f"liveseg batch runs on Ray, which is not installed ({exc}): pip install 'liveseg[ray]'"
        ) from None
    return ray


class Tally:
    """A tiny actor: how often each task started (a retry after a worker died) and how many
    frames the workers have written (the progress bar)."""

    def __init__(self):
        self.frames = 0
        self.starts: dict[int, int] = {}

    def started(self, task_id: int) -> int:
        self.starts[task_id] = self.starts.get(task_id, 0) + 1
        return self.starts[task_id]

    def add_frames(self, n: int) -> None:
        self.frames += int(n)

    def snapshot(self) -> int:
        return self.frames


class RaySession:
    """``with RaySession(address, workers, threads) as s:`` -> ``s.workers`` actors fit."""

    def __init__(
        self, address: str | None, workers: int | None, threads: int, verbose: bool = False
    ):
        self.address, self.threads, self.verbose = address, threads, verbose
        self.workers = workers
        self.started = False
        self.local = address is None
        self.startup_s = 0.0

    def __enter__(self):
        ray = require_ray()
        level = logging.INFO if self.verbose else logging.CRITICAL
        for name in _RAY_LOGGERS:
            logging.getLogger(name).setLevel(level)
        t0 = time.perf_counter()
        if ray.is_initialized():
            self.local = False  # not ours: we neither size nor stop it
        elif self.address is None:
            if self.workers is None:
                self.workers = max(1, (os.cpu_count() or 1) // self.threads)
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # an embedded instance
            # "local": a fresh instance even when `ray start` or RAY_ADDRESS offer one
            # (joining is what --address is for).
            try:
                ray.init(
                    address="local",
                    num_cpus=self.workers * self.threads,
                    include_dashboard=False,
                    log_to_driver=self.verbose,
                    logging_level=level,
                )
            except Exception as exc:  # e.g. Ray's 30 s start-up limit
                with contextlib.suppress(Exception):
                    ray.shutdown()
                raise LivesegError(
                    f"could not start a local Ray: {first_line(exc)} (Ray "
                    "waits 30 s for its processes; on a busy machine try "
                    "again)"
                ) from exc
            self.started = True
        else:
            try:
                ray.init(address=self.address, log_to_driver=self.verbose, logging_level=level)
            except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, gRPC...
                raise ConfigError(
                    f"cannot join the Ray cluster at {self.address}: {first_line(exc)}"
                ) from None
            self.started = True
        self.startup_s = time.perf_counter() - t0
        if not self.verbose:
            _quiet_worker_messages(ray)
        try:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if self.workers is None:
                self.workers = max(1, cpus // self.threads)
            if self.workers * self.threads > cpus:
                raise ConfigError(
                    f"--workers {self.workers} x --threads-per-worker {self.threads} needs "
                    f"{self.workers * self.threads} CPUs but the Ray cluster has {cpus}"
                )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.started:
            import ray

            with contextlib.suppress(Exception):
                ray.shutdown()
            self.started = False
        return False


def _quiet_worker_messages(ray) -> None:
    """Ray prints the raylet's reports of dead workers straight to stdout, long and in colour,
    with no switch to turn them off; the manifest's ``attempts`` and our summary say it
    instead. (Ray's debugger uses the same private flag; if it moves, the messages show.)"""
    with contextlib.suppress(Exception):
        import ray._private.worker as w

        if hasattr(w, "_worker_logs_enabled"):
            w._worker_logs_enabled = False


def execute(
    tasks: list[dict],
    config: dict,
    *,
    workers: int,
    threads: int,
    retries: int,
    on_rows,
    on_frames=None,
) -> None:
    """Run ``tasks`` on ``workers`` BatchWorker actors; ``on_rows(rows)`` for each result in
    the driver thread, ``on_frames(total)`` about twice a second from a helper thread."""
    import ray

    from liveseg.batch.worker import BatchWorker

    tally = ray.remote(num_cpus=0)(Tally).remote()
    ds = ray.data.from_items(
        [{"task": json.dumps(t)} for t in tasks], override_num_blocks=len(tasks)
    )
    ctx = ds.context
    ctx.enable_progress_bars = False  # ours is over inputs and frames
    ctx.max_errored_blocks = -1  # a task whose retries ran out fails its inputs, not the batch
    ds = ds.map_batches(
        BatchWorker,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
        fn_constructor_kwargs={"config": config, "tally": tally, "retries": retries},
        num_cpus=threads,
    )
    stop = threading.Event()
    poller = None
    if on_frames is not None:

        def poll():
            while not stop.wait(0.5):
                with contextlib.suppress(Exception):
                    on_frames(ray.get(tally.snapshot.remote(), timeout=5))

        poller = threading.Thread(target=poll, name="liveseg-batch-progress", daemon=True)
        poller.start()
    try:
        for row in ds.iter_rows():
            on_rows(json.loads(row["result"]))
        stop.set()
        if poller is not None:
            poller.join(2.0)
            with contextlib.suppress(Exception):  # the last frames, after the poller stopped
                on_frames(ray.get(tally.snapshot.remote(), timeout=5))
    except (KeyboardInterrupt, LivesegError):
        raise
    except Exception as exc:  # Ray's errors: one line (--debug: traceback)
        raise LivesegError(f"the Ray job stopped: {type(exc).__name__}: {first_line(exc)}") from exc
    finally:
        stop.set()
        if poller is not None:
            poller.join(2.0)
        with contextlib.suppress(Exception):
            ray.kill(tally)
