"""Running the flow's command under SIGKILL at random points, each run resuming from the last
snapshot: what the crash tests of the flow share."""

from __future__ import annotations

import random
import signal
import subprocess


def run_killed_then_finished(
    cmd: list[str], seed: int, wait_s: tuple[float, float], runs: int = 3
) -> subprocess.CompletedProcess[str]:
    """Start `cmd` `runs` times, killing each run after a random wait in `wait_s` unless it
    ended first, then once more to the end; that last run's result.  Fails when no run was
    killed: the input was too short to test anything."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(runs):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(*wait_s))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert kills >= 1, "every run finished before it could be killed: make the input longer"
    return final
