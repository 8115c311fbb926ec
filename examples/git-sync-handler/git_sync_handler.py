#!/usr/bin/env python3
"""Git repositories for Sync Center: keeps local clones in sync with their remotes.

An external handler speaking Sync Center's handler protocol (JSON-RPC 2.0, one message per
line on stdin/stdout; see docs/handler-protocol.md). Standard library only.

Items are the repositories listed in the config file (`--config PATH`, or
$XDG_CONFIG_HOME/synccenter-git/repos.json):

    {"repositories": [{"path": "/home/ann/src/notes", "remote": "origin", "branch": "main"}]}

Synchronizing a repository fetches its branch from the remote, fast-forwards the local
branch, and pushes local commits. A remote that wants a user name and password gets them
from a logon form, asked for in `prepare`; they are handed to git for this session only,
through GIT_ASKPASS pointing back at this script, and never written anywhere.
"""
import json
import os
import subprocess
import sys

PROTOCOL_VERSION = 1
ASKPASS_MODE = "SYNCCENTER_GIT_ASKPASS"
AUTH_WORDS = ("Authentication failed", "could not read Username", "could not read Password",
              "terminal prompts disabled", "401", "403")


# ---- Talking to Sync Center ------------------------------------------------------------

class CenterGone(Exception):
    pass


