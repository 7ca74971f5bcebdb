"""The Unitree G1 29-DoF (rev 1.0) parameter table: the single source of robot facts.

Every generated artefact (MJCF, URDF, ONNX metadata, deploy limits) is derived from here.
Kinematics, inertias and collision capsules follow Unitree's ``g1_29dof_rev_1_0``
description as tuned by mjlab (Apache-2.0); motor data from Unitree's URDF limits and
mjlab's reflected rotor inertias. Quaternions are (w, x, y, z).
"""

from __future__ import annotations

from robots.g1.spec import Capsule, Inertial, Joint, Link, Motor, Site, Sphere, Visual, X, Y, Z

# Reflected inertia of each motor type behind its gearbox; ankles and waist roll/pitch
# are two 5020 motors driving a 4-bar linkage (double armature and torque).
MOTORS: dict[str, Motor] = {
    "7520-14": Motor(armature=0.010178, effort=88.0, velocity=32.0),
    "7520-22": Motor(armature=0.025102, effort=139.0, velocity=20.0),
    "5020": Motor(armature=0.00361, effort=25.0, velocity=37.0),
    "2x5020": Motor(armature=0.007219, effort=50.0, velocity=37.0),
    "4010": Motor(armature=0.00425, effort=5.0, velocity=22.0),
}

