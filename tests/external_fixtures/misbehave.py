#!/usr/bin/env python3
"""A handler that speaks the protocol correctly until `synchronize` (or `prepare`), then
misbehaves in the way named by its first argument. For Sync Center's fault-isolation tests.

    misbehave.py crash|sigkill|hang|garbage|oversized|early_exit|ignore_stop|refuse|version2
                 |unknown_field|burst_then_crash|close_stdin|flood|orphan_pipes
                 |burst_in_enumerate|slow_shutdown [PIDFILE]

unknown_field sends messages with a field the protocol does not have, and fails
`synchronize` with the words the center refused them with.

The last five are the ways a handler can try to take the center down with it: dying with
answers still unwritten (SIGPIPE), sending requests without ever reading the answers, and
leaving a grandchild in a session of its own that keeps the pipes open.
"""
import json
import os
import signal
import subprocess
import sys
import time

MODE = sys.argv[1]
PIDFILE = sys.argv[2] if len(sys.argv) > 2 else None


def send(message):
    message["jsonrpc"] = "2.0"
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(request, result):
    send({"id": request["id"], "result": result})


def refused_fields(request):
    item = request["params"]["items"][0]
    send({"method": "progress", "params": {"item": item, "value": 1, "max": 2, "percent": 50}})
    send({"id": 500, "method": "replace_conflicts", "params": {"item": item, "conflict": []}})
    while True:
        message = json.loads(sys.stdin.readline())
        if message.get("id") == 500:
            break
    refusal = message.get("error", {}).get("message", "replace_conflicts was accepted")
    send({"id": request["id"], "error": {"code": -32000, "message": refusal}})


def write_pids(*pids):
    if PIDFILE:
        with open(PIDFILE + ".tmp", "w") as f:
            f.write(" ".join(str(p) for p in pids))
        os.replace(PIDFILE + ".tmp", PIDFILE)


def burst_then_die(item):
    # Requests whose answers nobody will read: the process is gone when they are written.
    for i in range(3000):
        send({"id": 10000 + i, "method": "progress",
              "params": {"item": item, "value": i, "max": 3000}})
    sys.stderr.write("Traceback: worker thread died\n")
    sys.stderr.flush()
    os._exit(1)


def misbehave(request):
    if MODE == "burst_then_crash":
        write_pids(os.getpid())
        burst_then_die(request["params"]["items"][0])
    if MODE == "close_stdin":
        os.close(0)
        send({"id": 77, "method": "check", "params": {"item": request["params"]["items"][0]}})
        time.sleep(1.0)
        sys.stderr.write("giving up\n")
        sys.exit(3)
    if MODE == "flood":
        # Asks and asks, and never reads a single answer.
        write_pids(os.getpid())
        item = request["params"]["items"][0]
        n = 0
        while True:
            n += 1
            send({"id": n, "method": "check", "params": {"item": item}})
    if MODE == "orphan_pipes":
        # A helper in a session of its own (outside the process group) that keeps stdout and
        # stderr open after the handler died.
        child = subprocess.Popen(["sleep", "1000"], start_new_session=True)
        write_pids(os.getpid(), child.pid)
        sys.stderr.write("the helper lives on\n")
        sys.stderr.flush()
        os._exit(4)
    if MODE == "crash":
        raise RuntimeError("the handler crashed on purpose")
    if MODE == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if MODE == "hang":
        # A grandchild in the same process group, which must not outlive the handler.
        child = subprocess.Popen(["sleep", "1000"])
        write_pids(os.getpid(), child.pid)
        time.sleep(1000)
    if MODE == "garbage":
        sys.stdout.write("this is not json, it is a debug print\n")
        sys.stdout.flush()
        time.sleep(1000)
    if MODE == "oversized":
        sys.stdout.write('{"jsonrpc":"2.0","method":"log","params":{"text":"' + "x" * (2 << 20))
        sys.stdout.flush()
        time.sleep(1000)
    if MODE == "early_exit":
        print("cannot open the database /nonexistent/db", file=sys.stderr, flush=True)
        sys.exit(3)
    if MODE == "ignore_stop":
        write_pids(os.getpid())
        while True:
            send({"method": "progress",
                  "params": {"item": request["params"]["items"][0], "status": "indeterminate",
                             "text": "Not listening"}})
            time.sleep(0.05)


for line in sys.stdin:
    request = json.loads(line)
    method = request.get("method")
    if "id" not in request:
        continue  # notifications (skip_item, stop_item, stop_all): ignored on purpose
    if method == "initialize":
        answer(request, {"protocol_version": 2 if MODE == "version2" else 1, "participate": True,
                         "capabilities": {"cancel_notifications": True}})
    elif method == "info":
        answer(request, {"name": "Misbehaving " + MODE, "icon": "program"})
    elif method == "enumerate" and MODE == "burst_in_enumerate":
        write_pids(os.getpid())
        burst_then_die("one")
    elif method == "enumerate":
        answer(request, {"items": [{"id": "one", "name": "One"}, {"id": "two", "name": "Two"}]})
    elif method == "prepare":
        answer(request, None)
    elif method == "synchronize" and MODE == "unknown_field":
        refused_fields(request)
    elif method == "synchronize" and MODE == "refuse":
        send({"id": request["id"],
              "error": {"code": -32000, "message": "the server is down for maintenance"}})
    elif method == "synchronize":
        misbehave(request)
        answer(request, None)
    elif method == "shutdown":
        answer(request, None)
        if MODE == "slow_shutdown":
            # Saves its own state on the way out, which takes a moment.
            time.sleep(1.0)
            write_pids(os.getpid())
        break
    else:
        send({"id": request["id"], "error": {"code": -32601, "message": "no such method"}})
