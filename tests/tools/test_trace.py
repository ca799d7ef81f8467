"""tools/exolib/trace.py: a run's TRACE lines to Chrome trace-event JSON."""

import os
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import trace  # noqa: E402

LOG = """\
[cpu0] exocore: booting
[cpu0] TRACE hz 1000000000 cores 2 events 2048
[cpu0] TRACE lost 1 5
[cpu0] TRACE 0 3e8 1 2147483651 ffffffffffffffff
[cpu0] TRACE 0 3f2 3 3 2
[cpu0] TRACE 0 7d0 6 1 1205
[cpu0] TRACE 0 bb8 2 3 7d0
[cpu0] TRACE 1 834 7 0 1205
[cpu0] TRACE 1 900 7 0 3402
[cpu0] TRACE 1 960 9 4 fffffffffffffff7
[cpu0] exit: pass
"""


class Trace(unittest.TestCase):
    def test_slices_flows_and_tracks(self):
        ev = trace.chrome(LOG)["traceEvents"]
        slices = [e for e in ev if e["ph"] == "X"]
        self.assertEqual(len(slices), 1)
        self.assertEqual(slices[0]["pid"], 0)
        self.assertEqual(slices[0]["tid"], 4)  # env 3
        self.assertAlmostEqual(slices[0]["dur"], 2.0)  # 2000 cycles at 1 GHz: 2 us
        self.assertEqual(slices[0]["args"]["slot"], "free")
        # The message sent by cpu0 (seq 0x12, type 5) and received by cpu1 is one flow.
        flows = [e for e in ev if e["ph"] in ("s", "f")]
        self.assertEqual([(e["ph"], e["pid"], e["id"]) for e in flows],
                         [("s", 0, "0-1-18"), ("f", 1, "0-1-18")])
        # A receipt whose send was overwritten is an instant event, not a dangling flow.
        self.assertTrue(any(e["name"] == "chan pong from cpu0" for e in ev))
        names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in ev if e["ph"] == "M"
                 and e["name"] == "thread_name"}
        self.assertEqual(names[(0, 4)], "env 3")
        self.assertEqual(names[(1, 0)], "kernel")
        upcalls = [(e["name"], e["tid"]) for e in ev if e["name"].startswith("upcall")]
        self.assertEqual(upcalls, [("upcall sched", 4), ("upcall revoke", 4)])
        exits = [e for e in ev if e["name"] == "exit"]
        self.assertEqual(exits[0]["args"]["status"], -9)
        self.assertEqual(trace.chrome(LOG)["otherData"]["lost_events"], {"1": 5})

    def test_a_log_without_a_trace_is_an_error(self):
        with self.assertRaises(trace.TraceError) as cm:
            trace.chrome("[cpu0] exocore: booting\n")
        self.assertIn("trace=yes", str(cm.exception))

    def test_convert_writes_json(self):
        with tempfile.TemporaryDirectory() as d:
            log, out = os.path.join(d, "run.log"), os.path.join(d, "run.json")
            with open(log, "w") as f:
                f.write(LOG)
            n, lost = trace.convert(log, out)
            self.assertGreater(n, 5)
            self.assertEqual(lost, 5)
            self.assertTrue(os.path.getsize(out) > 100)


if __name__ == "__main__":
    unittest.main()
