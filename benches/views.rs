//! In-process benchmarks of the views (run: `cargo bench --bench views`). Prints a Markdown
//! table for the README.
//!
//! - A **mixed log** of 1,000,000 entries, shaped like a field team's store: 900,000 first
//!   writes (45% map nodes, 5% ways over recent nodes, 30% kv puts over 100,000 keys, 10%
//!   calendar events of which half repeat, 10% entries of a kind no view reads) and then
//!   100,000 edits that link what they replace (map nodes moved, kv values replaced, events
//!   rescheduled). Measured: rebuilding all three views from it, and the incremental catch-up
//!   after importing a bundle of 1,000 new entries into it.
//! - A map of 1,000,000 nodes (uniform over a 100 x 100 degree area): a bounding-box query
//!   returning about 100 nodes.
//! - `kv get` and a month's `cal query` on the mixed store.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mule::bundle::{Coverage, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::store::{Draft, Frontier, Store};
use mule::views::Views;
use mule::views::map::BBox;
use mule::{Hash, entry};
use serde_json::{Value, json};

const N: usize = 1_000_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let mut rows = Vec::new();
    let mut random = Random(0x2545_f491_4f6c_dd1d);

    let mut peer = Store::open(&work.path().join("peer"))?;
    peer.append(
        (0..1000)
            .map(|i| mixed_draft(N + i, &mut random))
            .collect::<std::result::Result<_, _>>()?,
    )?;
    let bundle = work.path().join("1000.mule");
    write_bundle(
        &peer,
        &Frontier::new(),
        &Coverage::default(),
        &bundle,
        false,
    )?;

    let mut small = Store::open(&work.path().join("small"))?;
    fill_mixed(&mut small, &mut random, 10_000)?;
    Views::open(small.dir())?.catch_up(&small)?;
    let (catch_up, fed) = catch_up_after_import(&mut small, &bundle)?;
    rows.push(format!(
        "| catch-up after importing 1,000 entries into a 10,000-entry store | {:.1} ms ({fed} entries viewed) | |",
        catch_up.as_secs_f64() * 1000.0
    ));

    let mut mixed = Store::open(&work.path().join("mixed"))?;
    fill_mixed(&mut mixed, &mut random, N)?;
    // Reopen, as `mule reindex` would find the store: closing checkpoints the write-ahead log.
    drop(mixed);
    let mut mixed = Store::open(&work.path().join("mixed"))?;
    let mut views = Views::open(mixed.dir())?;
    let rebuild = timed(|| views.rebuild(&mixed).map(drop))?;
    rows.push(format!(
        "| rebuild kv + map + cal from a mixed log of {N} entries | {:.0} entries/s ({} ms) | >= 200,000 entries/s |",
        N as f64 / rebuild.as_secs_f64(),
        rebuild.as_millis()
    ));

    // Reopen, as the next command would: closing checkpoints the rebuild's write-ahead log.
    drop(views);
    let (catch_up, fed) = catch_up_after_import(&mut mixed, &bundle)?;
    rows.push(format!(
        "| catch-up after importing 1,000 entries into the {N}-entry store | {:.1} ms ({fed} entries viewed) | < 100 ms |",
        catch_up.as_secs_f64() * 1000.0
    ));
    let views = Views::open(mixed.dir())?;
    let get = median(|| views.kv().get("site-4242").map(drop))?;
    rows.push(format!(
        "| kv get (mixed store) | {:.3} ms | < 1 ms |",
        get.as_secs_f64() * 1000.0
    ));
    let (from, to) = (
        Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 3, 2, 0, 0, 0).unwrap(),
    );
    let occurrences = views
        .cal()
        .query(from, to, chrono_tz::UTC)?
        .map_or(0, |found| found.len());
    let query = median(|| views.cal().query(from, to, chrono_tz::UTC).map(drop))?;
    rows.push(format!(
        "| cal query of one day ({occurrences} occurrences of 100,000 events) | {:.1} ms | |",
        query.as_secs_f64() * 1000.0
    ));
    drop(views);
    drop(mixed);

    let mut map_store = Store::open(&work.path().join("map"))?;
    let drafts = (0..N)
        .map(|i| draft("map", &node(i, &mut random), vec![]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    map_store.append(drafts)?;
    drop(map_store);
    let map_store = Store::open(&work.path().join("map"))?;
    let mut views = Views::open(map_store.dir())?;
    let rebuild = timed(|| views.rebuild(&map_store).map(drop))?;
    rows.push(format!(
        "| rebuild the map view from {N} nodes | {:.0} entries/s ({} ms) | |",
        N as f64 / rebuild.as_secs_f64(),
        rebuild.as_millis()
    ));
    // 1,000,000 nodes over 10,000 square degrees: a 1 x 1 degree box holds about 100.
    let bbox = BBox::parse("10,11", "20,21")?;
    let found = views.map().query(&bbox, false)?.len();
    let query = median(|| views.map().query(&bbox, false).map(drop))?;
    rows.push(format!(
        "| map query returning {found} of {N} nodes | {:.2} ms | < 5 ms |",
        query.as_secs_f64() * 1000.0
    ));

    let texts = [
        "dec 5 9:30am",
        "tomorrow at noon for 2 hours",
        "tuesday 3pm to 5pm",
        "2026-12-24 18:00-22:00",
        "DMV friday at 10:30",
        "every monday 9-10am",
        "javascript study group thursdays at 7 pm",
        "every other friday at 4pm until march",
        "every day at 12:00 starting jan 15 until feb 10",
        "mondays and wednesdays 8am",
        "the 15th",
        "every oct 31st",
        "first tuesday",
        "2nd and 4th thursday",
        "\"linux installfest friday\" friday at 21:00",
        "every monday 9am except dec 28",
    ];
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .ok_or("date")?
        .and_utc()
        .with_timezone(&chrono_tz::Europe::Oslo);
    let rounds = 20_000;
    let parsing = timed(|| {
        for _ in 0..rounds {
            for text in texts {
                std::hint::black_box(mule::calendar::schedule::parse(text, now))?;
            }
        }
        Ok::<_, mule::calendar::schedule::ScheduleError>(())
    })?;
    rows.push(format!(
        "| schedule parser, the issue's {} example texts | {:.0} parses/s | |",
        texts.len(),
        (rounds * texts.len()) as f64 / parsing.as_secs_f64()
    ));

    println!("| measurement (in-process) | result | target |\n|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// xorshift: deterministic data without another dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..1`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn draft(kind: &str, body: &Value, links: Vec<Hash>) -> std::result::Result<Draft, entry::Error> {
    Ok(Draft {
        kind: kind.into(),
        body: body_from_json(body)?,
        links,
        timestamp: 1_790_000_000_000,
    })
}

fn node(i: usize, random: &mut Random) -> Value {
    json!({"id": format!("n{i}"), "type": "node", "lat": -50.0 + 100.0 * random.unit(),
           "lon": -50.0 + 100.0 * random.unit(), "tags": {"amenity": "well"}})
}

fn event(i: usize, random: &mut Random) -> Value {
    let day = 1 + random.below(28);
    let hour = 8 + random.below(10);
    let mut event = json!({
        "id": format!("e{}", i % 100_000), "title": format!("visit {i}"), "tz": "Europe/Oslo",
        "start": format!("2027-02-{day:02}T{hour:02}:00:00"),
        "end": format!("2027-02-{day:02}T{hour:02}:45:00"),
    });
    if i.is_multiple_of(2) {
        event["rrule"] = json!("FREQ=WEEKLY;UNTIL=20271231T000000Z");
    }
    event
}

/// The `i`th first write of the mixed log.
fn mixed_draft(i: usize, random: &mut Random) -> std::result::Result<Draft, entry::Error> {
    match i % 20 {
        0..=8 => draft("map", &node(i, random), vec![]),
        9 => {
            let refs: Vec<String> = (1..=5)
                .map(|back| format!("n{}", i.saturating_sub(back * 20)))
                .collect();
            draft(
                "map",
                &json!({"id": format!("w{i}"), "type": "way", "refs": refs, "tags": {"highway": "track"}}),
                vec![],
            )
        }
        10..=15 => draft(
            "kv",
            &json!({"k": format!("site-{}", i % 100_000), "v": {"n": i, "note": "dry"}}),
            vec![],
        ),
        16 | 17 => draft("cal", &event(i, random), vec![]),
        _ => draft("obs", &json!({"reading": i, "unit": "mm"}), vec![]),
    }
}

/// Imports `bundle` into `store` (whose views are up to date) and times the views' catch-up;
/// returns the time and the number of entries viewed.
fn catch_up_after_import(store: &mut Store, bundle: &std::path::Path) -> Result<(Duration, u64)> {
    let mut views = Views::open(store.dir())?;
    import_bundle(store, bundle)?;
    let started = Instant::now();
    let done = views.catch_up(store)?;
    Ok((started.elapsed(), done.entries))
}

/// Writes a mixed log of `total` entries: 90% first writes, then edits linking the versions
/// they replace.
fn fill_mixed(store: &mut Store, random: &mut Random, total: usize) -> Result<()> {
    let first_writes = total / 10 * 9;
    let mut firsts = Vec::with_capacity(first_writes);
    for i in 0..first_writes {
        firsts.push(mixed_draft(i, random)?);
    }
    let hashes = store.append(firsts)?;
    let mut edits = Vec::with_capacity(total - first_writes);
    for e in 0..total - first_writes {
        // Replace the i-th first write, which has the kind this edit needs.
        let (i, kind) = match e % 10 {
            0..=4 => (
                20 * random.below(first_writes / 20) + random.below(9),
                "map",
            ),
            5..=7 => (
                20 * random.below(first_writes / 20) + 10 + random.below(6),
                "kv",
            ),
            _ => (20 * random.below(first_writes / 20) + 16, "cal"),
        };
        let body = match kind {
            "map" => node(i, random),
            "kv" => json!({"k": format!("site-{}", i % 100_000), "v": {"n": i, "note": "wet"}}),
            _ => event(i, random),
        };
        edits.push(draft(kind, &body, vec![hashes[i]])?);
    }
    store.append(edits)?;
    Ok(())
}

fn timed<E>(f: impl FnOnce() -> std::result::Result<(), E>) -> std::result::Result<Duration, E> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

/// Median of 101 runs.
fn median<E>(
    mut f: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<Duration, E> {
    let mut times = Vec::with_capacity(101);
    for _ in 0..101 {
        times.push(timed(&mut f)?);
    }
    times.sort();
    Ok(times[50])
}
