"""Chromium's fake camera filming QR streams: y4m videos made by ffmpeg from `mule qr encode
--png` frames, degraded as a phone or webcam films a screen (blur, noise, a tilt, lower
contrast), and a headless Chromium whose camera plays one."""

import shutil
import subprocess

import chromium
from conftest import missing

# What a camera does to a screen: the picture slightly tilted (perspective), soft (blur),
# grainy (noise), greyer (contrast). Every frame is still readable, as from a steady hand.
DEGRADED = ("perspective=x0=24:y0=10:x1=W-8:y1=0:x2=0:y2=H:x3=W-30:y3=H-14:sense=destination,"
            "gblur=sigma=0.8,eq=contrast=0.8:brightness=0.04,noise=alls=10:allf=t")


def encoded_frames(store, folder, name):
    """Exports everything `store` holds and writes its QR frames; (bundle, frames folder)."""
    bundle, frames = folder / f"{name}.mule", folder / f"{name}-frames"
    store.run("export", "--all", "-o", bundle)
    store.run("qr", "encode", bundle, "--png", frames)
    return bundle, frames


def interleaved(folders, into):
    """One folder of frames taking each folder's frames in turn (two streams on one screen)."""
    into.mkdir()
    lists = [sorted(folder.glob("frame-*.png")) for folder in folders]
    number = 0
    for row in range(max(map(len, lists))):
        for frames in lists:
            if row < len(frames):
                number += 1
                shutil.copy(frames[row], into / f"frame-{number:05d}.png")
    return into


def video_of(frames, video, size=(1280, 720), codes_per_second=3, fps=12):
    """A y4m of the frames in `frames` (frame-%05d.png), `codes_per_second` of them shown in a
    video of `fps` pictures a second, `size` pixels, degraded as a camera films a screen."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing("ffmpeg is needed (Debian: apt install ffmpeg)")
    width, height = size
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-framerate", str(codes_per_second),
         "-i", frames / "frame-%05d.png", "-r", str(fps),
         "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:white,{DEGRADED}",
         "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", video],
        check=True, timeout=120)
    return video


def camera_browser(video, network_log=False, extra=()):
    """Headless Chromium whose camera plays `video`, allowed without asking; with
    `network_log`, its requests can be read (conftest.requested_urls)."""
    found = chromium.paths()
    if found is None:
        missing("Chromium and chromedriver are needed (Debian: chromium chromium-driver)")
    return chromium.start(*found, network_log=network_log, extra=[
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}", *extra])
