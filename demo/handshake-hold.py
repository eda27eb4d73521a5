#!/usr/bin/env python3
"""Hold every SYN sent to one TCP port for a fixed time, then let it through.

The delay proxy's handshake mode (demo/handshake-hold.ts) runs this for its port. It adds an
iptables rule that sends the port's SYNs to an NFQUEUE queue, holds each queued SYN for --delay-ms
and then accepts it, so the client's TCP connect takes that much longer: a slow handshake, made by
the kernel's own TCP, with no qdisc (this runs where sch_netem is missing). It removes the rule
when it stops, however it is asked to; the rule's --queue-bypass lets SYNs through unheld if this
program dies without removing it (SIGKILL).

It is Python because Node cannot open netlink sockets; it uses the standard library only. The
protocol (nfnetlink_queue) is spoken directly: bind the queue, ask for packet metadata only, and
answer each packet id with an NF_ACCEPT verdict when its time is up.

Output, one JSON object per line on stdout: {"ready": true} once the queue and rule are in place, then
{"held": N} when it stops (SIGTERM, SIGINT, or stdin closing). Errors go to stderr, exit 1.
Needs CAP_NET_ADMIN in the current network namespace.
"""

import argparse
import errno
import heapq
import json
import os
import select
import signal
import socket
import struct
import subprocess
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
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        except OSError as error:
            raise OSError(error.errno, f'cannot open a netfilter netlink socket ({error.strerror}): this kernel lacks nfnetlink') from error
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
        try:
            self.configure('binding', [(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, 0))])
        except OSError as error:
            if error.errno != errno.EPERM:
                raise
            if os.geteuid() != 0:
                raise OSError(error.errno, 'binding an NFQUEUE queue needs root (CAP_NET_ADMIN)') from error
            raise OSError(error.errno, f'NFQUEUE queue {self.number} is bound by another program (another handshake hold on this port?)') from error
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


class Rule:
    """The iptables rule sending the port's SYNs to the queue. mangle PREROUTING sees both loopback
    traffic (OUTPUT, lo, PREROUTING) and traffic from other hosts."""

    def __init__(self, host, port, queue_number):
        self.tool = 'ip6tables' if ':' in host else 'iptables'
        destination = [] if host in ('0.0.0.0', '::') else ['-d', host]
        self.spec = ['PREROUTING', '-t', 'mangle', '-p', 'tcp', *destination, '--dport', str(port), '--syn',
                     '-j', 'NFQUEUE', '--queue-num', str(queue_number), '--queue-bypass']

    def change(self, action):
        # -w: wait for the xtables lock rather than fail while another rule change is under way.
        command = [self.tool, '-w', action, *self.spec]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError as error:
            raise OSError(f'{self.tool} not found: {error}') from error
        if done.returncode != 0:
            raise OSError(f'{" ".join(command)} failed: {done.stderr.strip()}')


class Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler, so a blocking select() ends at once."""


def stop(*_):
    raise Stop()


def stop_on_signals(handler):
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def run(host, port, delay_s):
    stop_on_signals(stop)
    # One queue per port: two holders never share a queue, and the number says whose it is.
    queue = Queue(port)
    rule = Rule(host, port, port)
    added = False
    held = 0
    try:
        queue.bind()
        rule.change('-A')
        added = True
        print(json.dumps({'ready': True}), flush=True)
        held = hold(queue, delay_s)
    except Stop:
        pass  # asked to stop before holding anything
    finally:
        # Clean-up is not interrupted by a second signal: the rule must go.
        stop_on_signals(signal.SIG_IGN)
        try:
            if added:
                rule.change('-D')
        finally:
            queue.unbind()
    print(json.dumps({'held': held}), flush=True)


def hold(queue, delay_s):
    """Hold each queued packet for delay_s, until stopped; returns how many were held."""
    due = []  # (release time, packet id), soonest first
    held = 0
    watched = [queue.sock, sys.stdin]
    try:
        while True:
            timeout = None if not due else max(0.0, due[0][0] - time.monotonic())
            readable, _, _ = select.select(watched, [], [], timeout)
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
    except Stop:
        pass
    # Nothing stays queued: whatever was still held goes through now, uninterrupted.
    stop_on_signals(signal.SIG_IGN)
    while due:
        queue.accept(heapq.heappop(due)[1])
    return held


def main():
    parser = argparse.ArgumentParser(description='Hold each SYN sent to a TCP port for a fixed time (Linux, root).')
    parser.add_argument('--port', type=int, required=True, help='listening port whose SYNs are held (also the NFQUEUE number)')
    parser.add_argument('--host', default='127.0.0.1', help='listening address (0.0.0.0 or :: for any)')
    parser.add_argument('--delay-ms', type=float, required=True, help='how long each SYN is held')
    args = parser.parse_args()
    if not 1 <= args.port <= 65535 or args.delay_ms < 0:
        parser.error('--port must be 1-65535 and --delay-ms at least 0')
    try:
        run(args.host, args.port, args.delay_ms / 1000)
    except OSError as error:
        print(f'handshake-hold: {error.strerror or error}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
