"""A synthetic human-object motion: a person walks to a box on the floor, squats, lifts
it, carries it to a destination and puts it down.

Made from a procedural skeleton (InterAct joint names, positions only) so that tests
and the default demo need no dataset. Bone lengths are constant over the clip, feet are
planted while in stance, and the wrists sit on the box sides while it is held (labelled
as hand contacts). Everything is in metres, z-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retarget.motion import HumanMotion
from retarget.skeleton import INTERACT_JOINTS, hand_joints
from robots import quat
from robots.objects import ObjectSpec


@dataclass(frozen=True)
class SyntheticConfig:
    height: float = 1.75  # person's height; every bone scales with it
    box_size: tuple[float, float, float] = (0.3, 0.3, 0.3)  # full extents, m
    box_mass: float = 2.0
    start: tuple[float, float] = (0.0, 0.0)  # where the person stands at t = 0, facing the box
    box_xy: tuple[float, float] = (1.6, 0.0)  # box on the floor here
    place_xy: tuple[float, float] = (3.2, 0.8)  # ...and put down here
    carry_height: float = 1.0  # box centre height while carried
    speed: float = 0.8  # walking speed, m/s
    squat_depth: float = 0.5  # pelvis drop at the deepest crouch, m
    hip_back: float = 0.0  # pelvis shift backwards at the deepest crouch (hip hinge), m
    fps: float = 30.0


# Lift a tall, light box and put it back down without a step (start at the reach
# distance): the easiest whole-body HOI clip, for short CPU training runs. The shallow
# crouch with the hips pushed back keeps the G1's centre of mass over its feet (the
# deep straight-down squat of the default clip puts it 14 cm ahead of the ankles:
# beyond the toes, so no controller can track that reference without falling).
LIFT_IN_PLACE = SyntheticConfig(
    start=(1.6 - 0.37, 0.0), box_xy=(1.6, 0.0), place_xy=(1.6, 0.0),
    box_size=(0.3, 0.3, 0.5), box_mass=0.5, squat_depth=0.3, hip_back=0.15,
)  # fmt: skip

# Bone lengths of a 1.75 m person.
_B = dict(
    hip_side=0.09, hip_down=0.08, thigh=0.42, shank=0.42, ankle_h=0.08, toe_fwd=0.14,
    toe_down=0.05, torso=0.10, spine=0.22, chest=0.35, neck=0.55, head=0.66,
    thorax_side=0.07, shoulder_side=0.18, shoulder_up=0.13, upper_arm=0.28,
    forearm=0.26, hand=0.09, foot_side=0.10,
)  # fmt: skip
STEP_TIME = 0.5  # s per step; 80 % swing, 20 % double support


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _two_link(root: np.ndarray, target: np.ndarray, a: float, b: float, pole: np.ndarray):
    """Middle joint of a two-bone chain root -> target, bent towards ``pole``; the target
    is pulled in when out of reach so that bone lengths always hold."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    reach = np.clip(dist, abs(a - b) + 1e-6, a + b - 1e-6)
    u = d / np.maximum(dist, 1e-9)
    end = root + u * reach
    along = (a * a - b * b + reach * reach) / (2 * reach)
    perp = np.sqrt(np.maximum(a * a - along * along, 0.0))
    side = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-9)
    return root + u * along + side * perp, end


