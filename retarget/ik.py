"""Per-frame whole-body IK on the G1 with pink (QP: daqp), warm-started frame to frame.

Each frame first solves the orientation targets (pelvis, torso, feet) and then all
targets together, like GMR's two-stage schedule: getting the body's orientation right
first keeps the position stage out of twisted local minima.

All frame targets of a frame form one pink task (:class:`StackedFrameTask`): the same
least-squares objective as one ``pink.tasks.FrameTask`` per frame, its rows computed in
one compiled pass over Pinocchio's joint Jacobians, which is what makes per-frame QP IK
fast in Python.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import daqp
import numpy as np
import pink
import pinocchio as pin
from pink.limits import ConfigurationLimit, VelocityLimit
from pink.tasks import PostureTask, Task

from retarget import frame_rows
from robots import g1, quat
from robots.g1.urdf import g1_urdf


@dataclass
class FrameTarget:
    position: np.ndarray  # (3,) world
    rotation: np.ndarray | None  # (3, 3) world, or None
    position_weight: float
    orientation_weight: float = 0.0
    # Instead of a full rotation: point body axis ``align[0]`` along world direction
    # ``align[1]``, leaving the rotation about that axis free.
    align: tuple[int, np.ndarray] | None = None
    # Track this point of the frame (frame coordinates) instead of its origin.
    point: np.ndarray | None = None


def aligned_rotation(current: np.ndarray, axis: int, direction: np.ndarray) -> np.ndarray:
    """The rotation nearest to ``current`` whose ``axis`` column points along ``direction``
    (lets a per-frame FrameTask express an axis-alignment target)."""
    a = current[:, axis]
    b = direction / np.linalg.norm(direction)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1 + 1e-9:  # opposite: half a turn about a perpendicular axis
        perp = current[:, (axis + 1) % 3]
        return (2 * np.outer(perp, perp) - np.eye(3)) @ current
    vx = _skew(v)
    return (np.eye(3) + vx + vx @ vx / (1 + c)) @ current


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


class StackedFrameTask(Task):
    """Weighted position / orientation / axis-alignment errors of many frames, all in
    the world frame: minimizes sum_k w_k |J_k dq + e_k|^2 with
    position e = p - p*, orientation e = log(R R*^T), alignment e = a - a*.

    The rows come from the world-frame joint Jacobians the configuration already holds
    (``data.J``), masked to each frame's supporting joints, in one compiled loop
    (:mod:`retarget.frame_rows`). With ``orientation_only`` the position rows are left
    out (the first IK stage)."""

    def __init__(self, model: pin.Model):
        super().__init__(cost=None)
        self.model = model
        self.orientation_only = False
        # Velocity columns that move each joint (its supporting joints' columns).
        self._support = np.zeros((model.njoints, model.nv))
        for j in range(1, model.njoints):
            for s in model.supports[j]:
                if s > 0:
                    jm = model.joints[s]
                    self._support[j, jm.idx_v : jm.idx_v + jm.nv] = 1.0
        self._parent = np.array([f.parentJoint for f in model.frames])
        self._layouts: dict[tuple, tuple] = {}
        self.set_targets([])

    def set_targets(self, targets: list[tuple[int, FrameTarget]]) -> None:
        """(frame id, target) pairs. Rows are ordered orientation, alignment, position, so
        that the orientation-only stage is a prefix of the full one."""
        self.targets = targets
        rot, align, pos = [], [], []
        for f, t in targets:
            if t.orientation_weight > 0:
                if t.align is not None:
                    align.append((f, t))
                elif t.rotation is not None:
                    rot.append((f, t))
            if t.position_weight > 0:
                pos.append((f, t))
        ordered = rot + align + pos
        # Which frames fill which rows repeats from frame to frame: index it once.
        key = (len(rot), len(align), *(f for f, _ in ordered))
        if key not in self._layouts:
            frames = sorted({f for f, _ in ordered})
            slot = {f: i for i, f in enumerate(frames)}
            kind = [frame_rows.ROTATION] * len(rot) + [frame_rows.ALIGN] * len(align)
            self._layouts[key] = (
                frames,
                np.array([slot[f] for f, _ in ordered], np.int64),
                np.array(kind + [frame_rows.POSITION] * len(pos), np.int64),
                self._support[self._parent[[f for f, _ in ordered]]].reshape(-1, self.model.nv),
            )
        self._frames, self._slot, self._kind, self._mask = self._layouts[key]
        self._orientation_count = len(rot) + len(align)
        n = len(ordered)
        self._axis = np.zeros(n, np.int64)
        self._target = np.zeros((n, 3))
        self._rotation_t = np.zeros((n, 3, 3))
        self._point = np.zeros((n, 3))
        for k, (_, t) in enumerate(ordered):
            if k < len(rot):
                self._rotation_t[k] = t.rotation.T
            elif k < self._orientation_count:
                axis, direction = t.align
                self._axis[k] = axis
                self._target[k] = direction / np.sqrt(direction @ direction)
            else:
                self._target[k] = t.position
                if t.point is not None:
                    self._point[k] = t.point
        weights = [t.orientation_weight for _, t in rot + align]
        weights += [t.position_weight for _, t in pos]
        self._weights = np.repeat(np.array(weights, float), 3)

    def _rows(self, configuration: pink.Configuration):
        """(weights, jacobian, error) of all rows, 3 per target."""
        count = self._orientation_count if self.orientation_only else len(self._kind)
        jac, err = np.empty((3 * count, self.model.nv)), np.empty(3 * count)
        if count:
            placements = configuration.data.oMf
            world = np.array([placements[f].homogeneous for f in self._frames])
            frame_rows.fill_rows(configuration.data.J, world, self._slot, self._kind,
                                 self._axis, self._target, self._rotation_t, self._point,
                                 self._mask, count, jac, err)  # fmt: skip
        return self._weights[: 3 * count], jac, err

    def __repr__(self) -> str:
        return f"StackedFrameTask({len(self.targets)} frames)"

    def compute_qp_objective(self, configuration: pink.Configuration):
        weights, jac, err = self._rows(configuration)
        wj = jac * weights[:, None]
        return jac.T @ wj, wj.T @ err

    def compute_error(self, configuration: pink.Configuration) -> np.ndarray:
        weights, _, err = self._rows(configuration)
        return np.sqrt(weights) * err

    def compute_jacobian(self, configuration: pink.Configuration) -> np.ndarray:
        weights, jac, _ = self._rows(configuration)
        return np.sqrt(weights)[:, None] * jac


class SmoothnessTask(Task):
    """Joint speed from the previous frame as a fraction of each motor's velocity limit:
    minimizes ``weight * sum_j ((q_j + dq_j - q_prev_j) * fps / v_max_j)^2``. A cost in
    the solve rather than a clamp afterwards: a fast target is followed smoothly and
    more slowly, and slow-limited joints (the wrists) are smoothed the most."""

    def __init__(self, model: pin.Model, joint_q: np.ndarray, weight: float):
        super().__init__(cost=None)
        self.nv, self.weight = model.nv, weight
        self.joint_q = joint_q
        self.joint_v = np.array([model.joints[model.getJointId(n)].idx_v for n in g1.JOINT_NAMES])
        self.previous: np.ndarray | None = None
        self.scale = np.zeros(len(joint_q))

    def set_previous(self, q: np.ndarray | None, fps: float = 0.0) -> None:
        """The previous frame's configuration (None: no smoothing, as for a first frame)."""
        self.previous = None if q is None else q[self.joint_q].copy()
        self.scale = self.weight * (fps / g1.VELOCITY_LIMIT) ** 2

    def _error(self, configuration: pink.Configuration) -> np.ndarray:
        return configuration.q[self.joint_q] - self.previous

    def compute_qp_objective(self, configuration: pink.Configuration):
        hessian, c = np.zeros((self.nv, self.nv)), np.zeros(self.nv)
        if self.previous is not None and self.weight > 0:
            hessian[self.joint_v, self.joint_v] = self.scale
            c[self.joint_v] = self.scale * self._error(configuration)
        return hessian, c

    def compute_error(self, configuration: pink.Configuration) -> np.ndarray:
        if self.previous is None:
            return np.zeros(0)
        return np.sqrt(self.scale) * self._error(configuration)

    def compute_jacobian(self, configuration: pink.Configuration) -> np.ndarray:
        if self.previous is None:
            return np.zeros((0, self.nv))
        jac = np.zeros((len(self.joint_v), self.nv))
        jac[np.arange(len(self.joint_v)), self.joint_v] = np.sqrt(self.scale)
        return jac

    def __repr__(self) -> str:
        return f"SmoothnessTask(weight={self.weight})"


