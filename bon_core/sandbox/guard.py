"""The code the subprocess sandbox wraps around a program, and the unforgeable "the tests finished" channel.

A run passes only if the program's *last* line was reached, and a candidate must not be able to claim that it was.
The old way, printing a marker, was forgeable: the marker sat in the program text the candidate can read. Instead:

- the parent writes a random nonce into a pipe; the preamble reads it into a closure and closes the pipe, before
  any candidate code runs. The nonce is in no file, argument or environment variable;
- the preamble installs an audit hook (PEP 578; it cannot be removed). The epilogue raises the event
  ``bon.sandbox.done``; the hook writes the nonce to the result pipe only when that event comes from the main
  thread, from the bottom frame running the program's own code object, on the epilogue's line — so calling it from
  candidate code, an ``atexit`` handler, a thread or a signal handler does not count;
- the hook refuses what would let candidate code reach the nonce or run code outside the hook's reach:
  ``gc`` object walks, ``sys.settrace``/``setprofile``, new audit hooks, traceback frames (``tb_frame``),
  ``ctypes``, paths with a ``proc`` component (``/proc/self/mem``; the isolated sandbox also unmounts ``/proc``),
  and starting programs (``exec``/``spawn``/``system``/``Popen``);
- at the epilogue the hook checks that ``builtins`` and ``math`` were not changed (e.g. ``abs`` replaced to make
  ``assert abs(x - y) < 1e-6`` hold) and that the module still uses the real builtins; if they were, it writes a
  ``tampered`` report instead of the nonce.

The hook binds every function it uses when it is installed and never calls candidate objects, so patched builtins
or modules cannot run candidate code inside it. This is defence in depth inside one interpreter, not a proof: the
operating-system limits of :mod:`bon_core.sandbox.subprocess_sandbox` are what contain a hostile program; this
module only makes a *pass* hard to fake. A candidate whose return value compares equal to everything
(``__eq__`` returning True) is not detected here: that is a wrong solution the tests fail to catch, not a sandbox
escape.
"""

from __future__ import annotations

DONE_EVENT = "bon.sandbox.done"
TAMPERED_PREFIX = b"bon-tampered:"

_PREAMBLE = """\
import resource as _bon_resource
_bon_limit = _bon_soft = _bon_hard = None  # defined even when there are no limits to set (a container sets its own)
for _bon_limit, _bon_soft, _bon_hard in {rlimits!r}:
    _bon_resource.setrlimit(getattr(_bon_resource, _bon_limit), (_bon_soft, _bon_hard))
del _bon_resource, _bon_limit, _bon_soft, _bon_hard
if {block_socket!r}:
    import socket as _bon_socket

    class _BonNoNetwork(_bon_socket.socket):
        def __init__(self, *args, **kwargs):
            raise OSError("network access is disabled in the sandbox")

    _bon_socket.socket = _BonNoNetwork
    del _bon_socket, _BonNoNetwork


def _bon_guard(nonce_fd, result_fd, done_line):
    import _thread
    import builtins
    import math
    import os
    import sys
    import types  # computes FrameType from a traceback frame when imported, which the hook then refuses

    nonce = os.read(nonce_fd, 64)
    os.close(nonce_fd)
    main = sys._getframe(1)
    main_code, main_globals, main_thread = main.f_code, main.f_globals, _thread.get_ident()
    del main
    modules = sys.modules
    watched = {{"builtins": builtins, "math": math}}
    snapshot = {{name: dict(module.__dict__) for name, module in watched.items()}}
    write, close, get_ident, getframe, denied = os.write, os.close, _thread.get_ident, sys._getframe, PermissionError
    is_str, is_bytes = str, bytes
    blocked = frozenset({blocked_events!r})
    program_events = ("os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen", "os.forkpty")
    path_events = frozenset(("open", "os.chdir", "os.listdir", "os.scandir", "os.symlink", "os.link"))
    state = [False, False]  # [inside our own check, already reported]

    def tampered():
        if main_globals.get("__builtins__") is not builtins:
            return "__builtins__ of the program"
        for name, module in watched.items():
            if modules.get(name) is not module:
                return "sys.modules[" + name + "]"
            current = module.__dict__
            for key, value in snapshot[name].items():
                if current.get(key) is not value:
                    return name + "." + key
        return None

    def hook(event, args):
        if state[0]:
            return
        if event == {done_event!r}:
            state[0] = True
            try:
                frame = getframe(1)
                genuine = (
                    not state[1]
                    and get_ident() == main_thread
                    and frame.f_code is main_code
                    and frame.f_back is None
                    and frame.f_lineno == done_line
                )
                frame = None
                if not genuine:
                    raise denied("only the sandbox epilogue may report completion")
                state[1] = True
                what = tampered()
                write(result_fd, nonce if what is None else {tampered_prefix!r} + what.encode())
                if {close_result!r}:
                    close(result_fd)
            finally:
                state[0] = False
            return
        if event in blocked or event.startswith("ctypes.") or event.startswith(program_events):
            raise denied(event + " is not allowed in the sandbox")
        if event == "object.__getattr__" and args[1] == "tb_frame":
            raise denied("traceback frames are not available in the sandbox")
        if event in path_events and args:
            path = args[0]
            kind = type(path)
            if (kind is is_str and "proc" in path.split("/")) or (kind is is_bytes and b"proc" in path.split(b"/")):
                raise denied(event + " of /proc is not allowed in the sandbox")

    sys.addaudithook(hook)
    return sys.audit


_bon_sandbox_done = _bon_guard({nonce_fd}, {result_fd}, {done_line})
del _bon_guard
"""
_EPILOGUE = "\n_bon_sandbox_done({done_event!r})\n"
BLOCKED_EVENTS = (
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "sys._current_frames",
    "sys._current_exceptions",
)


def wrap_program(
    program: str,
    rlimits: list[tuple[str, int, int]],
    block_socket: bool,
    nonce_fd: int,
    result_fd: int,
    close_result: bool = True,
) -> str:
    """``program`` between the guard preamble (limits, audit hook) and the epilogue that reports completion.

    The guard reads the nonce from ``nonce_fd`` and reports to ``result_fd``, which it closes afterwards unless
    ``close_result`` is False (a container reports on its stdout, which the program's own output still needs)."""
    # Python reads a lone "\r" as a line end too; make the line count (and so the epilogue's line) unambiguous.
    program = program.replace("\r\n", "\n").replace("\r", "\n")
    fields = {
        "rlimits": rlimits,
        "block_socket": block_socket,
        "blocked_events": BLOCKED_EVENTS,
        "done_event": DONE_EVENT,
        "tampered_prefix": TAMPERED_PREFIX,
        "nonce_fd": nonce_fd,
        "result_fd": result_fd,
        "close_result": close_result,
    }
    head = _PREAMBLE.format(done_line=0, **fields) + program
    done_line = head.count("\n") + 2  # the epilogue starts with a newline, then its one line
    return _PREAMBLE.format(done_line=done_line, **fields) + program + _EPILOGUE.format(done_event=DONE_EVENT)


def read_verdict(channel: bytes, nonce: bytes) -> tuple[bool, str | None]:
    """``(completed, tampered_with)`` from what the result pipe held: completed only if it held exactly ``nonce``."""
    if channel == nonce:
        return True, None
    if channel.startswith(TAMPERED_PREFIX):
        return False, channel[len(TAMPERED_PREFIX) :].decode("ascii", "replace")[:200]
    return False, None
