#!/usr/bin/env python3
"""A handler that writes down what it is asked, for the resident instance's tests.

    journal.py JOURNAL [SECONDS] [ITEMS]

Items ITEMS, comma-separated (default "alpha,beta,logon"). Appends one JSON line to JOURNAL
for each initialize (with the run's reason, cookie and whether it may ask the user) and at the
start and end of each synchronize (with this process's id, its parent's and the time).
`synchronize` takes SECONDS (default 0). "logon" needs a dialog: in a run that may not ask,
it fails saying so. "full" always fails, without asking anything ("The disk is full.").

Gates, so tests wait for conditions instead of guessing durations: while the file
JOURNAL.hold-sync exists, `synchronize` does not return (it writes "sync-held" once, and
"stop-heard" when a stop reaches it, which it ignores); while JOURNAL.hold-enumerate exists,
`enumerate` does not answer (it writes "enumerate-held" once).
"""
import json
import os
import sys
import time

JOURNAL = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
ITEMS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["alpha", "beta", "logon"]
next_id = [1000]


def write(entry):
    entry["pid"] = os.getpid()
    entry["parent"] = os.getppid()
    entry["time"] = time.time()
    with open(JOURNAL, "a") as f:
        f.write(json.dumps(entry) + "\n")


def send(message):
    message["jsonrpc"] = "2.0"
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def request(method, params):
    next_id[0] += 1
    send({"id": next_id[0], "method": method, "params": params})
    while True:
        message = json.loads(sys.stdin.readline())
        if message.get("id") == next_id[0]:
            return message.get("result")


def progress(item, status, text=""):
    send({"method": "progress", "params": {"item": item, "status": status, "text": text}})


def held(gate, event, items=None):
    """Waits while the gate file exists; says so once, and notes a stop it ignores."""
    if not os.path.exists(gate):
        return
    write({"event": event, "items": items or []})
    told = False
    while os.path.exists(gate):
        if items and not told:
            reply = request("check", {"item": items[0]}) or {}
            if reply.get("reply") in ("cancel_all", "cancel_item"):
                write({"event": "stop-heard", "items": items})
                told = True
        time.sleep(0.05)


for line in sys.stdin:
    message = json.loads(line)
    method, params = message.get("method"), message.get("params") or {}
    if "id" not in message:
        continue
    result = None
    if method == "initialize":
        write({"event": "initialize", "reason": params["reason"],
               "may_bother_user": params["may_bother_user"]})
        result = {"protocol_version": 1, "participate": True}
    elif method == "info":
        result = {"name": "Journal", "icon": "program"}
    elif method == "enumerate":
        held(JOURNAL + ".hold-enumerate", "enumerate-held")
        result = {"items": [{"id": i, "name": i.capitalize()} for i in ITEMS]}
    elif method == "prepare":
        if "logon" in params["items"]:
            granted = request("request_ui", {"item": "logon"})
            if not granted or not granted.get("granted"):
                progress("logon", "failed", "Needs your logon, and this run may not ask for it.")
    elif method == "synchronize":
        write({"event": "sync-start", "items": params["items"]})
        held(JOURNAL + ".hold-sync", "sync-held", params["items"])
        time.sleep(SECONDS)
        if "full" in params["items"]:
            progress("full", "failed", "The disk is full.")
        write({"event": "sync-end", "items": params["items"]})
    elif method == "shutdown":
        send({"id": message["id"], "result": None})
        break
    send({"id": message["id"], "result": result})