CONVERGED = 2e-4  # rad (or m for the root): a step this small changes nothing visible


@functools.cache
def _g1_model() -> pin.Model:
    """The G1 with a free flyer, built once per process (the URDF takes a while)."""
    return pin.buildModelFromXML(g1_urdf(), pin.JointModelFreeFlyer())


class G1Ik:
    """Whole-body IK on the G1: the frame targets, a posture pull towards the default pose
    and the joint speed cost as one QP per iteration, with the joints' position and
    velocity limits as bounds (pink's formulation; the QP is assembled and handed to
    DAQP directly, which is what makes per-frame IK fast in Python)."""

    def __init__(
        self,
        damping: float,
        posture_weight: float,
        velocity_weight: float = 0.0,
        solver: str = "daqp",
    ):
        self.model = pin.Model(_g1_model())
        self.data = self.model.createData()
        self.solver = solver
        self.damping = damping
        self.stack = StackedFrameTask(self.model)
        self.posture = PostureTask(cost=posture_weight)
        # q index of each motor-order joint (Pinocchio orders joints by the URDF tree).
        self.joint_q = np.array(
            [self.model.joints[self.model.getJointId(n)].idx_q for n in g1.JOINT_NAMES]
        )
        q0 = pin.neutral(self.model)
        q0[self.joint_q] = g1.DEFAULT_POS
        q0[2] = g1.DEFAULT_ROOT_HEIGHT
        self.posture.set_target(q0)
        self.smoothness = SmoothnessTask(self.model, self.joint_q, velocity_weight)
        self.configuration = pink.Configuration(self.model, self.data, q0)
        self.limits = [ConfigurationLimit(self.model), VelocityLimit(self.model)]
        self._ids: dict[str, int] = {}
        # The QP's fixed parts: every actuated joint is a revolute joint (nq = nv = 1)
        # after the free flyer (q 0-6, v 0-5).
        nv = self.model.nv
        self._joints_v = np.arange(6, nv)
        self._joints_q = self._joints_v + 1
        self._q_lower = self.model.lowerPositionLimit[self._joints_q]
        self._q_upper = self.model.upperPositionLimit[self._joints_q]
        self._v_max = self.model.velocityLimit[self._joints_v]
        self._posture_weight = posture_weight**2
        self._hessian = damping * np.eye(nv)
        self._hessian[self._joints_v, self._joints_v] += self._posture_weight
        self._lower, self._upper = np.full(nv, -1e30), np.full(nv, 1e30)  # DAQP's infinity
        self._no_rows = np.zeros((0, nv))

    def frame_id(self, name: str) -> int:
        if name not in self._ids:
            fid = self.model.getFrameId(name)
            if fid >= self.model.nframes:
                raise KeyError(f"G1 model has no frame {name!r}")
            self._ids[name] = fid
        return self._ids[name]

    def reset(self, root_pos: np.ndarray, root_rot: np.ndarray) -> None:
        q = self.configuration.q.copy()
        q[:3] = root_pos
        q[3:7] = quat.wxyz_to_xyzw(quat.from_matrix(root_rot))
        q[self.joint_q] = g1.DEFAULT_POS
        self.configuration.update(q)

    def qp(self, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(H, c, lower, upper) of one iteration at the current configuration: minimize
        ``dq' H dq / 2 + c' dq`` with ``lower <= dq <= upper`` (the joints' position
        limits approached at gain 0.5, and ``v_max * dt``), as pink builds it."""
        q = self.configuration.q
        hessian, c = self.stack.compute_qp_objective(self.configuration)
        hessian += self._hessian
        posture = q[self._joints_q] - self.posture.target_q[self._joints_q]
        c[self._joints_v] += self._posture_weight * posture
        smooth = self.smoothness
        if smooth.previous is not None and smooth.weight > 0:  # its diagonal, in place
            hessian[smooth.joint_v, smooth.joint_v] += smooth.scale
            c[smooth.joint_v] += smooth.scale * (q[smooth.joint_q] - smooth.previous)
        joints = q[self._joints_q]
        self._lower[6:] = np.maximum(0.5 * (self._q_lower - joints), -self._v_max * dt)
        self._upper[6:] = np.minimum(0.5 * (self._q_upper - joints), self._v_max * dt)
        return hessian, c, self._lower, self._upper

    def solve(
        self,
        targets: dict[str, FrameTarget],
        iterations: int,
        orientation_iterations: int,
        dt: float,
    ) -> np.ndarray:
        """Run the QP ``iterations`` times from the current configuration; returns q.

        Each iteration moves by its solution: the velocity limits bound the motion of
        one iteration to ``v_max * dt``. Stops early once an iteration of the full stage
        moves no joint more than ``CONVERGED`` rad.
        """
        self.stack.set_targets([(self.frame_id(name), t) for name, t in targets.items()])
        for it in range(iterations):
            ori_only = it < orientation_iterations
            self.stack.orientation_only = ori_only
            hessian, c, lower, upper = self.qp(dt)
            dq, _, exitflag, _ = daqp.solve(hessian, c, self._no_rows, upper, lower)
            if exitflag < 1:
                raise RuntimeError(f"IK QP not solved (DAQP exit flag {exitflag})")
            self.configuration.update(pin.integrate(self.model, self.configuration.q, dq))
            if not ori_only and np.abs(dq).max() < CONVERGED:
                break
        return self.configuration.q.copy()
