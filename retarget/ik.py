"""Per-frame whole-body IK on the G1 with pink (QP: daqp), warm-started frame to frame.

Each frame first solves the orientation targets (pelvis, torso, feet) and then all
targets together, like GMR's two-stage schedule: getting the body's orientation right
first keeps the position stage out of twisted local minima.

All frame targets of a frame form one pink task (:class:`StackedFrameTask`): the same
least-squares objective as one ``pink.tasks.FrameTask`` per frame, assembled in one pass
over Pinocchio's frame Jacobians, which is what makes per-frame QP IK fast in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pink
import pinocchio as pin
from pink.limits import ConfigurationLimit, VelocityLimit
from pink.tasks import PostureTask, Task

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
    position e = p - p*, orientation e = log(R R*^T), alignment e = a - a*."""

    def __init__(self, model: pin.Model):
        super().__init__(cost=None)
        self.model = model
        self.entries: list[tuple[int, FrameTarget, bool]] = []

    def set_entries(self, entries: list[tuple[int, FrameTarget, bool]]) -> None:
        """(frame id, target, orientation_only) triples."""
        self.entries = entries

    def _rows(self, configuration: pink.Configuration):
        data = configuration.data
        for fid, t, ori_only in self.entries:
            jac = pin.getFrameJacobian(self.model, data, fid, pin.LOCAL_WORLD_ALIGNED)
            placement = data.oMf[fid]
            if t.position_weight > 0 and not ori_only:
                if t.point is None:
                    yield t.position_weight, jac[:3], placement.translation - t.position
                else:
                    r = placement.rotation @ t.point
                    pos = placement.translation + r
                    yield t.position_weight, jac[:3] - _skew(r) @ jac[3:], pos - t.position
            if t.orientation_weight <= 0:
                continue
            if t.align is not None:
                axis, direction = t.align
                a = placement.rotation[:, axis]
                b = direction / np.linalg.norm(direction)
                yield t.orientation_weight, -_skew(a) @ jac[3:], a - b
            elif t.rotation is not None:
                err = pin.log3(placement.rotation @ t.rotation.T)
                yield t.orientation_weight, jac[3:], err

    def __repr__(self) -> str:
        return f"StackedFrameTask({len(self.entries)} frames)"

    def compute_qp_objective(self, configuration: pink.Configuration):
        rows = list(self._rows(configuration))
        if not rows:
            nv = self.model.nv
            return np.zeros((nv, nv)), np.zeros(nv)
        weights, jacs, errs = zip(*rows, strict=True)
        jac = np.concatenate(jacs)
        err = np.concatenate(errs)
        wj = jac * np.repeat(weights, 3)[:, None]  # every row block is 3 long
        return jac.T @ wj, wj.T @ err

    def compute_error(self, configuration: pink.Configuration) -> np.ndarray:
        rows = list(self._rows(configuration))
        return np.concatenate([np.sqrt(w) * e for w, _, e in rows]) if rows else np.zeros(0)

    def compute_jacobian(self, configuration: pink.Configuration) -> np.ndarray:
        rows = list(self._rows(configuration))
        if not rows:
            return np.zeros((0, self.model.nv))
        return np.concatenate([np.sqrt(w) * j for w, j, _ in rows])


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


class G1Ik:
    def __init__(
        self,
        damping: float,
        posture_weight: float,
        velocity_weight: float = 0.0,
        solver: str = "daqp",
    ):
        self.model = pin.buildModelFromXML(g1_urdf(), pin.JointModelFreeFlyer())
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

    def solve(
        self,
        targets: dict[str, FrameTarget],
        iterations: int,
        orientation_iterations: int,
        dt: float,
    ) -> np.ndarray:
        """Run the QP ``iterations`` times from the current configuration; returns q.

        Each iteration integrates its velocity over ``dt``: the velocity limits bound
        the motion of one iteration to ``v_max * dt``. Stops early once a full iteration
        moves no joint more than ``CONVERGED`` rad.
        """
        ids = [(self.frame_id(name), t) for name, t in targets.items()]
        for it in range(iterations):
            ori_only = it < orientation_iterations
            self.stack.set_entries([(fid, t, ori_only) for fid, t in ids])
            v = pink.solve_ik(
                self.configuration,
                [self.stack, self.posture, self.smoothness],
                dt,
                solver=self.solver,
                damping=self.damping,
                limits=self.limits,
                safety_break=False,
            )
            self.configuration.integrate_inplace(v, dt)
        return self.configuration.q.copy()
