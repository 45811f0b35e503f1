#!/usr/bin/env python3
"""A user-space IP router between network namespaces, for watchmesh's network test bed.

The kernel here has no netem qdisc and no iptables, but TUN devices work. This process opens one
TUN device per node (in its own namespace; the test bed then moves each device into the node's
namespace, where it carries the node's only address). Every IPv4 packet a node sends comes out of
its device's file descriptor here; the router looks at the destination address, applies the link
from the sender to that node (one-way delay, jitter, loss, up or down) and writes the packet into
the receiver's device when its time comes. Each direction of a pair is its own link, so paths can
be asymmetric.

Decisions a reader might not expect:
- Jitter spreads each one-way delay uniformly over delayMs +- jitterMs/2 (so a round trip varies by
  +- jitterMs, as in the project's simulator), but a packet never overtakes the one before it on the
  same link: jitter here is queueing, which keeps order, not reordering.
- Loss is independent per packet, from a seeded generator, so a run can be repeated.
- The devices are not persistent: when this process ends, for any reason, they vanish with it.

Usage: router.py CONFIG_JSON, where CONFIG_JSON is
  {"seed": 1, "nodes": [{"name": "a", "dev": "wmt1a", "addr": "10.77.0.2"}, ...],
   "default": {"delayMs": 0, "jitterMs": 0, "loss": 0, "up": true},
   "links": [{"from": "a", "to": "b", "delayMs": 50, ...}, ...]}
Prints "ready" once every device exists. Then reads commands, one JSON object per line, on stdin:
  {"link": {"from": "a", "to": "b", "up": false}}   change one direction of a link
  {"stats": true}                                   print "stats {...}" (packets per link)
Ends when stdin closes, or on SIGTERM.
"""
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# An IPv4 header's destination address sits at bytes 16-19.
IPV4_DST = slice(16, 20)
# Larger than any MTU the devices get (the kernel default of 1500), so no read is ever truncated.
READ_BYTES = 65536
# Packets waiting on one link; beyond this the link drops, as a full router queue would.
QUEUE_PACKETS_MAX = 10000
LINK_KEYS = ('delayMs', 'jitterMs', 'loss', 'up')


def open_tun(dev):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', dev.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Link:
    def __init__(self, params):
        self.delay_ms = 0.0
        self.jitter_ms = 0.0
        self.loss = 0.0
        self.up = True
        self.last_due = 0.0
        self.queued = 0
        self.sent = 0
        self.dropped = 0
        self.set(params)

    def set(self, params):
        unknown = set(params) - set(LINK_KEYS) - {'from', 'to'}
        if unknown:
            raise ValueError('unknown link keys: %s' % sorted(unknown))
        self.delay_ms = float(params.get('delayMs', self.delay_ms))
        self.jitter_ms = float(params.get('jitterMs', self.jitter_ms))
        self.loss = float(params.get('loss', self.loss))
        self.up = bool(params.get('up', self.up))

    def due(self, now, rng):
        """When a packet entering now leaves, or None when it is lost."""
        if not self.up or rng.random() < self.loss or self.queued >= QUEUE_PACKETS_MAX:
            self.dropped += 1
            return None
        delay = self.delay_ms - self.jitter_ms / 2 + rng.random() * self.jitter_ms
        self.last_due = max(self.last_due, now + max(0.0, delay) / 1000)
        self.sent += 1
        return self.last_due


def main():
    config = json.loads(sys.argv[1])
    rng = random.Random(config.get('seed', 1))
    nodes = config['nodes']
    default = config.get('default', {})
    fds = {n['name']: open_tun(n['dev']) for n in nodes}
    name_of_fd = {fd: name for name, fd in fds.items()}
    by_addr = {bytes(int(x) for x in n['addr'].split('.')): n['name'] for n in nodes}
    links = {(a['name'], b['name']): Link(default) for a in nodes for b in nodes if a is not b}
    for spec in config.get('links', []):
        links[(spec['from'], spec['to'])].set(spec)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('ready', flush=True)

    pending = []  # heap of (due, seq, link, receiver fd, packet)
    seq = 0
    stdin = sys.stdin.fileno()
    watched = list(fds.values()) + [stdin]
    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, link, fd, packet = heapq.heappop(pending)
            link.queued -= 1
            try:
                os.write(fd, packet)
            except OSError:
                pass  # the receiver's device is down or gone: the packet is lost, as on a wire
        timeout = max(0.0, pending[0][0] - now) if pending else None
        readable, _, _ = select.select(watched, [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            if fd == stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                command(json.loads(line), links)
                continue
            while True:
                try:
                    packet = os.read(fd, READ_BYTES)
                except BlockingIOError:
                    break
                if len(packet) < 20 or packet[0] >> 4 != 4:
                    continue  # not IPv4 (e.g. an IPv6 router solicitation): nothing to route
                receiver = by_addr.get(packet[IPV4_DST])
                if receiver is None:
                    continue
                link = links.get((name_of_fd[fd], receiver))
                if link is None:
                    continue
                due = link.due(now, rng)
                if due is None:
                    continue
                link.queued += 1
                seq += 1
                heapq.heappush(pending, (due, seq, link, fds[receiver], packet))


def command(cmd, links):
    if 'link' in cmd:
        spec = cmd['link']
        links[(spec['from'], spec['to'])].set(spec)
        print('ok', flush=True)
    elif 'stats' in cmd:
        out = {'%s>%s' % k: {'sent': l.sent, 'dropped': l.dropped} for k, l in links.items()}
        print('stats ' + json.dumps(out), flush=True)
    else:
        print('error unknown command', flush=True)


if __name__ == '__main__':
    main()
