//! Timers of async hooks on the native target (`Stream::sleep`). Envoy's dynamic modules
//! have no timer, but each HTTP stream can have a scheduler: an event committed to it from
//! any thread runs `envoy_dynamic_module_on_http_filter_scheduled` on the stream's worker.
//! One thread of the module keeps every stream's deadlines and commits each when it comes.

use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::abi;

/// Envoy's scheduler of one stream; null once the stream is gone and it was deleted.
pub(crate) struct Scheduler(Mutex<*mut c_void>);

// SAFETY: Envoy's ABI lets any thread commit to a stream's scheduler; committing and
// deleting are serialized by the mutex, and nothing is committed once it is deleted.
unsafe impl Send for Scheduler {}
// SAFETY: as above: the pointer is only used with the mutex held.
unsafe impl Sync for Scheduler {}

impl Scheduler {
    /// The scheduler of the stream whose Envoy handle is `filter`; `None` when Envoy gives
    /// none.
    ///
    /// # Safety
    /// `filter` must be the handle of a live stream, on its worker thread.
    pub(crate) unsafe fn new(filter: *mut c_void) -> Option<Arc<Scheduler>> {
        // SAFETY: guaranteed by the caller.
        let scheduler =
            unsafe { abi::envoy_dynamic_module_callback_http_filter_scheduler_new(filter) };
        (!scheduler.is_null()).then(|| Arc::new(Scheduler(Mutex::new(scheduler))))
    }

    /// Deletes the scheduler (the stream is going): a deadline that comes later commits
    /// nothing.
    pub(crate) fn delete(&self) {
        let Ok(mut scheduler) = self.0.lock() else {
            return;
        };
        if !scheduler.is_null() {
            // SAFETY: the scheduler is alive (not deleted: checked with the mutex held).
            unsafe { abi::envoy_dynamic_module_callback_http_filter_scheduler_delete(*scheduler) };
            *scheduler = std::ptr::null_mut();
        }
    }

    fn commit(&self) {
        let Ok(scheduler) = self.0.lock() else {
            return;
        };
        if !scheduler.is_null() {
            // SAFETY: the scheduler is alive (not deleted: checked with the mutex held).
            unsafe {
                abi::envoy_dynamic_module_callback_http_filter_scheduler_commit(*scheduler, 0)
            };
        }
    }
}

/// The deadlines waiting, and the condition the timer thread sleeps on.
struct Timers {
    due: Mutex<Vec<(Instant, Arc<Scheduler>)>>,
    changed: Condvar,
}

static TIMERS: OnceLock<Option<Timers>> = OnceLock::new();

/// Commits an event to `scheduler` after `wait`. `false` when no timer thread can run.
pub(crate) fn wake_after(scheduler: &Arc<Scheduler>, wait: Duration) -> bool {
    let Some(timers) = TIMERS.get_or_init(start).as_ref() else {
        return false;
    };
    let Ok(mut due) = timers.due.lock() else {
        return false;
    };
    due.push((Instant::now() + wait, Arc::clone(scheduler)));
    timers.changed.notify_one();
    true
}

/// Starts the timer thread (once per process).
fn start() -> Option<Timers> {
    std::thread::Builder::new()
        .name("proxylet-timers".into())
        .spawn(run)
        .ok()
        .map(|_| Timers {
            due: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        })
}

/// The timer thread: commits each deadline as it comes.
fn run() {
    // `start` returns before the table is set: wait for it.
    let timers = loop {
        if let Some(timers) = TIMERS.get() {
            match timers {
                Some(timers) => break timers,
                None => return,
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let Ok(mut due) = timers.due.lock() else {
        return;
    };
    loop {
        let now = Instant::now();
        let mut ready = Vec::new();
        due.retain(|(at, scheduler)| {
            let keep = *at > now;
            if !keep {
                ready.push(Arc::clone(scheduler));
            }
            keep
        });
        if !ready.is_empty() {
            drop(due);
            for scheduler in ready {
                scheduler.commit();
            }
            due = match timers.due.lock() {
                Ok(due) => due,
                Err(_) => return,
            };
            continue;
        }
        let next = due.iter().map(|(at, _)| *at).min();
        due = match next {
            Some(at) => match timers
                .changed
                .wait_timeout(due, at.saturating_duration_since(now))
            {
                Ok((due, _)) => due,
                Err(_) => return,
            },
            None => match timers.changed.wait(due) {
                Ok(due) => due,
                Err(_) => return,
            },
        };
    }
}
