"""Per-core kernel traces (percpu/include/trace.h) to Chrome trace-event JSON,
which Perfetto (ui.perfetto.dev) and chrome://tracing open.

A run booted with `trace=yes` ends by printing every core's ring:

    [cpu0] TRACE hz 2260649200 cores 2 events 2048
    [cpu0] TRACE lost 1 812            (core 1's oldest 812 events were overwritten)
    [cpu0] TRACE <core> <tsc hex> <type> <a> <b hex>

One track (process) per core, one thread per environment on it (tid 0 is
the kernel itself); slices are complete events, upcalls, IPIs, revocation
steps and exits instant events, and each channel message a flow from its
send on one core to its receipt on the other.
"""

import json
import re

TYPES = {1: "slice_start", 2: "slice_end", 3: "upcall", 4: "ipi_send", 5: "ipi_recv",
         6: "chan_send", 7: "chan_recv", 8: "revoke", 9: "env_exit"}
UPCALLS = {0: "fault", 1: "sched", 2: "revoke"}
IPIS = {0: "wake", 1: "ping", 2: "pong", 3: "call", 4: "stop", 5: "tlb"}  # exo/ipi_kind.h
CHAN = {1: "ping", 2: "pong", 3: "call", 4: "notify", 5: "req", 6: "reply"}  # percpu/include/chan.h
REVOKE = {1: "asked", 2: "told", 3: "abort"}

HEADER_RE = re.compile(r"TRACE hz (\d+) cores (\d+) events (\d+)\s*$")
LOST_RE = re.compile(r"TRACE lost (\d+) (\d+)\s*$")
EVENT_RE = re.compile(r"TRACE (\d+) ([0-9a-f]+) (\d+) (\d+) ([0-9a-f]+)\s*$")


class TraceError(Exception):
    pass


def parse(text):
    """(hz, {core: lost}, [(core, tsc, type, a, b)]) from a console log."""
    hz, lost, events = None, {}, []
    for line in text.splitlines():
        body = line[line.find("TRACE"):] if "TRACE" in line else ""
        if not body:
            continue
        m = HEADER_RE.match(body)
        if m:
            hz = int(m.group(1))
            continue
        m = LOST_RE.match(body)
        if m:
            lost[int(m.group(1))] = int(m.group(2))
            continue
        m = EVENT_RE.match(body)
        if m:
            events.append((int(m.group(1)), int(m.group(2), 16), int(m.group(3)),
                           int(m.group(4)), int(m.group(5), 16)))
    if hz is None:
        raise TraceError("no trace in this log (boot with trace=yes: tools/exo run -- ... trace=yes)")
    if not hz:
        raise TraceError("the trace's clock rate is 0: its times cannot be converted")
    return hz, lost, events


def chrome(text):
    """The Chrome trace-event JSON object for a log's trace."""
    hz, lost, events = parse(text)
    t0 = min((e[1] for e in events), default=0)

    def us(tsc):
        return (tsc - t0) * 1e6 / hz

    out, threads, open_slice, sends = [], set(), {}, {}
    for core, tsc, typ, a, b in sorted(events, key=lambda e: (e[1], e[0])):
        name = TYPES.get(typ, f"type{typ}")
        if typ == 1:
            env, upcall = a & 0x7fffffff, a >> 31
            open_slice[core] = (tsc, env, b)
            if upcall:  # the slice began with its scheduler upcall
                threads.add((core, env + 1))
                out.append({"name": "upcall sched", "cat": "upcall", "ph": "i", "s": "t",
                            "ts": us(tsc), "pid": core, "tid": env + 1, "args": {"env": env}})
            continue
        if typ == 2:
            start = open_slice.pop(core, None)
            if start is None:
                continue  # its start was overwritten in the ring
            s_tsc, env, slot = start
            threads.add((core, env + 1))
            out.append({"name": f"env {env}", "cat": "slice", "ph": "X", "ts": us(s_tsc),
                        "dur": us(tsc) - us(s_tsc), "pid": core, "tid": env + 1,
                        "args": {"slot": "free" if slot == 2**64 - 1 else slot,
                                 "cycles": b}})
            continue
        tid, args = 0, {}
        if typ == 3:
            tid, name, args = a + 1, f"upcall {UPCALLS.get(b, b)}", {"env": a}
        elif typ in (4, 5):
            name = f"ipi {IPIS.get(b, b)} " + (f"to cpu{a}" if typ == 4 else "received")
        elif typ in (6, 7):
            seq, kind = b >> 8, CHAN.get(b & 0xff, b & 0xff)
            src, dst = (core, a) if typ == 6 else (a, core)
            name = f"chan {kind} " + (f"to cpu{a}" if typ == 6 else f"from cpu{a}")
            flow = {"name": f"chan {kind}", "cat": "chan", "id": f"{src}-{dst}-{seq}",
                    "pid": core, "tid": 0, "ts": us(tsc)}
            if typ == 6:
                flow["ph"] = "s"
                sends[flow["id"]] = flow
            elif flow["id"] in sends:
                flow["ph"], flow["bp"] = "f", "e"
            else:
                flow = None  # its send was overwritten
            if flow:
                out.append(flow)
            args = {"seq": seq}
        elif typ == 8:
            tid, name, args = a + 1, f"revoke {REVOKE.get(b, b)}", {"env": a}
        elif typ == 9:
            tid, name, args = a + 1, "exit", {"env": a, "status": b - 2**64 if b >= 2**63 else b}
        if tid:
            threads.add((core, tid))
        out.append({"name": name, "cat": TYPES.get(typ, "?"), "ph": "i", "s": "t",
                    "ts": us(tsc), "pid": core, "tid": tid, "args": args})
    cores = sorted({e[0] for e in events} | set(lost))
    meta = [{"ph": "M", "name": "process_name", "pid": c, "args": {"name": f"cpu{c}"}}
            for c in cores]
    meta += [{"ph": "M", "name": "thread_name", "pid": c, "tid": 0, "args": {"name": "kernel"}}
             for c in cores]
    meta += [{"ph": "M", "name": "thread_name", "pid": c, "tid": t,
              "args": {"name": f"env {t - 1}"}} for c, t in sorted(threads)]
    return {"traceEvents": meta + out, "displayTimeUnit": "ns",
            "otherData": {"tsc_hz": hz, "lost_events": {str(k): v for k, v in lost.items()}}}


def convert(log_path, out_path):
    """Write the JSON for log_path to out_path; returns (events, lost) counts."""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        data = chrome(f.read())
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return len(data["traceEvents"]), sum(data["otherData"]["lost_events"].values())
