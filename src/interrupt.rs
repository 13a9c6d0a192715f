//! Ctrl-C in the middle of a write. A front end that catches SIGINT calls [`request`]; a write
//! under way (an import, an export, an append: each holds a [`Changing`] guard) stops at its next
//! safe point with [`Interrupted`], so its transaction rolls back and its own temporary files
//! are removed on the way out. Outside a write nothing is being changed, and the front end may
//! stop the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A write stopped because the user interrupted it; what it had not committed was undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static CHANGING: AtomicUsize = AtomicUsize::new(0);

/// Asks the writes under way to stop at their next safe point. Returns whether one is under
/// way: when none is, nothing is being changed and the process may stop at once.
pub fn request() -> bool {
    REQUESTED.store(true, Ordering::SeqCst);
    CHANGING.load(Ordering::SeqCst) > 0
}

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// A safe point: fails once an interrupt was requested.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// A write under way: while it lives, [`request`] leaves stopping to the write.
#[derive(Debug)]
pub struct Changing(());

/// Starts a write (fails if an interrupt came first).
pub fn changing() -> Result<Changing, Interrupted> {
    CHANGING.fetch_add(1, Ordering::SeqCst);
    let guard = Changing(());
    check()?;
    Ok(guard)
}

impl Drop for Changing {
    fn drop(&mut self) {
        CHANGING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether `error` or one of its causes is an [`Interrupted`], itself or carried inside an I/O
/// error (a write that a safe point stopped).
pub fn is_interrupted(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| {
        e.is::<Interrupted>()
            || e.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(|inner| inner.is::<Interrupted>())
    })
}

/// A safe point inside a writer: [`check`] as an I/O error.
pub(crate) fn check_io() -> std::io::Result<()> {
    check().map_err(std::io::Error::other)
}
