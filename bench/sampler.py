"""Peak resident memory of a process tree, sampled in the background while a benchmark runs."""

from __future__ import annotations

import threading

import psutil


class PeakRss:
    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_by_pid: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for process in [self.root, *self.root.children(recursive=True)]:
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.peak_by_pid[process.pid] = max(self.peak_by_pid.get(process.pid, 0), rss)
            self._stop.wait(self.interval)

    @property
    def peak_per_process(self) -> int:
        """The largest RSS any one process of the tree reached (a gunicorn worker, say)."""
        return max(self.peak_by_pid.values(), default=0)
