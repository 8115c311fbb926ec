#!/usr/bin/env python3
"""A well-behaved handler whose items take as long as they are told, written from
docs/handler-protocol.md alone: it checks before each item, reports progress every 50 ms and
reads skip and stop notifications whenever it waits for an answer of its own.

    paced.py [--requests] [--no-ack] [--pidfile PATH] ITEM=SECONDS ...

--requests  progress goes as requests, whose answers carry skips and stops; a skip or stop
            heard that way ends the item at once
--no-ack    a skipped or stopped item is left without reporting its final status: the
            handler just goes on with the next one
"""
import json
import os
import sys
import time

args = sys.argv[1:]
REQUESTS = "--requests" in args
NO_ACK = "--no-ack" in args
PIDFILE = args[args.index("--pidfile") + 1] if "--pidfile" in args else None
ITEMS = [(spec.split("=")[0], float(spec.split("=")[1])) for spec in args if "=" in spec]

heard = {}  # item -> "skip_item" | "cancel_item"; "*" -> "cancel_all"
next_id = 1


def send(message):
    message["jsonrpc"] = "2.0"
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def take_notification(message):
    params = message.get("params") or {}
    if message["method"] == "stop_all":
        heard["*"] = "cancel_all"
    elif message["method"] in ("skip_item", "stop_item"):
        heard[params["item"]] = "skip_item" if message["method"] == "skip_item" else "cancel_item"


def request(method, params):
    global next_id
    my_id, next_id = next_id, next_id + 1
    send({"id": my_id, "method": method, "params": params})
    while True:
        message = json.loads(sys.stdin.readline())
        if "id" not in message:
            take_notification(message)
        elif message["id"] == my_id:
            return message.get("result")


def finish(item, reply):
    if not NO_ACK:
        status = "skipped" if reply == "skip_item" else "canceled"
        send({"method": "progress", "params": {"item": item, "status": status}})


def work(item, seconds):
    """Works on one item; returns the reply that ended it early, or None."""
    steps = max(1, int(seconds / 0.05))
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        params = {"item": item, "value": step, "max": steps, "text": "Step %d" % step}
        if REQUESTS:
            reply = request("progress", params)["reply"]
            if reply != "continue":
                return reply
        else:
            send({"method": "progress", "params": params})
    return None


def synchronize(items):
    durations = dict(ITEMS)
    for item in items:
        reply = request("check", {"item": item})["reply"]
        if reply == "continue":
            reply = work(item, durations[item])
            if reply is None:
                continue
        finish(item, reply)
        if reply == "cancel_all":
            return


answers = {
    "initialize": lambda p: {"protocol_version": 1,
                             "capabilities": {"cancel_notifications": True}},
    "info": lambda p: {"name": "Paced", "icon": "program"},
    "enumerate": lambda p: {"items": [{"id": i, "name": "Item " + i} for i, _ in ITEMS]},
    "prepare": lambda p: None,
    "synchronize": lambda p: synchronize(p["items"]),
}

if PIDFILE:
    with open(PIDFILE + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(PIDFILE + ".tmp", PIDFILE)

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        take_notification(message)
        continue
    if message["method"] == "shutdown":
        send({"id": message["id"], "result": None})
        break
    send({"id": message["id"], "result": answers[message["method"]](message.get("params"))})
