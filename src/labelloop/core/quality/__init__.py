"""Quality control, pure: agreement and accuracy metrics, calibration figures (see ``metrics.py``)."""

from .metrics import (
    Interval,
    WorkerAccuracy,
    agreement_with_labels,
    beta_interval,
    brier_score,
    expected_calibration_error,
    krippendorff_alpha_nominal,
    label_agreement,
    reliability_bins,
    wilson_interval,
    worker_accuracy,
)

__all__ = [
    "Interval",
    "WorkerAccuracy",
    "agreement_with_labels",
    "beta_interval",
    "brier_score",
    "expected_calibration_error",
    "krippendorff_alpha_nominal",
    "label_agreement",
    "reliability_bins",
    "wilson_interval",
    "worker_accuracy",
]
