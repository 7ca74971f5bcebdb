"""Goal masks: which components of which goal token the policy sees.

A goal is a set of tokens: short-horizon preview frames (``PREVIEW`` offsets, in control
steps ahead) and one long-horizon snapshot frame. Each token is a reference frame's
residual features (``contract.goals.features``) times a binary mask over them. The
named patterns are the tasks of the paper; training samples patterns at random:

| pattern | preview tokens | snapshot token | training probability |
|---|---|---|---|
| full | everything | everything | 0.2 |
| snapshot | - | everything | 0.2 |
| trajectory | root + object position | - | 0.15 |
| contact | - | hand positions, object pose, contact labels | 0.15 |
| snapshot+trajectory | root + object position | everything | 0.1 |
| contact+trajectory | root + object position | hand positions, object pose, contacts | 0.1 |
| random | each component kept with p 0.5 | each component kept with p 0.5 | 0.1 |

A mask is resampled at every episode start and, with probability
``GoalConfig.resample_per_second`` per second, during it (so the policy learns to switch
goals mid-motion).
"""

from __future__ import annotations

import numpy as np

from common.array_namespace import constant, namespace, readonly
from contract.goals.features import COMPONENTS, GOAL_DIM, HAND_POS, SLICES

PREVIEW = (1, 2, 4)  # control steps ahead
TASKS = ("getup",)  # the prior's learnable task tokens, in input order (Stage 3)
NUM_TOKENS = len(PREVIEW) + 1  # the snapshot is the last token

_ALL = tuple(name for name, _ in COMPONENTS)
_PATH = ("root_pos", "object_pos")
_CONTACT = ("hand_pos", "object_pos", "object_rot", "contact")

# pattern -> (preview components, snapshot components)
PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "full": (_ALL, _ALL),
    "snapshot": ((), _ALL),
    "trajectory": (_PATH, ()),
    "contact": ((), _CONTACT),
    "snapshot+trajectory": (_PATH, _ALL),
    "contact+trajectory": (_PATH, _CONTACT),
}
TRAINING_PROBS: dict[str, float] = {
    "full": 0.2, "snapshot": 0.2, "trajectory": 0.15, "contact": 0.15,
    "snapshot+trajectory": 0.1, "contact+trajectory": 0.1, "random": 0.1,
}  # fmt: skip


def component_mask(names: tuple[str, ...]) -> np.ndarray:
    """(GOAL_DIM,) bool mask of the named components (``hand_pos``: the hands' positions
    inside ``body_pos``)."""
    mask = np.zeros(GOAL_DIM, bool)
    for name in names:
        if name == "hand_pos":
            mask[HAND_POS] = True
        elif name in SLICES:
            mask[SLICES[name]] = True
        else:
            raise ValueError(f"unknown goal component {name!r}; known: {_ALL + ('hand_pos',)}")
    return mask


def pattern_mask(pattern: str, n: int = 1) -> np.ndarray:
    """(n, NUM_TOKENS, GOAL_DIM) bool mask of a named pattern."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown goal pattern {pattern!r}; known: {sorted(PATTERNS)}")
    preview, snapshot = PATTERNS[pattern]
    token = np.stack([component_mask(preview)] * len(PREVIEW) + [component_mask(snapshot)])
    return np.broadcast_to(token, (n, NUM_TOKENS, GOAL_DIM)).copy()


def check_probs(probs: dict[str, float]) -> None:
    """Refuse a pattern mix that names an unknown pattern, weighs one below 0 or is all 0."""
    known = set(PATTERNS) | {"random"}
    unknown = sorted(set(probs) - known)
    if unknown:
        raise ValueError(f"unknown goal patterns {unknown}; known: {sorted(known)}")
    negative = sorted(k for k, v in probs.items() if v < 0)
    if negative:
        raise ValueError(f"goal patterns {negative} have a probability below 0")
    if not sum(probs.values()) > 0:
        raise ValueError(f"goal pattern probabilities {probs} sum to 0: no pattern to draw")


# every pattern's mask, "random" last (its row unused), and the component of each feature
_DRAWN = (*PATTERNS, "random")
_MASKS = readonly([pattern_mask(name)[0] for name in PATTERNS]
                  + [np.zeros((NUM_TOKENS, GOAL_DIM), bool)])  # fmt: skip
_COMPONENT_OF = readonly(np.repeat(np.arange(len(COMPONENTS)), [s for _, s in COMPONENTS]))


def sample_masks(rng, n: int, probs: dict[str, float] = TRAINING_PROBS) -> np.ndarray:
    """(n, NUM_TOKENS, GOAL_DIM) training masks drawn from ``probs`` (pattern ->
    probability, ``random`` included; normalized). ``rng``: numpy's Generator, or one
    drawing torch tensors on a device (``training.random_source``), whose arrays these are.
    Every draw has the same shapes whatever is picked: nothing waits for a device."""
    check_probs(probs)
    p = np.array([probs.get(name, 0.0) for name in _DRAWN])
    picks = rng.choice(len(_DRAWN), size=n, p=p / p.sum())
    keep = rng.random((n, NUM_TOKENS, len(COMPONENTS))) < 0.5
    random = keep[:, :, constant(_COMPONENT_OF, picks)]
    named = constant(_MASKS, picks)[picks]
    return namespace(picks).where((picks == len(PATTERNS))[:, None, None], random, named)
