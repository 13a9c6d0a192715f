//! QR transport measurements (run: `cargo bench --bench qr`). Prints Markdown tables for the
//! README: payload efficiency per profile; distinct frames needed versus K under random loss;
//! encode and decode speed; goodput per profile at its frame rate.

use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage, Luma};
use mule::Hash;
use mule::qr::fountain::{Accepted, Receiver, Sender};
use mule::qr::frame::{Frame, OVERHEAD};
use mule::qr::{PROFILES, Profile, render, scan};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A stand-in bundle: incompressible bytes, as a zstd bundle is.
fn payload(len: usize, seed: u64) -> (Vec<u8>, Hash) {
    let mut x = seed | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let id = Hash::of(&bytes);
    (bytes, id)
}

fn main() -> Result<()> {
    efficiency();
    overhead()?;
    speed()?;
    goodput()?;
    Ok(())
}

fn efficiency() {
    println!(
        "| profile | code | bytes per code | symbol T | data share of the code |\n|---|---|---|---|---|"
    );
    for profile in PROFILES {
        let capacity = profile.frame_len();
        let t = (capacity - OVERHEAD) / 8 * 8;
        println!(
            "| {} | v{}-{:?} x{} | {capacity} | {t} | {:.1}% |",
            profile.name,
            profile.version,
            profile.ecc,
            profile.codes_per_frame,
            100.0 * t as f64 / capacity as f64
        );
    }
    println!();
}

/// Distinct frames a receiver needs, beyond K, when each frame is lost with probability `loss`
/// and the receiver joins at a random point of the stream.
fn extra_frames(bytes: &[u8], id: &Hash, loss: f64, seed: u64) -> Result<(usize, usize)> {
    let sender = Sender::new(bytes, id.as_bytes(), 1273, 2)?;
    let k = sender.source_symbols();
    let mut x = seed | 1;
    let mut random = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut receiver = Receiver::default();
    let mut distinct = 0;
    let mut index = (random() * k as f64) as usize;
    while receiver.bundles().is_empty() {
        if random() >= loss
            && receiver.accept(Frame::parse(&sender.frame(index))?)? == Accepted::New
        {
            distinct += 1;
        }
        index += 1;
    }
    Ok((k, distinct - k))
}

fn overhead() -> Result<()> {
    println!(
        "| bundle | loss | trials | K | frames beyond K: 0 / 1 / 2 / more | worst |\n|---|---|---|---|---|---|"
    );
    for (len, trials) in [(100_000, 300), (1 << 20, 40)] {
        let (bytes, id) = payload(len, 7);
        for loss in [0.0, 0.2, 0.5] {
            let mut counts = [0usize; 4];
            let mut worst = 0;
            let mut k = 0;
            for trial in 0..trials {
                let (this_k, extra) = extra_frames(&bytes, &id, loss, 1000 + trial as u64)?;
                k = this_k;
                counts[extra.min(3)] += 1;
                worst = worst.max(extra);
            }
            println!(
                "| {} KiB | {:.0}% | {trials} | {k} | {} / {} / {} / {} | K+{worst} |",
                len / 1024,
                loss * 100.0,
                counts[0],
                counts[1],
                counts[2],
                counts[3]
            );
        }
    }
    println!();
    Ok(())
}

fn timed(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..31)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[15]
}

/// A 1920x1080 grey gradient "camera frame" with the code pasted at about 600 pixels.
fn camera_frame(code: &GrayImage) -> DynamicImage {
    let mut frame = GrayImage::from_fn(1920, 1080, |x, y| Luma([(120 + (x + y) / 40) as u8]));
    let small = image::imageops::resize(code, 600, 600, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut frame, &small, 660, 240);
    DynamicImage::ImageLuma8(frame)
}

fn speed() -> Result<()> {
    let (bytes, id) = payload(200_000, 3);
    let profile = Profile::named("default").ok_or("profile")?;
    let sender = Sender::new(&bytes, id.as_bytes(), profile.frame_len(), profile.id)?;
    let frame = sender.frame(0);
    let build = timed(|| {
        let code = render::symbol(&frame, profile.version, profile.ecc).expect("fits");
        std::hint::black_box(render::to_image(&code, profile.scale()));
    });
    let code = render::to_image(&render::symbol(&frame, profile.version, profile.ecc)?, 4);
    let cropped = DynamicImage::ImageLuma8(code.clone());
    if scan::read_codes(&cropped) != [frame.clone()] {
        return Err("the cropped code did not read back".into());
    }
    let read_cropped = timed(|| {
        std::hint::black_box(scan::read_codes(&cropped));
    });
    let camera = camera_frame(&code);
    if scan::read_codes(&camera) != [frame] {
        return Err("the camera frame did not read back".into());
    }
    let read_camera = timed(|| {
        std::hint::black_box(scan::read_codes(&camera));
    });
    println!("| measurement (default profile, v25-L) | median | target |\n|---|---|---|");
    println!(
        "| make one frame (RaptorQ symbol, QR symbol, image) | {:.1} ms = {:.0} frames/s on one core | |",
        build.as_secs_f64() * 1000.0,
        1.0 / build.as_secs_f64()
    );
    println!(
        "| read a cropped code (4 px per module) | {:.1} ms | <= 3 ms |",
        read_cropped.as_secs_f64() * 1000.0
    );
    println!(
        "| read a 1920x1080 camera-like frame | {:.1} ms | <= 15 ms |",
        read_camera.as_secs_f64() * 1000.0
    );
    println!();
    Ok(())
}

fn goodput() -> Result<()> {
    println!(
        "| profile | fps x codes | 1 MiB bundle: K | seconds at 0% loss | goodput at 0% | at 20% loss |\n|---|---|---|---|---|---|"
    );
    let (bytes, id) = payload(1 << 20, 11);
    for profile in PROFILES {
        let sender = Sender::new(&bytes, id.as_bytes(), profile.frame_len(), profile.id)?;
        let k = sender.source_symbols();
        let codes_per_second = f64::from(profile.fps) * f64::from(profile.codes_per_frame);
        let seconds = k as f64 / codes_per_second;
        // At 20% loss a receiver catches 80% of the codes and needs at most K + 2 of them.
        let lossy = (k + 2) as f64 / 0.8 / codes_per_second;
        println!(
            "| {} | {} x {} | {k} | {seconds:.0} s | {:.1} KB/s | {:.1} KB/s |",
            profile.name,
            profile.fps,
            profile.codes_per_frame,
            bytes.len() as f64 / seconds / 1000.0,
            bytes.len() as f64 / lossy / 1000.0
        );
    }
    Ok(())
}
