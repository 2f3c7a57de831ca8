#!/usr/bin/env python3
"""ptydrive: run a program on a pseudo-terminal and drive it by a script.

    ptydrive.py SCRIPT.json RESULT.json

SCRIPT: {"argv": [...], "env": {...}, "cols": 160, "rows": 50,
         "steps": [step, ...]}
A step is one of
    {"send": "text"}            write to the terminal ("\\x03" is Ctrl-C, "\\t" Tab)
                                once the line editor reads ("now": true: at once)
    {"expect": "regex"}         wait until the output since the last expect
                                (escape sequences and \\r removed) matches;
                                the text up to the end of the match is recorded
    {"signal": "KILL"|"INT"|...} signal the program
    {"wait": true}              wait for the program to exit (its status is recorded)
Each expect waits at most "timeout" seconds (default 20) - a safety net for
a hung program, never a timing assertion: a step that times out fails the
run. RESULT: {"ok": bool, "error": str, "segments": [text per expect],
"output": all output cleaned, "raw": all output, "status": exit status}.
"""
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import fcntl
import termios
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\x07|\r")


def clean(s):
    return ANSI.sub("", s)


def wait_editing(fd, timeout):
    """Wait until the line editor has the terminal (echo off, as libedit
    sets it while reading a line): text sent earlier would be echoed by the
    terminal itself, and a Ctrl-D would be taken as an end of input."""
    deadline = time.monotonic() + timeout
    while termios.tcgetattr(fd)[3] & termios.ECHO:
        if time.monotonic() > deadline:
            raise RuntimeError("the program never started reading a line")
        time.sleep(0.005)


def main():
    script = json.load(open(sys.argv[1]))
    out_path = sys.argv[2]
    env = dict(os.environ)
    env.update(script.get("env", {}))
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(script["argv"][0], script["argv"], env)
        finally:
            os._exit(127)
    cols, rows = script.get("cols", 160), script.get("rows", 50)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    raw = b""
    mark = 0  # where the output since the last expect starts (in cleaned text)
    result = {"ok": True, "error": None, "segments": [], "status": None}
    timeout = script.get("timeout", 20)
    status = None

    def read_some(wait):
        nonlocal raw
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        raw += data
        return True

    try:
        for step in script["steps"]:
            if "send" in step:
                if not step.get("now"):
                    wait_editing(fd, timeout)
                os.write(fd, step["send"].encode())
            elif "expect" in step:
                pat = re.compile(step["expect"], re.S)
                deadline = time.monotonic() + step.get("timeout", timeout)
                while True:
                    text = clean(raw.decode("utf-8", "replace"))
                    m = pat.search(text, mark)
                    if m:
                        result["segments"].append(text[mark:m.end()])
                        mark = m.end()
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError("timed out waiting for %r; output since the last match:\n%s"
                                           % (step["expect"], text[mark:]))
                    if not read_some(min(left, 0.5)):
                        text = clean(raw.decode("utf-8", "replace"))
                        m = pat.search(text, mark)
                        if m:
                            result["segments"].append(text[mark:m.end()])
                            mark = m.end()
                            break
                        raise RuntimeError("the program ended while waiting for %r; output since the last match:\n%s"
                                           % (step["expect"], text[mark:]))
            elif "signal" in step:
                os.kill(pid, getattr(signal, "SIG" + step["signal"]))
            elif "wait" in step:
                deadline = time.monotonic() + timeout
                while status is None:
                    read_some(0.1)
                    p, st = os.waitpid(pid, os.WNOHANG)
                    if p == pid:
                        status = st
                    elif time.monotonic() > deadline:
                        raise RuntimeError("the program did not exit")
                while read_some(0.05) and select.select([fd], [], [], 0)[0]:
                    pass
    except Exception as e:  # reported to the test
        result["ok"] = False
        result["error"] = str(e)
    if status is None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        result["status"] = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        result["status"] = 128 + os.WTERMSIG(status)
    text = raw.decode("utf-8", "replace")
    result["raw"] = text
    result["output"] = clean(text)
    json.dump(result, open(out_path, "w"))


if __name__ == "__main__":
    main()