LINKS: tuple[Link, ...] = (
    Link(
        "pelvis",
        parent=None,
        pos=(0.0, 0.0, 0.793),
        inertial=Inertial(
            3.813,
            pos=(0.0, 0.0, -0.07605),
            quat=(1.0, 0.0, -0.000399148, 0.0),
            diag=(0.010549, 0.0093089, 0.0079184),
        ),
        geoms=(Sphere("pelvis_collision", 0.07, pos=(0.0, 0.0, -0.08)),),
        sites=(Site("imu_in_pelvis", (0.04525, 0.0, -0.08339)),),
        visuals=(
            Visual("pelvis.STL", dark=True),
            Visual("pelvis_contour_link.STL"),
        ),
    ),
    Link(
        "left_hip_pitch_link",
        parent="pelvis",
        pos=(0.0, 0.064452, -0.1027),
        joint=Joint("left_hip_pitch_joint", Y, (-2.5307, 2.8798), "7520-14"),
        inertial=Inertial(
            1.35,
            pos=(0.002741, 0.047791, -0.02606),
            quat=(0.954862, 0.293964, 0.0302556, 0.030122),
            diag=(0.00181517, 0.00153422, 0.00116212),
        ),
        visuals=(Visual("left_hip_pitch_link.STL", dark=True),),
    ),
    Link(
        "left_hip_roll_link",
        parent="left_hip_pitch_link",
        pos=(0.0, 0.052, -0.030465),
        quat=(0.996179, 0.0, -0.0873386, 0.0),
        joint=Joint("left_hip_roll_joint", X, (-0.5236, 2.9671), "7520-22"),
        inertial=Inertial(
            1.52,
            pos=(0.029812, -0.001045, -0.087934),
            quat=(0.977808, -1.97119e-05, 0.205576, -0.0403793),
            diag=(0.00254986, 0.00241169, 0.00148755),
        ),
        geoms=(Capsule("left_hip_collision", 0.06, fromto=(0.02, 0.0, 0.0, 0.02, 0.0, -0.08)),),
        visuals=(Visual("left_hip_roll_link.STL"),),
    ),
    Link(
        "left_hip_yaw_link",
        parent="left_hip_roll_link",
        pos=(0.025001, 0.0, -0.12412),
        joint=Joint("left_hip_yaw_joint", Z, (-2.7576, 2.7576), "7520-14"),
        inertial=Inertial(
            1.702,
            pos=(-0.057709, -0.010981, -0.15078),
            quat=(0.600598, 0.15832, 0.223482, 0.751181),
            diag=(0.00776166, 0.00717575, 0.00160139),
        ),
        geoms=(
            Capsule("left_thigh_collision", 0.055, fromto=(-0.0, 0.0, -0.03, -0.06, 0.0, -0.17)),
        ),
        visuals=(Visual("left_hip_yaw_link.STL"),),
    ),
    Link(
        "left_knee_link",
        parent="left_hip_yaw_link",
        pos=(-0.078273, 0.0021489, -0.17734),
        quat=(0.996179, 0.0, 0.0873386, 0.0),
        joint=Joint("left_knee_joint", Y, (-0.087267, 2.8798), "7520-22"),
        inertial=Inertial(
            1.932,
            pos=(0.005457, 0.003964, -0.12074),
            quat=(0.923418, -0.0327699, 0.0158246, 0.382067),
            diag=(0.0113804, 0.0112778, 0.00146458),
        ),
        geoms=(
            Capsule("left_shin_collision", 0.045, fromto=(0.01, 0.0, 0.0, 0.01, 0.0, -0.15)),
            Capsule(
                "left_linkage_brace_collision", 0.03, fromto=(0.01, 0.0, -0.2, 0.01, 0.0, -0.28)
            ),
        ),
        visuals=(Visual("left_knee_link.STL"),),
    ),
    Link(
        "left_ankle_pitch_link",
        parent="left_knee_link",
        pos=(0.0, -9.4445e-05, -0.30001),
        joint=Joint("left_ankle_pitch_joint", Y, (-0.87267, 0.5236), "2x5020"),
        inertial=Inertial(
            0.074,
            pos=(-0.007269, 0.0, 0.011137),
            quat=(0.603053, 0.369225, 0.369225, 0.603053),
            diag=(1.89e-05, 1.40805e-05, 6.9195e-06),
        ),
        visuals=(Visual("left_ankle_pitch_link.STL"),),
    ),
    Link(
        "left_ankle_roll_link",
        parent="left_ankle_pitch_link",
        pos=(0.0, 0.0, -0.017558),
        joint=Joint("left_ankle_roll_joint", X, (-0.2618, 0.2618), "2x5020"),
        inertial=Inertial(
            0.608,
            pos=(0.026505, 0.0, -0.016425),
            quat=(-0.000481092, 0.728482, -0.000618967, 0.685065),
            diag=(0.00167218, 0.0016161, 0.000217621),
        ),
        geoms=(
            Capsule(
                "left_foot1_collision", 0.01, fromto=(0.1, -0.026, -0.025, 0.05, -0.027, -0.025)
            ),
            Capsule(
                "left_foot2_collision", 0.01, fromto=(-0.044, -0.018, -0.025, 0.123, -0.018, -0.025)
            ),
            Capsule(
                "left_foot3_collision", 0.01, fromto=(-0.052, -0.01, -0.025, 0.13, -0.01, -0.025)
            ),
            Capsule("left_foot4_collision", 0.01, fromto=(-0.054, 0.0, -0.025, 0.132, 0.0, -0.025)),
            Capsule(
                "left_foot5_collision", 0.01, fromto=(-0.052, 0.01, -0.025, 0.13, 0.01, -0.025)
            ),
            Capsule(
                "left_foot6_collision", 0.01, fromto=(-0.044, 0.018, -0.025, 0.123, 0.018, -0.025)
            ),
            Capsule("left_foot7_collision", 0.01, fromto=(0.1, 0.026, -0.025, 0.05, 0.026, -0.025)),
        ),
        sites=(Site("left_foot", (0.04, 0.0, -0.037)),),
        visuals=(Visual("left_ankle_roll_link.STL", dark=True),),
    ),
    Link(
        "right_hip_pitch_link",
        parent="pelvis",
        pos=(0.0, -0.064452, -0.1027),
        joint=Joint("right_hip_pitch_joint", Y, (-2.5307, 2.8798), "7520-14"),
        inertial=Inertial(
            1.35,
            pos=(0.002741, -0.047791, -0.02606),
            quat=(0.954862, -0.293964, 0.0302556, -0.030122),
            diag=(0.00181517, 0.00153422, 0.00116212),
        ),
        visuals=(Visual("right_hip_pitch_link.STL", dark=True),),
    ),
    Link(
        "right_hip_roll_link",
        parent="right_hip_pitch_link",
        pos=(0.0, -0.052, -0.030465),
        quat=(0.996179, 0.0, -0.0873386, 0.0),
        joint=Joint("right_hip_roll_joint", X, (-2.9671, 0.5236), "7520-22"),
        inertial=Inertial(
            1.52,
            pos=(0.029812, 0.001045, -0.087934),
            quat=(0.977808, 1.97119e-05, 0.205576, 0.0403793),
            diag=(0.00254986, 0.00241169, 0.00148755),
        ),
        geoms=(Capsule("right_hip_collision", 0.06, fromto=(0.02, 0.0, 0.0, 0.02, 0.0, -0.08)),),
        visuals=(Visual("right_hip_roll_link.STL"),),
    ),
    Link(
        "right_hip_yaw_link",
        parent="right_hip_roll_link",
        pos=(0.025001, 0.0, -0.12412),
        joint=Joint("right_hip_yaw_joint", Z, (-2.7576, 2.7576), "7520-14"),
        inertial=Inertial(
            1.702,
            pos=(-0.057709, 0.010981, -0.15078),
            quat=(0.751181, 0.223482, 0.15832, 0.600598),
            diag=(0.00776166, 0.00717575, 0.00160139),
        ),
        geoms=(
            Capsule("right_thigh_collision", 0.055, fromto=(-0.0, 0.0, -0.03, -0.06, 0.0, -0.17)),
        ),
        visuals=(Visual("right_hip_yaw_link.STL"),),
    ),
    Link(
        "right_knee_link",
        parent="right_hip_yaw_link",
        pos=(-0.078273, -0.0021489, -0.17734),
        quat=(0.996179, 0.0, 0.0873386, 0.0),
        joint=Joint("right_knee_joint", Y, (-0.087267, 2.8798), "7520-22"),
        inertial=Inertial(
            1.932,
            pos=(0.005457, -0.003964, -0.12074),
            quat=(0.923439, 0.0345276, 0.0116333, -0.382012),
            diag=(0.011374, 0.0112843, 0.00146452),
        ),
        geoms=(
            Capsule("right_shin_collision", 0.045, fromto=(0.01, 0.0, 0.0, 0.01, 0.0, -0.15)),
            Capsule(
                "right_linkage_brace_collision", 0.03, fromto=(0.01, 0.0, -0.2, 0.01, 0.0, -0.28)
            ),
        ),
        visuals=(Visual("right_knee_link.STL"),),
    ),
    Link(
        "right_ankle_pitch_link",
        parent="right_knee_link",
        pos=(0.0, 9.4445e-05, -0.30001),
        joint=Joint("right_ankle_pitch_joint", Y, (-0.87267, 0.5236), "2x5020"),
        inertial=Inertial(
            0.074,
            pos=(-0.007269, 0.0, 0.011137),
            quat=(0.603053, 0.369225, 0.369225, 0.603053),
            diag=(1.89e-05, 1.40805e-05, 6.9195e-06),
        ),
        visuals=(Visual("right_ankle_pitch_link.STL"),),
    ),
    Link(
        "right_ankle_roll_link",
        parent="right_ankle_pitch_link",
        pos=(0.0, 0.0, -0.017558),
        joint=Joint("right_ankle_roll_joint", X, (-0.2618, 0.2618), "2x5020"),
        inertial=Inertial(
            0.608,
            pos=(0.026505, 0.0, -0.016425),
            quat=(0.000481092, 0.728482, 0.000618967, 0.685065),
            diag=(0.00167218, 0.0016161, 0.000217621),
        ),
        geoms=(
            Capsule(
                "right_foot1_collision", 0.01, fromto=(0.1, -0.026, -0.025, 0.05, -0.026, -0.025)
            ),
            Capsule(
                "right_foot2_collision",
                0.01,
                fromto=(-0.044, -0.018, -0.025, 0.123, -0.018, -0.025),
            ),
            Capsule(
                "right_foot3_collision", 0.01, fromto=(-0.052, -0.01, -0.025, 0.13, -0.01, -0.025)
            ),
            Capsule(
                "right_foot4_collision", 0.01, fromto=(-0.054, 0.0, -0.025, 0.132, 0.0, -0.025)
            ),
            Capsule(
                "right_foot5_collision", 0.01, fromto=(-0.052, 0.01, -0.025, 0.13, 0.01, -0.025)
            ),
            Capsule(
                "right_foot6_collision", 0.01, fromto=(-0.044, 0.018, -0.025, 0.123, 0.018, -0.025)
            ),
            Capsule(
                "right_foot7_collision", 0.01, fromto=(0.1, 0.026, -0.025, 0.05, 0.026, -0.025)
            ),
        ),
        sites=(Site("right_foot", (0.04, 0.0, -0.037)),),
        visuals=(Visual("right_ankle_roll_link.STL", dark=True),),
    ),
    Link(
        "waist_yaw_link",
        parent="pelvis",
        joint=Joint("waist_yaw_joint", Z, (-2.618, 2.618), "7520-14"),
        inertial=Inertial(
            0.214,
            pos=(0.003494, 0.000233, 0.018034),
            quat=(0.289697, 0.591001, -0.337795, 0.672821),
            diag=(0.000163531, 0.000107714, 0.000102205),
        ),
        visuals=(Visual("waist_yaw_link_rev_1_0.STL"),),
    ),
    Link(
        "waist_roll_link",
        parent="waist_yaw_link",
        pos=(-0.0039635, 0.0, 0.044),
        joint=Joint("waist_roll_joint", X, (-0.52, 0.52), "2x5020"),
        inertial=Inertial(
            0.086,
            pos=(0.0, 2.3e-05, 0.0),
            quat=(0.5, 0.5, -0.5, 0.5),
            diag=(8.245e-06, 7.079e-06, 6.339e-06),
        ),
        visuals=(Visual("waist_roll_link_rev_1_0.STL"),),
    ),
    Link(
        "torso_link",
        parent="waist_roll_link",
        joint=Joint("waist_pitch_joint", Y, (-0.52, 0.52), "2x5020"),
        inertial=Inertial(
            7.818,
            pos=(0.00203158, 0.000339683, 0.184568),
            quat=(0.999803, -6.03319e-05, 0.0198256, 0.00131986),
            diag=(0.121847, 0.109825, 0.0273735),
        ),
        geoms=(
            Capsule("torso_collision", 0.09, fromto=(0.01, 0.0, 0.08, 0.01, 0.0, 0.2)),
            Sphere("head_collision", 0.06, pos=(0.0, 0.0, 0.43)),
        ),
        sites=(Site("imu_in_torso", (-0.03959, -0.00224, 0.14792)),),
        visuals=(
            Visual("torso_link_rev_1_0.STL"),
            Visual("logo_link.STL", pos=(0.0039635, 0.0, -0.044), dark=True),
            Visual("head_link.STL", pos=(0.0039635, 0.0, -0.044), dark=True),
        ),
    ),
    Link(
        "left_shoulder_pitch_link",
        parent="torso_link",
        pos=(0.0039563, 0.10022, 0.24778),
        quat=(0.990264, 0.139201, 1.38722e-05, -9.86868e-05),
        joint=Joint("left_shoulder_pitch_joint", Y, (-3.0892, 2.6704), "5020"),
        inertial=Inertial(
            0.718,
            pos=(0.0, 0.035892, -0.011628),
            quat=(0.654152, 0.0130458, -0.326267, 0.68225),
            diag=(0.000465864, 0.000432842, 0.000406394),
        ),
        visuals=(Visual("left_shoulder_pitch_link.STL"),),
    ),
    Link(
        "left_shoulder_roll_link",
        parent="left_shoulder_pitch_link",
        pos=(0.0, 0.038, -0.013831),
        quat=(0.990268, -0.139172, 0.0, 0.0),
        joint=Joint("left_shoulder_roll_joint", X, (-1.5882, 2.2515), "5020"),
        inertial=Inertial(
            0.643,
            pos=(-0.000227, 0.00727, -0.063243),
            quat=(0.701256, -0.0196223, -0.00710317, 0.712604),
            diag=(0.000691311, 0.000618011, 0.000388977),
        ),
        visuals=(Visual("left_shoulder_roll_link.STL"),),
    ),
    Link(
        "left_shoulder_yaw_link",
        parent="left_shoulder_roll_link",
        pos=(0.0, 0.00624, -0.1032),
        joint=Joint("left_shoulder_yaw_joint", Z, (-2.618, 2.618), "5020"),
        inertial=Inertial(
            0.734,
            pos=(0.010773, -0.002949, -0.072009),
            quat=(0.716879, -0.0964829, -0.0679942, 0.687134),
            diag=(0.00106187, 0.00103217, 0.000400661),
        ),
        geoms=(
            Capsule("left_shoulder_yaw_collision", 0.035, fromto=(0.0, 0.0, -0.08, 0.0, 0.0, 0.05)),
        ),
        visuals=(Visual("left_shoulder_yaw_link.STL"),),
    ),
    Link(
        "left_elbow_link",
        parent="left_shoulder_yaw_link",
        pos=(0.015783, 0.0, -0.080518),
        joint=Joint("left_elbow_joint", Y, (-1.0472, 2.0944), "5020"),
        inertial=Inertial(
            0.6,
            pos=(0.064956, 0.004454, -0.010062),
            quat=(0.541765, 0.636132, 0.388821, 0.388129),
            diag=(0.000443035, 0.000421612, 0.000259353),
        ),
        geoms=(
            Capsule(
                "left_elbow_yaw_collision", 0.035, fromto=(-0.01, 0.0, -0.01, 0.08, 0.0, -0.01)
            ),
        ),
        visuals=(Visual("left_elbow_link.STL"),),
    ),
    Link(
        "left_wrist_roll_link",
        parent="left_elbow_link",
        pos=(0.1, 0.00188791, -0.01),
        joint=Joint("left_wrist_roll_joint", X, (-1.97222, 1.97222), "5020"),
        inertial=Inertial(
            0.085445,
            pos=(0.0171394, 0.000537591, 4.8864e-07),
            quat=(0.575338, 0.411667, -0.574906, 0.411094),
            diag=(5.48211e-05, 4.96646e-05, 3.57798e-05),
        ),
        visuals=(Visual("left_wrist_roll_link.STL"),),
    ),
    Link(
        "left_wrist_pitch_link",
        parent="left_wrist_roll_link",
        pos=(0.038, 0.0, 0.0),
        joint=Joint("left_wrist_pitch_joint", Y, (-1.61443, 1.61443), "4010"),
        inertial=Inertial(
            0.48405,
            pos=(0.0229999, -0.00111685, -0.00111658),
            quat=(0.249998, 0.661363, 0.293036, 0.643608),
            diag=(0.000430353, 0.000429873, 0.000164648),
        ),
        geoms=(Capsule("left_wrist_collision", 0.035, fromto=(-0.01, 0.0, 0.0, 0.06, 0.0, 0.0)),),
        visuals=(Visual("left_wrist_pitch_link.STL"),),
    ),
    Link(
        "left_wrist_yaw_link",
        parent="left_wrist_pitch_link",
        pos=(0.046, 0.0, 0.0),
        joint=Joint("left_wrist_yaw_joint", Z, (-1.61443, 1.61443), "4010"),
        inertial=Inertial(
            0.254576,
            pos=(0.0708244, 0.000191745, 0.00161742),
            quat=(0.510571, 0.526295, 0.468078, 0.493188),
            diag=(0.000646113, 0.000559993, 0.000147566),
        ),
        geoms=(Capsule("left_hand_collision", 0.035, fromto=(0.07, 0.0, 0.0, 0.15, -0.02, 0.0)),),
        sites=(Site("left_palm", (0.08, 0.0, 0.0)),),
        visuals=(
            Visual("left_wrist_yaw_link.STL"),
            Visual("left_rubber_hand.STL", pos=(0.0415, 0.003, 0.0), dark=True),
        ),
    ),
    Link(
        "right_shoulder_pitch_link",
        parent="torso_link",
        pos=(0.0039563, -0.10021, 0.24778),
        quat=(0.990264, -0.139201, 1.38722e-05, 9.86868e-05),
        joint=Joint("right_shoulder_pitch_joint", Y, (-3.0892, 2.6704), "5020"),
        inertial=Inertial(
            0.718,
            pos=(0.0, -0.035892, -0.011628),
            quat=(0.68225, -0.326267, 0.0130458, 0.654152),
            diag=(0.000465864, 0.000432842, 0.000406394),
        ),
        visuals=(Visual("right_shoulder_pitch_link.STL"),),
    ),
    Link(
        "right_shoulder_roll_link",
        parent="right_shoulder_pitch_link",
        pos=(0.0, -0.038, -0.013831),
        quat=(0.990268, 0.139172, 0.0, 0.0),
        joint=Joint("right_shoulder_roll_joint", X, (-2.2515, 1.5882), "5020"),
        inertial=Inertial(
            0.643,
            pos=(-0.000227, -0.00727, -0.063243),
            quat=(0.712604, -0.00710317, -0.0196223, 0.701256),
            diag=(0.000691311, 0.000618011, 0.000388977),
        ),
        visuals=(Visual("right_shoulder_roll_link.STL"),),
    ),
    Link(
        "right_shoulder_yaw_link",
        parent="right_shoulder_roll_link",
        pos=(0.0, -0.00624, -0.1032),
        joint=Joint("right_shoulder_yaw_joint", Z, (-2.618, 2.618), "5020"),
        inertial=Inertial(
            0.734,
            pos=(0.010773, 0.002949, -0.072009),
            quat=(0.687134, -0.0679942, -0.0964829, 0.716879),
            diag=(0.00106187, 0.00103217, 0.000400661),
        ),
        geoms=(
            Capsule(
                "right_shoulder_yaw_collision", 0.035, fromto=(0.0, 0.0, -0.08, 0.0, 0.0, 0.05)
            ),
        ),
        visuals=(Visual("right_shoulder_yaw_link.STL"),),
    ),
    Link(
        "right_elbow_link",
        parent="right_shoulder_yaw_link",
        pos=(0.015783, 0.0, -0.080518),
        joint=Joint("right_elbow_joint", Y, (-1.0472, 2.0944), "5020"),
        inertial=Inertial(
            0.6,
            pos=(0.064956, -0.004454, -0.010062),
            quat=(0.388129, 0.388821, 0.636132, 0.541765),
            diag=(0.000443035, 0.000421612, 0.000259353),
        ),
        geoms=(
            Capsule(
                "right_elbow_yaw_collision", 0.035, fromto=(-0.01, 0.0, -0.01, 0.08, 0.0, -0.01)
            ),
        ),
        visuals=(Visual("right_elbow_link.STL"),),
    ),
    Link(
        "right_wrist_roll_link",
        parent="right_elbow_link",
        pos=(0.1, -0.00188791, -0.01),
        joint=Joint("right_wrist_roll_joint", X, (-1.97222, 1.97222), "5020"),
        inertial=Inertial(
            0.085445,
            pos=(0.0171394, -0.000537591, 4.8864e-07),
            quat=(0.411667, 0.575338, -0.411094, 0.574906),
            diag=(5.48211e-05, 4.96646e-05, 3.57798e-05),
        ),
        visuals=(Visual("right_wrist_roll_link.STL"),),
    ),
    Link(
        "right_wrist_pitch_link",
        parent="right_wrist_roll_link",
        pos=(0.038, 0.0, 0.0),
        joint=Joint("right_wrist_pitch_joint", Y, (-1.61443, 1.61443), "4010"),
        inertial=Inertial(
            0.48405,
            pos=(0.0229999, 0.00111685, -0.00111658),
            quat=(0.643608, 0.293036, 0.661363, 0.249998),
            diag=(0.000430353, 0.000429873, 0.000164648),
        ),
        geoms=(Capsule("right_wrist_collision", 0.035, fromto=(-0.01, 0.0, 0.0, 0.06, 0.0, 0.0)),),
        visuals=(Visual("right_wrist_pitch_link.STL"),),
    ),
    Link(
        "right_wrist_yaw_link",
        parent="right_wrist_pitch_link",
        pos=(0.046, 0.0, 0.0),
        joint=Joint("right_wrist_yaw_joint", Z, (-1.61443, 1.61443), "4010"),
        inertial=Inertial(
            0.254576,
            pos=(0.0708244, -0.000191745, 0.00161742),
            quat=(0.493188, 0.468078, 0.526295, 0.510571),
            diag=(0.000646113, 0.000559993, 0.000147566),
        ),
        geoms=(Capsule("right_hand_collision", 0.035, fromto=(0.07, 0.0, 0.0, 0.15, 0.02, 0.0)),),
        sites=(Site("right_palm", (0.08, 0.0, 0.0)),),
        visuals=(
            Visual("right_wrist_yaw_link.STL"),
            Visual("right_rubber_hand.STL", pos=(0.0415, -0.003, 0.0), dark=True),
        ),
    ),
)

