"""Delay every frame a host sends, for `deploy/cluster.sh slow` on a kernel without tc's netem.

    delay.py HOST_LINK BRIDGE_LINK MILLISECONDS

HOST_LINK is the bridge's end of the host's veth pair, taken off the bridge; BRIDGE_LINK is one
end of a second veth pair whose other end is on the bridge. Frames the host sends (arriving on
HOST_LINK) leave on BRIDGE_LINK MILLISECONDS later, in order; frames for the host go through at
once — what `tc qdisc add dev eth0 root netem delay …` in the host's namespace does. The host's
offloads must be off (cluster.sh does it with ethtool): a frame is forwarded as it was received,
so it must be an ordinary, checksummed Ethernet frame. Standard library only; runs until killed.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # a frame this socket (or the kernel) sent out on the link: not ours to forward


def link(name: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((name, 0))
    return sock


def main() -> None:
    host_name, bridge_name, milliseconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = milliseconds / 1000
    host, bridge = link(host_name), link(bridge_name)
    pending: list[tuple[float, int, bytes]] = []
    order = itertools.count()
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        ready, _, _ = select.select([host, bridge], [], [], timeout)
        for sock in ready:
            frame, address = sock.recvfrom(65535)
            if address[2] == PACKET_OUTGOING:
                continue
            if sock is host:
                heapq.heappush(pending, (time.monotonic() + delay, next(order), frame))
            else:
                host.send(frame)
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            try:
                bridge.send(heapq.heappop(pending)[2])
            except OSError:  # a frame the link refuses is lost, as on a wire
                pass


if __name__ == "__main__":
    main()
