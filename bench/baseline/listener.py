#!/usr/bin/env python3
"""BASELINE FOR BENCHMARKS ONLY — not part of hagios.

The receiving end of the original design's notify path (shared/seed/nagios-slack-blog.txt): a TLS
socket server that accepts one JSON notification (one line) per connection, checks it parses, acknowledges it
and counts it. It stands in for the listener in front of the Slack bot; it does not post anywhere.

Usage: listener.py PORT_FILE CERT KEY COUNT_FILE
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, and on SIGTERM writes the number of
notifications received to COUNT_FILE.
"""
import json
import signal
import socket
import socketserver
import ssl
import sys

port_file, cert, key, count_file = sys.argv[1:5]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
received = 0


class Notification(socketserver.BaseRequestHandler):
    def handle(self):
        global received
        with context.wrap_socket(self.request, server_side=True) as tls:
            json.loads(tls.makefile("rb").readline())
            tls.sendall(b"OK\n")
            received += 1


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def stop(*_):
    with open(count_file, "w") as out:
        out.write(f"{received}\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
with Server(("127.0.0.1", 0), Notification) as server:
    with open(port_file, "w") as out:
        out.write(f"{server.server_address[1]}\n")
    server.serve_forever()