# Unitree SDK motor order (LowCmd/LowState index 0..28). The table above is written so
# that its depth-first joint order equals this list; robots.g1 checks it at import.
MOTOR_ORDER: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "left_hip_roll_joint",
    "left_hip_yaw_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_ankle_roll_joint",
    "right_hip_pitch_joint",
    "right_hip_roll_joint",
    "right_hip_yaw_joint",
    "right_knee_joint",
    "right_ankle_pitch_joint",
    "right_ankle_roll_joint",
    "waist_yaw_joint",
    "waist_roll_joint",
    "waist_pitch_joint",
    "left_shoulder_pitch_joint",
    "left_shoulder_roll_joint",
    "left_shoulder_yaw_joint",
    "left_elbow_joint",
    "left_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)

# Knees-bent standing pose of the G1 tracking literature (BeyondMimic, mjlab); joints
# not listed are 0. Lower centre of mass than straight legs, arms ready to reach forward.
DEFAULT_JOINT_POS: dict[str, float] = {
    "left_hip_pitch_joint": -0.312,
    "right_hip_pitch_joint": -0.312,
    "left_knee_joint": 0.669,
    "right_knee_joint": 0.669,
    "left_ankle_pitch_joint": -0.363,
    "right_ankle_pitch_joint": -0.363,
    "left_shoulder_pitch_joint": 0.2,
    "right_shoulder_pitch_joint": 0.2,
    "left_shoulder_roll_joint": 0.2,
    "right_shoulder_roll_joint": -0.2,
    "left_elbow_joint": 0.6,
    "right_elbow_joint": 0.6,
}

# Body pairs whose capsules overlap by construction.
CONTACT_EXCLUDES: tuple[tuple[str, str], ...] = (
    ("left_elbow_link", "left_wrist_pitch_link"),
    ("right_elbow_link", "right_wrist_pitch_link"),
    ("pelvis", "right_hip_roll_link"),
    ("pelvis", "left_hip_roll_link"),
)