class _Plan:
    """Piecewise timeline: pelvis path and heading, crouch, box hold."""

    def __init__(self, cfg: SyntheticConfig):
        self.cfg = cfg
        b = {k: v * cfg.height / 1.75 for k, v in _B.items()}
        self.b = b
        start, box, place = (np.asarray(p, float) for p in (cfg.start, cfg.box_xy, cfg.place_xy))
        self.reach = 0.22 * cfg.height / 1.75 + cfg.box_size[0] / 2  # pelvis to box centre
        h1 = np.arctan2(*(box - start)[::-1])
        # Put down where it was picked up: keep facing the same way.
        h2 = h1 if np.allclose(place, box) else np.arctan2(*(place - box)[::-1])
        approach1 = box - self.reach * np.array([np.cos(h1), np.sin(h1)])
        approach2 = place - self.reach * np.array([np.cos(h2), np.sin(h2)])

        def steps(a: np.ndarray, b: np.ndarray) -> int:
            """Steps of a walk from a to b: none when already there (lift in place)."""
            distance = np.linalg.norm(b - a)
            return (
                0 if distance < 0.01 else max(2, int(np.ceil(distance / (cfg.speed * STEP_TIME))))
            )

        steps1, steps2 = steps(start, approach1), steps(approach1, approach2)
        # (name, duration, pelvis xy from/to, heading from/to)
        self.phases = [
            ("stand", 0.5, start, start, h1, h1),
            ("walk", steps1 * STEP_TIME, start, approach1, h1, h1),
            ("pick", 2.0, approach1, approach1, h1, h1),
            ("walk", steps2 * STEP_TIME, approach1, approach2, h1, h2),
            ("place", 2.0, approach2, approach2, h2, h2),
            ("stand", 0.5, approach2, approach2, h2, h2),
        ]
        self.phases = [p for p in self.phases if p[1] > 0]
        self.duration = sum(p[1] for p in self.phases)
        self.box_rest = np.array([*box, cfg.box_size[2] / 2])

    def phase(self, t: float):
        """(index, phase, progress in [0, 1], time since the phase began)."""
        t0 = 0.0
        for k, p in enumerate(self.phases):
            if t <= t0 + p[1] + 1e-9 or k == len(self.phases) - 1:
                return k, p, np.clip((t - t0) / p[1], 0.0, 1.0), t - t0
            t0 += p[1]
        raise AssertionError

    def state(self, t: float):
        """pelvis xy, heading, crouch in [0, 1], hold in [0, 1] (0 box resting, 1 carried)."""
        k, (name, _dur, p0, p1, h0, h1), s, local = self.phase(t)
        w = _smooth(s) if name == "walk" else s
        xy = p0 + (p1 - p0) * w
        heading = h0 + ((h1 - h0 + np.pi) % (2 * np.pi) - np.pi) * _smooth(s)
        crouch, hold, lift = 0.0, 0.0, 0.0
        if name == "pick":  # crouch 0-0.8 s, hands reach, lift 1.0-2.0 s
            crouch = _smooth(local / 0.8) * (1 - _smooth((local - 1.0) / 0.9))
            hold = _smooth((local - 0.5) / 0.4)
            lift = _smooth((local - 1.0) / 0.9)
        elif name == "place":  # mirror of pick
            crouch = _smooth(local / 0.9) * (1 - _smooth((local - 1.2) / 0.8))
            lift = 1 - _smooth(local / 0.9)
            hold = 1 - _smooth((local - 0.9) / 0.4)
        elif name == "walk" and k > 2:  # the carry walk
            hold, lift = 1.0, 1.0
        return xy, heading, crouch, hold, lift, name


def _box_trajectory(plan: _Plan, pelvis, heading, lift, carry_height):
    """(T, 3) box positions and (T,) headings: at rest until the hands hold it and the
    lift starts, then carried rigidly with the pelvis (its offset in the pelvis' heading
    frame kept from the lift's first frame) at the lift's height, and left where it is
    set down."""
    n = len(lift)
    pos = np.tile(plan.box_rest, (n, 1))
    yaw = np.full(n, heading[0])
    carried = np.flatnonzero(lift > 0)
    if not len(carried):
        return pos, yaw
    first, last = carried[0], carried[-1]
    rest_yaw = heading[first]
    offset = _rotate_z(-heading[first], plan.box_rest[:2] - pelvis[first, :2])
    span = slice(first, last + 1)
    pos[span, :2] = pelvis[span, :2] + _rotate_z(heading[span], offset)
    pos[span, 2] = plan.box_rest[2] + (carry_height - plan.box_rest[2]) * lift[span]
    yaw[:first] = rest_yaw
    yaw[span] = heading[span]
    pos[last + 1 :] = pos[last] * [1, 1, 0] + [0, 0, plan.box_rest[2]]
    yaw[last + 1 :] = yaw[last]
    return pos, yaw


