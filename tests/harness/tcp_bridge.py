"""ProxyCommand for the screen tests: stdin/stdout <-> a TCP port on 127.0.0.1.

    ProxyCommand python3 tcp_bridge.py PORT

Lets a hosts file name hosts like gpu-box.lab.example (what the screen
shows) while the connection goes to a server on this machine; nothing but
127.0.0.1 is ever dialled.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def main() -> int:
    port = int(sys.argv[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sel = selectors.DefaultSelector()
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sel.register(stdin, selectors.EVENT_READ, "in")
    sel.register(sock, selectors.EVENT_READ, "net")
    while True:
        for key, _ in sel.select():
            if key.data == "in":
                data = os.read(stdin, 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    sel.unregister(stdin)
                    continue
                sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    return 0
                os.write(stdout, data)


if __name__ == "__main__":
    sys.exit(main())
