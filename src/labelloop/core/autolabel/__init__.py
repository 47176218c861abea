"""Automated data labeling, pure: the certified threshold, which objects go to people next, round sizes."""

from labelloop.core.autolabel.certify import Certificate, certify_threshold, clopper_pearson, min_validation_correct
from labelloop.core.autolabel.plan import MIN_JOB_OBJECTS, Plan, human_budget, plan
from labelloop.core.autolabel.rounds import Decision, decide_round
from labelloop.core.autolabel.select import margin, random_sample, select_batch

__all__ = ["MIN_JOB_OBJECTS", "Certificate", "Decision", "Plan", "certify_threshold", "clopper_pearson", "decide_round", "human_budget",
           "margin", "min_validation_correct", "plan", "random_sample", "select_batch"]
