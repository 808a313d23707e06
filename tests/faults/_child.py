"""Run one ``mltrainer`` command with deterministic fault hooks (a child of the fault tests).

Usage: ``python _child.py HOOKS_JSON ARG...``. Each hook wraps a function or method named
``"module:attr"`` (``"module:Class.method"``) and, at its ``call``-th call (``when``
``"before"`` or ``"after"`` it runs), performs ``action``:

- ``"die"``: SIGKILL this process (a ``kill -9`` at exactly that step);
- ``"kill"``: SIGKILL process ``pid`` (e.g. the redis-server), wait until it is dead, go on;
- ``"half-multi"`` (on ``send_packed_command``): send the first half of the bytes of the
  first ``MULTI`` transaction to the server, then SIGKILL this process.

No sleeps and no timing: the fault happens at one exact step of the command.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _resolve(target: str) -> tuple[Any, str]:
    module, _, path = target.partition(":")
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _dead(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (killed, not yet reaped by its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


def _act(hook: dict[str, Any]) -> None:
    if hook["action"] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    elif hook["action"] == "kill":
        os.kill(hook["pid"], signal.SIGKILL)
        while not _dead(hook["pid"]):  # waits on the process state, not on a clock
            os.sched_yield()
    else:
        raise ValueError(f"unknown action {hook['action']!r}")


def _install(hook: dict[str, Any]) -> None:
    owner, name = _resolve(hook["target"])
    original = getattr(owner, name)
    calls = 0

    if hook["action"] == "half-multi":

        @functools.wraps(original)
        def half(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            data = command if isinstance(command, bytes) else b"".join(command)
            if b"MULTI" not in data:
                return original(self, command, *args, **kwargs)
            original(self, [data[: len(data) // 2]], *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        setattr(owner, name, half)
        return

    @functools.wraps(original)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        hit = calls == hook.get("call", 1)
        if hit and hook.get("when", "before") == "before":
            _act(hook)
        result = original(*args, **kwargs)
        if hit and hook.get("when") == "after":
            _act(hook)
        return result

    setattr(owner, name, hooked)


def main() -> int:
    for hook in json.loads(sys.argv[1]):
        _install(hook)
    from mltrainer.cli import main as cli

    return cli(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