class Center:
    """The center at the other end of stdin/stdout."""

    def __init__(self):
        self.next_id = 1
        self.item_requests = {}  # item -> "skip_item" | "cancel_item"
        self.stop_all = False

    def send(self, message):
        message["jsonrpc"] = "2.0"
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def receive(self):
        line = sys.stdin.readline()
        if not line:
            raise CenterGone()
        return json.loads(line)

    def take_notification(self, message):
        """Skips and stops the center sends while we work."""
        method, params = message.get("method"), message.get("params") or {}
        if method == "stop_all":
            self.stop_all = True
        elif method == "skip_item":
            self.item_requests[params["item"]] = "skip_item"
        elif method == "stop_item":
            self.item_requests[params["item"]] = "cancel_item"

    def request(self, method, params):
        request_id = self.next_id
        self.next_id += 1
        self.send({"id": request_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if "method" in message and "id" not in message:
                self.take_notification(message)
            elif message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(message["error"]["message"])
                return message["result"]

    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def reply_for(self, item):
        return "cancel_all" if self.stop_all else self.item_requests.get(item, "continue")

    def progress(self, item, **fields):
        """Progress as a notification: no round trip; the answer is what we heard so far."""
        self.notify("progress", dict(fields, item=item))
        return self.reply_for(item)

    def check(self, item):
        return self.request("check", {"item": item})["reply"]

    def log(self, level, text, item=None):
        return self.request("log", {"level": level, "text": text, "item": item})["log_id"]

    def ask(self, form, item=None):
        """Shows a form; None when this run may not show dialogs."""
        permission = self.request("request_ui", {"item": item})
        if not permission["granted"]:
            return None
        try:
            return self.request("show_form", {"item": item, "form": form})
        finally:
            self.notify("release_ui", {})


# ---- Repositories ----------------------------------------------------------------------

def default_config():
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "synccenter-git", "repos.json")


def load_repositories(config):
    try:
        with open(config) as f:
            entries = json.load(f).get("repositories", [])
    except FileNotFoundError:
        entries = []
    repositories, seen = {}, set()
    for entry in entries:
        path = os.path.abspath(os.path.expanduser(entry["path"]))
        item_id = entry.get("id") or os.path.basename(path.rstrip("/")) or path
        while item_id in seen:
            item_id += "+"
        seen.add(item_id)
        repositories[item_id] = {"path": path, "remote": entry.get("remote", "origin"),
                                 "branch": entry.get("branch") or None}
    return repositories


def save_repositories(config, repositories):
    os.makedirs(os.path.dirname(config), exist_ok=True)
    entries = [dict(repo, id=item_id) for item_id, repo in repositories.items()]
    temporary = config + ".tmp"
    with open(temporary, "w") as f:
        json.dump({"repositories": entries}, f, indent=2)
    os.replace(temporary, config)


def git(repo, *args, credentials=None):
    """Runs git in a repository; credentials go to this one command, through askpass."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if credentials:
        env.update({ASKPASS_MODE: "1", "GIT_ASKPASS": os.path.abspath(__file__),
                    "SYNCCENTER_GIT_USER": credentials[0],
                    "SYNCCENTER_GIT_PASSWORD": credentials[1]})
    # No credential helper: a password typed into Sync Center is not stored by git either.
    command = ["git", "-c", "credential.helper=", "-C", repo["path"]] + list(args)
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    return done.returncode, (done.stdout + done.stderr).strip()


def branch_of(repo):
    if repo["branch"]:
        return repo["branch"]
    code, out = git(repo, "symbolic-ref", "--short", "HEAD")
    if code != 0:
        raise RuntimeError("no branch is checked out")
    return out


def needs_credentials(output):
    return any(word in output for word in AUTH_WORDS)


def last_line(output):
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# ---- The handler -----------------------------------------------------------------------

class GitSync:
    def __init__(self, center, config):
        self.center = center
        self.config = config
        self.repositories = load_repositories(config)
        self.credentials = {}  # item -> (user, password), for this session only
        self.may_bother_user = False

    def initialize(self, params):
        self.may_bother_user = params["may_bother_user"]
        return {"protocol_version": PROTOCOL_VERSION, "participate": True,
                "capabilities": {"cancel_notifications": True}}

    def info(self, _params):
        return {"name": "Git repositories", "icon": "repository", "has_properties": True}

    def enumerate(self, _params):
        items = [{"id": item_id, "name": os.path.basename(repo["path"]) or repo["path"],
                  "icon": "repository", "has_properties": True}
                 for item_id, repo in self.repositories.items()]
        return {"items": items}

    def properties(self, params):
        item = params.get("item")
        if item is None:
            return self.add_repository()
        repo = self.repositories[item]
        form = {"title": "Repository " + item,
                "message": repo["path"],
                "fields": [
                    {"id": "remote", "label": "Remote", "type": "text", "value": repo["remote"],
                     "required": True},
                    {"id": "branch", "label": "Branch (empty: the checked-out one)",
                     "type": "text", "value": repo["branch"] or ""}]}
        reply = self.center.ask(form, item)
        if reply and reply["outcome"] == "submitted" and reply["button"] == "ok":
            repo["remote"] = reply["values"]["remote"].strip()
            repo["branch"] = reply["values"]["branch"].strip() or None
            save_repositories(self.config, self.repositories)
        return {"items_changed": False}

    def add_repository(self):
        form = {"title": "Add a git repository",
                "fields": [{"id": "path", "label": "Repository folder", "type": "folder_path",
                            "required": True}]}
        reply = self.center.ask(form)
        if not reply or reply["outcome"] != "submitted" or reply["button"] != "ok":
            return {"items_changed": False}
        path = os.path.abspath(reply["values"]["path"])
        item_id = os.path.basename(path.rstrip("/")) or path
        self.repositories[item_id] = {"path": path, "remote": "origin", "branch": None}
        save_repositories(self.config, self.repositories)
        return {"items_changed": True}

    def prepare(self, params):
        """Asks for credentials up front, for each remote that wants them."""
        for item in params["items"]:
            repo = self.repositories[item]
            code, output = git(repo, "ls-remote", "--heads", repo["remote"])
            if code == 0 or not needs_credentials(output):
                continue
            credentials = self.log_on(item, repo)
            if credentials:
                self.credentials[item] = credentials
        return None

    def log_on(self, item, repo):
        _, url = git(repo, "remote", "get-url", repo["remote"])
        if not self.may_bother_user:
            self.fail(item, "Needs a user name and password, and this run may not ask for them.")
            return None
        error = None
        while True:
            fields = [{"id": "user", "label": "User name", "type": "text", "required": True},
                      {"id": "password", "label": "Password", "type": "password",
                       "required": True, "error": error}]
            form = {"title": "Log on to " + url,
                    "message": "The remote of " + item + " needs a user name and password.",
                    "fields": fields,
                    "buttons": [{"id": "ok", "label": "Log on", "role": "accept"},
                                {"id": "cancel", "label": "Cancel", "role": "reject"}]}
            reply = self.center.ask(form, item)
            if not reply or reply["outcome"] != "submitted" or reply["button"] != "ok":
                self.fail(item, "Logon canceled.")
                return None
            credentials = (reply["values"]["user"], reply["values"]["password"])
            code, output = git(repo, "ls-remote", "--heads", repo["remote"],
                               credentials=credentials)
            if code == 0:
                return credentials
            if not needs_credentials(output):
                self.fail(item, "Cannot reach the remote: " + last_line(output))
                return None
            error = "The remote refused this user name and password. Try again."

    def fail(self, item, text):
        self.center.progress(item, status="failed", text=text)
        self.center.log("error", os.path.basename(self.repositories[item]["path"]) + ": " + text,
                        item)

    def synchronize(self, params):
        for item in params["items"]:
            reply = self.center.check(item)
            if reply == "cancel_all":
                self.center.progress(item, status="canceled")
                return None
            if reply != "continue":
                self.center.progress(item, status="skipped" if reply == "skip_item" else "canceled")
                continue
            try:
                self.sync_one(item, self.repositories[item])
            except RuntimeError as problem:
                self.fail(item, str(problem))
        return None

    def sync_one(self, item, repo):
        credentials = self.credentials.get(item)
        remote = repo["remote"]
        branch = branch_of(repo)
        steps = [("Fetching from " + remote, ["fetch", remote, branch]),
                 ("Fast-forwarding " + branch, ["merge", "--ff-only", "FETCH_HEAD"]),
                 ("Pushing to " + remote, ["push", remote, "HEAD:refs/heads/" + branch])]
        for number, (text, args) in enumerate(steps):
            reply = self.center.progress(item, status="updating", text=text,
                                         value=number, max=len(steps))
            if reply != "continue":
                status = "skipped" if reply == "skip_item" else "canceled"
                self.center.progress(item, status=status)
                return
            code, output = git(repo, *args, credentials=credentials)
            if code != 0:
                if args[0] == "merge":
                    raise RuntimeError("cannot fast-forward " + branch + ": it has diverged from "
                                       + remote + "; merge by hand. (" + last_line(output) + ")")
                if needs_credentials(output):
                    raise RuntimeError(remote + " wants a user name and password; run Sync now "
                                       "to enter them.")
                raise RuntimeError("git " + args[0] + " failed: " + last_line(output))
        _, head = git(repo, "rev-parse", "--short", "HEAD")
        self.center.progress(item, status="succeeded", value=len(steps), max=len(steps),
                             text="Up to date at " + head)


def serve(handler):
    center = handler.center
    methods = {"initialize": handler.initialize, "info": handler.info,
               "enumerate": handler.enumerate, "properties": handler.properties,
               "prepare": handler.prepare, "synchronize": handler.synchronize}
    while True:
        try:
            message = center.receive()
        except CenterGone:
            return
        if "id" not in message:
            center.take_notification(message)
            continue
        method = message.get("method")
        if method == "shutdown":
            center.send({"id": message["id"], "result": None})
            return
        if method not in methods:
            center.send({"id": message["id"],
                         "error": {"code": -32601, "message": "no method " + str(method)}})
            continue
        try:
            result = methods[method](message.get("params") or {})
            center.send({"id": message["id"], "result": result})
        except CenterGone:
            return
        except Exception as problem:  # the center fails this call's items with these words
            center.send({"id": message["id"],
                         "error": {"code": -32000, "message": str(problem)}})


def askpass(prompt):
    """git asks for the user name or password of the one command we started."""
    if prompt.lower().startswith("username"):
        print(os.environ.get("SYNCCENTER_GIT_USER", ""))
    else:
        print(os.environ.get("SYNCCENTER_GIT_PASSWORD", ""))


def main():
    if os.environ.get(ASKPASS_MODE) == "1":
        askpass(sys.argv[1] if len(sys.argv) > 1 else "")
        return
    config = default_config()
    if len(sys.argv) == 3 and sys.argv[1] == "--config":
        config = sys.argv[2]
    serve(GitSync(Center(), config))


if __name__ == "__main__":
    main()
