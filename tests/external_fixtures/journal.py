#!/usr/bin/env python3
"""A handler that writes down what it is asked, for the resident instance's tests.

    journal.py JOURNAL [SECONDS]

Items "alpha", "beta" and "logon". Appends one JSON line to JOURNAL for each initialize
(with the run's reason, cookie and whether it may ask the user) and at the start and end of
each synchronize (with this process's id, its parent's and the time). `synchronize` takes SECONDS (default
0). "logon" needs a dialog: in a run that may not ask, it fails saying so.
"""
import json
import os
import sys
import time

JOURNAL = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
ITEMS = ["alpha", "beta", "logon"]
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
        result = {"items": [{"id": i, "name": i.capitalize()} for i in ITEMS]}
    elif method == "prepare":
        if "logon" in params["items"]:
            granted = request("request_ui", {"item": "logon"})
            if not granted or not granted.get("granted"):
                progress("logon", "failed", "Needs your logon, and this run may not ask for it.")
    elif method == "synchronize":
        write({"event": "sync-start", "items": params["items"]})
        time.sleep(SECONDS)
        write({"event": "sync-end", "items": params["items"]})
    elif method == "shutdown":
        send({"id": message["id"], "result": None})
        break
    send({"id": message["id"], "result": result})
