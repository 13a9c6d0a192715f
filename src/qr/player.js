// The QR frame player: one player for both hosts of it. `mule qr encode --html` writes it inline
// into its self-contained page (frames as data: URLs); `mule ui` serves it as /qr-player.js
// (frames as URLs of its own API), so the app plays bundles exactly as the page does.
"use strict";

/**
 * Plays `frames` (image URLs) into `parts.img` at `fps` frames per second, looping.
 * `parts`: img, pause (button), speed (range input), info (text), fullscreen (button, optional),
 * screen (the element full screen shows). `words`: pause, play, info(number, count, fps).
 * Keys: space pauses, arrows step, + and - change the speed, f goes full screen (ignored while
 * the person types in a form field). Returns a function that stops the player; it also stops
 * itself once its image has left the document (the app moved to another page).
 */
function playQrFrames(parts, frames, fps, words) {
  let index = 0, playing = true, timer = null;
  // The next frame loads while this one shows, and the loop waits for it: no frame is skipped
  // or shown half loaded, and the loop slows to what the frames' source delivers.
  const ahead = new Image();
  const show = () => {
    parts.img.src = frames[index];
    ahead.src = frames[(index + 1) % frames.length];
    parts.info.textContent = words.info(index + 1, frames.length, fps);
  };
  const step = (by) => { index = (index + by + frames.length) % frames.length; show(); };
  const restart = () => {
    clearInterval(timer);
    parts.speed.value = fps;
    if (playing) timer = setInterval(() => {
      if (!parts.img.isConnected) stop();
      else if (ahead.complete) step(1);
    }, 1000 / fps);
    parts.pause.textContent = playing ? words.pause : words.play;
    show();
  };
  const setFps = (value) => { fps = Math.max(1, Math.min(30, value)); restart(); };
  const toggle = () => { playing = !playing; restart(); };
  const fullScreen = () => parts.screen.requestFullscreen?.();
  const keys = (e) => {
    if (!parts.img.isConnected) { stop(); return; }
    if (e.target.closest?.("input, select, textarea")) return;
    if (e.key === " ") { toggle(); e.preventDefault(); }
    else if (e.key === "ArrowRight") step(1);
    else if (e.key === "ArrowLeft") step(-1);
    else if (e.key === "+" || e.key === "=") setFps(fps + 1);
    else if (e.key === "-") setFps(fps - 1);
    else if (e.key === "f") fullScreen();
  };
  const stop = () => { clearInterval(timer); document.removeEventListener("keydown", keys); };
  parts.speed.min = "1";
  parts.speed.max = "30";
  parts.speed.step = "1";
  parts.speed.addEventListener("input", () => setFps(Number(parts.speed.value)));
  parts.pause.addEventListener("click", toggle);
  parts.fullscreen?.addEventListener("click", fullScreen);
  document.addEventListener("keydown", keys);
  restart();
  return stop;
}
