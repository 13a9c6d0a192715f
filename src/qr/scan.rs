//! Reading QR codes from images and videos (written by a helper; see the issue).
