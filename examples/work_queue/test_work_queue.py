"""Example 4, a work queue on sequential keys (examples/README.md, section 4): two producers
queue jobs, three consumers share them; every job is done exactly once (no consumer dies
here) and the queue ends empty."""

import re
import unittest

from harness import ExampleTestCase, python_command, report

PREFIX = "demo/jobs"
JOBS_PER_PRODUCER = 15


class WorkQueueExample(ExampleTestCase):

    def test_every_job_is_done_once(self):
        server = self.start_dev_server()
        self.wait_for_sessions(server)
        consumers = [self.start(name, python_command("work_queue", "consumer.py", name, PREFIX),
                                server)
                     for name in ("c1", "c2", "c3")]
        producers = [self.start(name, python_command("work_queue", "producer.py", PREFIX,
                                                     str(JOBS_PER_PRODUCER), name), server)
                     for name in ("p1", "p2")]
        for producer in producers:
            self.assertEqual(producer.wait(30), 0, self.describe_processes())
        queued = [re.findall(r"queued (\S+) (\S+)", producer.output()) for producer in producers]
        for jobs in queued:  # each producer's keys increase: queue order is creation order
            self.assertEqual([key for key, _ in jobs], sorted(key for key, _ in jobs))
        expected = sorted(job for jobs in queued for _, job in jobs)
        self.assertEqual(len(expected), 2 * JOBS_PER_PRODUCER)

        def done():
            return sorted(job for consumer in consumers
                          for job in re.findall(r"did \S+ (\S+)", consumer.output()))
        self.wait_until(lambda: len(done()) >= len(expected), 30, "every job to be done")
        self.assertEqual(done(), expected)  # each exactly once
        self.wait_until(lambda: server.kv_entries(PREFIX + "/") == {}, 10, "an empty queue")
        shares = [len(re.findall(r"did ", consumer.output())) for consumer in consumers]
        report(f"  jobs done per consumer: {shares}")


if __name__ == "__main__":
    unittest.main()
