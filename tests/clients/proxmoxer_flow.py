"""Drives quorate-api with proxmoxer, an unchanged PVE API client library from Debian.

    proxmoxer_flow.py create HOST CLUSTERNAME
    proxmoxer_flow.py join HOST MEMBER FINGERPRINT
    proxmoxer_flow.py inspect HOST
    proxmoxer_flow.py token HOST [OTHER_HOST]

Every step logs in as root@pam (password "quorate"), and create/join wait for their task
the way PVE clients do (polling /nodes/{node}/tasks/{upid}/status). The last line printed is
a JSON object for the caller to check.
"""
import json
import sys
import time

from proxmoxer import ProxmoxAPI

PASSWORD = "quorate"


def login(host):
    return ProxmoxAPI(host, user="root@pam", password=PASSWORD, verify_ssl=False)


def wait_for_task(host, upid, timeout=120):
    """Polls the task until it stops; logs in again whenever the daemon restarted or the
    ticket became invalid (a join restarts the API with the cluster's keys)."""
    node = upid.split(":")[1]
    deadline = time.time() + timeout
    api = login(host)
    while time.time() < deadline:
        try:
            status = api.nodes(node).tasks(upid).status.get()
            if status["status"] == "stopped":
                log = api.nodes(node).tasks(upid).log.get(limit=1000)
                return status, [line["t"] for line in log]
        except Exception as e:  # connection refused during the restart, or 401
            print(f"polling: {e}", file=sys.stderr)
            time.sleep(1)
            try:
                api = login(host)
            except Exception as e:
                print(f"login: {e}", file=sys.stderr)
            continue
        time.sleep(0.5)
    raise SystemExit(f"task {upid} did not stop within {timeout} s")


def create(host, name):
    upid = login(host).cluster.config.post(clustername=name)
    status, log = wait_for_task(host, upid)
    print(json.dumps({"upid": upid, "exitstatus": status["exitstatus"], "log": log}))


def join(host, member, fingerprint):
    upid = login(host).cluster.config.join.post(
        hostname=member, fingerprint=fingerprint, password=PASSWORD
    )
    status, log = wait_for_task(host, upid)
    print(json.dumps({"upid": upid, "exitstatus": status["exitstatus"], "log": log}))


def inspect(host):
    api = login(host)
    print(
        json.dumps(
            {
                "version": api.version.get(),
                "status": api.cluster.status.get(),
                "nodes": api.cluster.config.nodes.get(),
                "join": api.cluster.config.join.get(),
                "totem": api.cluster.config.totem.get(),
            }
        )
    )


def token(host, other_host=None):
    """Creates an API token on HOST with a password login, reads with it from OTHER_HOST
    (default: HOST), and removes it."""
    api = login(host)
    created = api.access.users("root@pam").token("ci").post(privsep=0, comment="e2e")
    by_token = ProxmoxAPI(
        other_host or host,
        user="root@pam",
        token_name="ci",
        token_value=created["value"],
        verify_ssl=False,
    )
    seen = {"status": by_token.cluster.status.get(), "version": by_token.version.get()}
    api.access.users("root@pam").token("ci").delete()
    try:
        by_token.version.get()
        seen["after_delete"] = "accepted"
    except Exception as e:
        seen["after_delete"] = str(e)
    print(json.dumps({"full-tokenid": created["full-tokenid"], **seen}))


if __name__ == "__main__":
    step, args = sys.argv[1], sys.argv[2:]
    {"create": create, "join": join, "inspect": inspect, "token": token}[step](*args)
