"""Callbacks of `ddpg.train(..., callbacks=[...])`: after each episode and after each evaluation.

A callback has either hook or both: `on_episode_end(row)` with the episode's metrics row (metrics.csv's),
`on_evaluation_end(row)` with the evaluation's row (eval.csv's). A hook that returns True stops the run,
which then finishes as a spent budget does: its last checkpoint, actor.keras and the learning curve are
written (a later `--resume` or train with RunOptions(resume=True) continues it to its budget).
Standard library only.
"""

from __future__ import annotations


class Callback:
    """A base to subclass (any object with either method will do)."""

    def on_episode_end(self, row: dict) -> bool | None:
        return None

    def on_evaluation_end(self, row: dict) -> bool | None:
        return None


class EarlyStopping(Callback):
    """Stop once an evaluation's mean return reaches `threshold` (needs eval_every > 0); `stopped_at` is the
    step of that evaluation (None while it has not)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self.stopped_at: int | None = None

    def on_evaluation_end(self, row: dict) -> bool:
        if row["mean_return"] >= self.threshold:
            self.stopped_at = int(row["step"])
            return True
        return False


def any_stops(callbacks, hook: str, row: dict) -> bool:
    """Call `hook` of every callback with a copy of the row (every one runs); whether any asked to stop."""
    asked = [bool(method(dict(row))) for callback in callbacks if (method := getattr(callback, hook, None))]
    return any(asked)
