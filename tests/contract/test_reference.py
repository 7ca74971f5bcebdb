"""Reference lookups: the future frames the observation reads are the frames' own
states, clamped at each clip's end, in numpy and in torch."""

from pathlib import Path

import numpy as np
import pytest

from contract.reference import ReferenceMotions
from robots.clip import load_clip

CLIP = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_lift_clip.npz"


@pytest.fixture(scope="module")
def refs():
    clip = load_clip(CLIP)
    return ReferenceMotions([clip, clip.slice(0, 40)], 50.0)


def test_future_frames_are_the_states_of_those_frames(refs):
    short = refs.lengths[1]
    clip = np.array([0, 0, 1, 1, 1])
    frame = np.array([0, 30, 0, short - 3, short - 1])  # the last two run off the clip
    offsets = (1, 2, 5, 10)
    future = refs.future(clip, frame, offsets)
    assert len(future) == len(offsets)
    for k, (state, contact) in zip(offsets, future, strict=True):
        one, one_contact = refs.state(clip, frame + k)
        for name, value in vars(one).items():
            np.testing.assert_array_equal(getattr(state, name), value, err_msg=name)
        np.testing.assert_array_equal(contact, one_contact)
    last, _ = refs.state(np.array([1]), np.array([short - 1]))
    np.testing.assert_array_equal(future[-1][0].joint_pos[4], last.joint_pos[0])


def test_future_frames_in_torch_equal_numpy(refs):
    torch = pytest.importorskip("torch")
    clip, frame, offsets = np.array([0, 1]), np.array([5, 38]), (1, 3)
    device_refs = refs.like(torch.zeros(1, dtype=torch.float64))
    host = refs.future(clip, frame, offsets)
    dev = device_refs.future(torch.as_tensor(clip), torch.as_tensor(frame), offsets)
    for (hs, hc), (ds, dc) in zip(host, dev, strict=True):
        for name, value in vars(hs).items():
            np.testing.assert_array_equal(getattr(ds, name).numpy(), value, err_msg=name)
        np.testing.assert_array_equal(dc.numpy(), hc)
