#!/usr/bin/env python3
"""A handler whose one item sends N progress notifications as fast as Python can, for the
throughput benchmark (benches/external.rs).

    progress_flood.py N
"""
import json
import sys

N = int(sys.argv[1])


def answer(request, result):
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    request = json.loads(line)
    if "id" not in request:
        continue
    method = request["method"]
    if method == "initialize":
        answer(request, {"protocol_version": 1})
    elif method == "info":
        answer(request, {"name": "Flood"})
    elif method == "enumerate":
        answer(request, {"items": [{"id": "flood", "name": "Flood"}]})
    elif method == "synchronize":
        write = sys.stdout.write
        line = '{"jsonrpc":"2.0","method":"progress","params":{"item":"flood","value":%d,"max":%d}}\n'
        for value in range(1, N + 1):
            write(line % (value, N))
        answer(request, None)
    elif method == "shutdown":
        answer(request, None)
        break
    else:
        answer(request, None)
