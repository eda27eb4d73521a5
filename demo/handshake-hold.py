#!/usr/bin/env python3
"""Hold every packet of one Linux NFQUEUE queue for a fixed time, then let it through.

The delay proxy's handshake mode queues each SYN sent to its port (an iptables NFQUEUE rule that
demo/handshake-hold.ts installs); this program holds each queued SYN for --delay-ms and then
accepts it, so the client's TCP connect takes that much longer: a slow handshake, made by the
kernel's own TCP, with no qdisc (this runs where sch_netem is missing).

It is Python because Node cannot open netlink sockets; it uses the standard library only. The
protocol (nfnetlink_queue) is spoken directly: bind the queue, ask for packet metadata only, and
answer each packet id with an NF_ACCEPT verdict when its time is up.

Output, one JSON object per line on stdout: {"ready": true} once the queue is bound, then
{"held": N} when it stops (SIGTERM, SIGINT, or stdin closing). Errors go to stderr, exit 1.
Needs CAP_NET_ADMIN in the current network namespace.
"""

import argparse
import heapq
import json
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NLMSG_HEADER = struct.Struct('=IHHII')  # length, type, flags, sequence, port id
NLA_HEADER = struct.Struct('=HH')  # length, type (host order); payloads are network order


def align4(n):
    return (n + 3) & ~3


class Queue:
    def __init__(self, number):
        self.number = number
        self.sequence = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))

    def send(self, msg_type, flags, attributes):
        self.sequence += 1
        body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(self.number))
        for attr_type, payload in attributes:
            length = NLA_HEADER.size + len(payload)
            body += NLA_HEADER.pack(length, attr_type) + payload + b'\0' * (align4(length) - length)
        header = NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.sequence, 0)
        self.sock.send(header + body)

    def configure(self, what, attributes):
        self.send(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, attributes)
        reply = self.sock.recv(65536)
        _, msg_type, _, _, _ = NLMSG_HEADER.unpack_from(reply)
        if msg_type == NLMSG_ERROR:
            (error,) = struct.unpack_from('=i', reply, NLMSG_HEADER.size)
            if error != 0:
                raise OSError(-error, f'{what} queue {self.number}: {os.strerror(-error)}')

    def bind(self):
        self.configure('binding', [(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, 0))])
        # Metadata only: the verdict needs the packet id, never the payload.
        self.configure('configuring', [(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META))])

    def unbind(self):
        try:
            self.send(NFQNL_MSG_CONFIG, NLM_F_REQUEST, [(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_UNBIND, 0, 0))])
        except OSError:
            pass

    def packet_ids(self, data):
        """Packet ids in one netlink read (several messages may share it)."""
        offset = 0
        while offset + NLMSG_HEADER.size <= len(data):
            length, msg_type, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
            if length < NLMSG_HEADER.size:
                break
            if msg_type == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                attr = offset + NLMSG_HEADER.size + 4  # past the nfgenmsg header
                while attr + NLA_HEADER.size <= offset + length:
                    attr_length, attr_type = NLA_HEADER.unpack_from(data, attr)
                    if attr_length < NLA_HEADER.size:
                        break
                    if attr_type & 0x7FFF == NFQA_PACKET_HDR:
                        yield struct.unpack_from('!I', data, attr + NLA_HEADER.size)[0]
                    attr += align4(attr_length)
            offset += align4(length)

    def accept(self, packet_id):
        self.send(NFQNL_MSG_VERDICT, NLM_F_REQUEST, [(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))])


def run(queue_number, delay_s):
    queue = Queue(queue_number)
    queue.bind()
    print(json.dumps({'ready': True}), flush=True)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    due = []  # (release time, packet id), soonest first
    held = 0
    watched = [queue.sock, sys.stdin]
    while not stopping:
        timeout = None if not due else max(0.0, due[0][0] - time.monotonic())
        try:
            readable, _, _ = select.select(watched, [], [], timeout)
        except InterruptedError:
            continue
        if sys.stdin in readable and not sys.stdin.buffer.read1(4096):
            break  # the parent went away
        if queue.sock in readable:
            arrived = time.monotonic()
            for packet_id in queue.packet_ids(queue.sock.recv(65536)):
                heapq.heappush(due, (arrived + delay_s, packet_id))
                held += 1
        now = time.monotonic()
        while due and due[0][0] <= now:
            queue.accept(heapq.heappop(due)[1])
    # Nothing stays queued: whatever was still held goes through now.
    while due:
        queue.accept(heapq.heappop(due)[1])
    queue.unbind()
    print(json.dumps({'held': held}), flush=True)


def main():
    parser = argparse.ArgumentParser(description='Hold each packet of an NFQUEUE queue for a fixed time.')
    parser.add_argument('--queue', type=int, required=True, help='NFQUEUE queue number (0-65535)')
    parser.add_argument('--delay-ms', type=float, required=True, help='how long each packet is held')
    args = parser.parse_args()
    if not 0 <= args.queue <= 65535 or args.delay_ms < 0:
        parser.error('--queue must be 0-65535 and --delay-ms at least 0')
    try:
        run(args.queue, args.delay_ms / 1000)
    except OSError as error:
        print(f'handshake-hold: {error}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
