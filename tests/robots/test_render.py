import imageio.v2 as imageio

from robots.demo import demo_clip
from robots.render import render_contact_sheet, render_video


def test_video_and_contact_sheet(tmp_path):
    clip = demo_clip(duration=1.0).slice(0, 10)
    video = render_video(clip, tmp_path / "clip.mp4", width=160, height=120, fps=30)
    frames = imageio.mimread(video)
    assert len(frames) == 10 and frames[0].shape == (120, 160, 3)
    sheet = render_contact_sheet(
        clip, tmp_path / "sheet.png", frames=4, columns=2, width=96, height=72
    )
    img = imageio.imread(sheet)
    assert img.shape == (144, 192, 3)
    assert img.std() > 10  # a picture, not a blank canvas
    # The robot (bright) is in the middle of the first tile, not only floor and sky.
    tile = img[:72, :96].astype(float)
    assert tile[20:60, 30:66].max() > 150
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "sheet.png"]