def _rotate_z(angle, v: np.ndarray) -> np.ndarray:
    """Rotate xy vectors ``v`` by ``angle`` (scalar or per row) about z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], -1)


def synthetic_motion(cfg: SyntheticConfig = SyntheticConfig()) -> HumanMotion:
    plan = _Plan(cfg)
    b = plan.b
    t = np.arange(int(np.floor(plan.duration * cfg.fps)) + 1) / cfg.fps
    n = len(t)
    states = [plan.state(x) for x in t]
    xy = np.array([s[0] for s in states])
    heading = np.array([s[1] for s in states])
    crouch = np.array([s[2] for s in states])
    hold = np.array([s[3] for s in states])
    lift = np.array([s[4] for s in states])
    walking = np.array([s[5] == "walk" for s in states])

    fwd = np.stack([np.cos(heading), np.sin(heading), np.zeros(n)], 1)
    left = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], 1)
    up = np.array([0.0, 0.0, 1.0])

    # Feet: planted unless stepping; each step lands under its hip at mid-stance.
    leg = b["thigh"] + b["shank"]
    stand_z = b["ankle_h"] + 0.97 * leg + b["hip_down"]
    feet = np.zeros((2, n, 3))
    lift_h = np.zeros((2, n))
    for k, sign in enumerate((1.0, -1.0)):  # left, right
        feet[k] = np.c_[xy, np.zeros(n)] + sign * b["foot_side"] * left
    planted = feet[:, 0].copy()
    step_start = None
    for i in range(n):
        if walking[i]:
            _, (name, dur, *_), _s, local = plan.phase(t[i])
            step = int(local // STEP_TIME)
            k = step % 2
            phase = (local - step * STEP_TIME) / (0.8 * STEP_TIME)
            if step_start != (t[i] - local, step):
                step_start = (t[i] - local, step)
                land_t = min(t[i] - local + dur, t[i] + 0.8 * STEP_TIME - (local % STEP_TIME))
                j = min(round((land_t + 0.1) * cfg.fps), n - 1)
                sign = 1.0 if k == 0 else -1.0
                target = np.r_[xy[j], 0.0] + sign * b["foot_side"] * left[j]
                origin = planted[k].copy()
            if phase < 1.0:
                a = _smooth(phase)
                planted_now = origin + (target - origin) * a
                feet[k, i] = planted_now
                lift_h[k, i] = 0.08 * np.sin(np.pi * phase)
            else:
                planted[k] = target
                feet[k, i] = target
            feet[1 - k, i] = planted[1 - k]
        else:
            feet[:, i] = planted
    ankles = feet + np.array([0.0, 0.0, b["ankle_h"]]) + lift_h[..., None] * up

    # Pelvis: lowered and trunk pitched forward when crouching, slight bob when walking.
    bob = 0.015 * np.cos(4 * np.pi * t / STEP_TIME / 2) * walking
    hips_back = cfg.hip_back * crouch[:, None] * fwd[:, :2]
    pelvis = np.c_[xy - hips_back, stand_z - cfg.squat_depth * crouch + bob]
    pitch = np.deg2rad(55.0) * crouch + np.deg2rad(5.0) * hold * (1 - crouch)
    trunk = np.cos(pitch)[:, None] * up + np.sin(pitch)[:, None] * fwd

    j = {}
    j["Pelvis"] = pelvis
    for side, sign, k in (("L", 1.0, 0), ("R", -1.0, 1)):
        hip = pelvis + sign * b["hip_side"] * left - b["hip_down"] * up
        knee, ankle = _two_link(hip, ankles[k], b["thigh"], b["shank"], fwd)
        j[f"{side}_Hip"], j[f"{side}_Knee"], j[f"{side}_Ankle"] = hip, knee, ankle
        j[f"{side}_Toe"] = ankle + b["toe_fwd"] * fwd - b["toe_down"] * up
    for name in ("Torso", "Spine", "Chest", "Neck", "Head"):
        j[name] = pelvis + b[name.lower()] * trunk
    box_pos, box_heading = _box_trajectory(plan, pelvis, heading, lift, cfg.carry_height)
    box_quat = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), box_heading)
    half_w = cfg.box_size[1] / 2 + 0.03
    for side, sign in (("L", 1.0), ("R", -1.0)):
        shoulder = j["Chest"] + b["shoulder_up"] * trunk + sign * b["shoulder_side"] * left
        j[f"{side}_Thorax"] = (
            j["Chest"] + 0.6 * b["shoulder_up"] * trunk + sign * b["thorax_side"] * left
        )
        j[f"{side}_Shoulder"] = shoulder
        swing = 0.25 * np.sin(np.pi * t / STEP_TIME) * walking * sign * (1 - hold)
        hang = shoulder - 0.95 * (b["upper_arm"] + b["forearm"]) * (
            np.cos(swing)[:, None] * up - np.sin(swing)[:, None] * fwd
        )
        on_box = box_pos + sign * half_w * left
        wrist_goal = hang + (on_box - hang) * hold[:, None]
        pole = -fwd + sign * 0.6 * left - 0.5 * up
        elbow, wrist = _two_link(shoulder, wrist_goal, b["upper_arm"], b["forearm"], pole)
        j[f"{side}_Elbow"], j[f"{side}_Wrist"] = elbow, wrist
        hand_dir = (wrist - elbow) / np.linalg.norm(wrist - elbow, axis=1, keepdims=True)
        j[f"{side}_Middle1"] = wrist + b["hand"] * hand_dir
    names = tuple(n_ for n_ in INTERACT_JOINTS if n_ in j)
    positions = np.stack([j[n_] for n_ in names], 1)
    contacts = -np.ones((n, len(names)))
    held = hold > 0.99
    for side in ("L", "R"):
        for name in hand_joints(side):
            if name in names:
                contacts[held, names.index(name)] = 1.0
    box = ObjectSpec("box", "box", size=tuple(cfg.box_size), mass=cfg.box_mass)
    return HumanMotion(
        fps=cfg.fps,
        joint_names=names,
        positions=positions,
        object_pos=box_pos,
        object_quat=box_quat,
        object=box,
        contacts=contacts,
        source={"format": "synthetic", "config": repr(cfg)},
    )
