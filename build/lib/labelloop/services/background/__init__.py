"""Heavy work, out of workers' requests, as a list of steps (``runner.STEPS``): end leases, run the
pre-annotation hook, consolidate, finish jobs, write output. Each step is one module with
``step(ctx, job_pass) -> Outcome``."""

from labelloop.services.background.runner import CLAIM_S, STEPS, run_background_once

__all__ = ["CLAIM_S", "STEPS", "run_background_once"]
