#!/usr/bin/env python3
"""BASELINE FOR BENCHMARKS ONLY — not part of hagios.

A re-creation of the ORIGINAL design's notify path (shared/seed/nagios-slack-blog.txt): Nagios runs
a Python client per notification, which builds a JSON dictionary from the notification macros and
sends it (one line) over a TLS socket to the listener next to the Slack bot. Unlike the blog, it uses Python's
ssl module properly (certificate verification against the pinned self-signed certificate, no
homemade crypto), so the baseline is the original design done right, not done badly.

Usage: notify_client.py HOST PORT CA_CERT   (macros come from the NAGIOS_* environment, as hagios
notify reads them; the blog piped the same fields through echo.)
"""
import json
import os
import socket
import ssl
import sys


def notification_from_environment(environment):
    """The fields the blog's notify-by-slack command put into its JSON dictionary."""
    macro = lambda name: environment.get("NAGIOS_" + name, "")
    return {
        "Notification_type": macro("NOTIFICATIONTYPE"),
        "Service": macro("SERVICEDESC"),
        "Host": macro("HOSTNAME"),
        "State": macro("SERVICESTATE"),
        "Info": macro("SERVICEOUTPUT"),
        "Comment": macro("SERVICEACKCOMMENT"),
        "Date": macro("SHORTDATETIME"),
    }


def main():
    host, port, ca_cert = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    payload = json.dumps(notification_from_environment(os.environ)).encode()
    context = ssl.create_default_context(cafile=ca_cert)
    with socket.create_connection((host, port)) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(payload + b"\n")
            # Wait for the listener's acknowledgement so the alert is known to have arrived.
            if tls.recv(16) != b"OK\n":
                sys.exit("listener did not acknowledge the notification")


if __name__ == "__main__":
    main()
