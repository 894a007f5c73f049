"""The demo's child processes: started in their own process groups, waited for until ready, and always
stopped, on a normal end, an exception, SIGINT/SIGTERM or interpreter exit.

Each child gets its own process group so that stopping it also stops whatever it started (uvicorn's
reloaders, a worker's helpers), and so that Ctrl-C in the terminal reaches only the demo, which then
stops the children in order instead of all of them dying mid-request at once. On Linux a child also
asks the kernel to signal it when the demo dies, so even a SIGKILLed demo leaves nothing running.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildFailed(RuntimeError):
    """A child exited or never became ready; the message ends with the tail of its log."""


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Children:
    """The running children, stopped in reverse order of start."""

    env: dict[str, str]
    log_dir: Path
    started: list[Child] = field(default_factory=list)
    _previous: dict[int, object] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child = Child(name, argv, self.log_dir / f"{name}.log")
        with child.log.open("ab") as out:
            child.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_die_with_parent)
        self.started.append(child)
        return child

    def wait_until(self, child: Child, ready: Callable[[], bool], timeout_s: float) -> None:
        """Poll ``ready`` until it holds; a child that exits first fails at once, with its log."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if not child.alive():
                code = child.proc.returncode if child.proc else None
                raise ChildFailed(f"{child.name} exited with {code}; its log ends:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise ChildFailed(f"{child.name} not ready after {timeout_s:.0f} s; its log ends:\n{child.tail()}")
            time.sleep(0.1)

    def wait_http(self, child: Child, url: str, timeout_s: float = 60) -> None:
        def answers() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        self.wait_until(child, answers, timeout_s)

    def dead(self) -> list[Child]:
        return [c for c in self.started if not c.alive()]

    def stop_all(self, grace_s: float = 10) -> None:
        """SIGTERM to each child's group (newest first), then SIGKILL to what is still there after the grace."""
        for child in reversed(self.started):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in reversed(self.started):
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.proc.wait()
            _signal_group(child, signal.SIGKILL)  # helpers the child left behind in its group
        self.started.clear()

    def install_cleanup(self) -> None:
        """Stop the children at interpreter exit and on SIGTERM/SIGINT (which then end the demo as
        KeyboardInterrupt, so ``finally`` blocks run)."""
        atexit.register(self.stop_all)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _signal_group(child: Child, sig: int) -> None:
    if child.proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, sig)


def thads_hub() -> str:
    """The `thads-hub` script of this interpreter's environment (the venv the demo runs from)."""
    script = Path(sys.executable).with_name("thads-hub")
    return str(script) if script.exists() else "thads-hub"
