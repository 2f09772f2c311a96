"""Example 3, a barrier (examples/README.md, section 3): nobody passes until the last of
COUNT participants has arrived, then everybody does."""

import unittest

from harness import ExampleTestCase, python_command

COUNT = 3
PREFIX = "demo/barrier/run-1"


class BarrierExample(ExampleTestCase):

    def participant(self, name):
        return self.start(name, python_command("barrier", "barrier.py", name, str(COUNT), PREFIX),
                          self.server)

    def test_everyone_passes_once_the_last_arrives(self):
        self.server = self.start_dev_server()
        self.wait_for_sessions(self.server)
        early = [self.participant(f"p{number}") for number in range(1, COUNT)]
        for process in early:
            self.wait_for_output(process, r"arrived")
        for process in early:
            self.assert_quiet(process, r"passed", for_s=0.5)

        last = self.participant(f"p{COUNT}")
        last_arrival = float(self.wait_for_output(last, r"arrived at ([\d.]+)").group(1))
        for process in early + [last]:
            passed_at = float(self.wait_for_output(process, r"passed at ([\d.]+)", 10).group(1))
            self.assertGreaterEqual(passed_at, last_arrival, process.name)
            self.assertEqual(process.wait(), 0, self.describe_processes())
        self.assertIsNotNone(self.server.kv_value(PREFIX + "/open"))


if __name__ == "__main__":
    unittest.main()
