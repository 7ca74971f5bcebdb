"""Retarget human+object motion files to G1 motion clips: ``python -m retarget --help``.

Writes, per input, ``<name>.npz`` (the clip, see README "Motion clips"), ``<name>.json``
(quality metrics) and, with ``--render``, ``<name>.mp4``; ``summary.json`` holds the
quality table over all clips, the clips that miss a quality target, and the failures.
Clips already done in ``--out`` are skipped, so a stopped run resumes. A failing input
is reported and skipped; the exit status is 1 if any failed.
"""

import tyro

from retarget.dataset import Args, run


def main() -> None:
    run(tyro.cli(Args, prog="python -m retarget", description=__doc__))


if __name__ == "__main__":
    main()
