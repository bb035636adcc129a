//! `async` hooks: each HTTP stream runs the futures of its async hooks as tasks, polled
//! when the stream's own host events come (a callout's answer, its end), never by a
//! thread of their own.
//!
//! A task's future holds an [`Stream`](super::Stream) without state; while the runtime
//! polls it, the stream's state is lent to it through [`polled`], so a future needs no
//! reference into the context that owns it. Wakers are not used: every event that can
//! make a task ready is one the stream's context receives, and it polls the stream's
//! tasks after each.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::action::Action;
use crate::host::{self, HostError, LogLevel};

use super::stream::StreamState;

/// The future of one async hook: what the hook decides, once it can.
pub(crate) type Task = Pin<Box<dyn Future<Output = Action>>>;

thread_local! {
    /// The state of the stream whose task is being polled (null: none). A VM runs one
    /// hook at a time; natively each worker thread has its own.
    static POLLED: Cell<*mut StreamState> = const { Cell::new(std::ptr::null_mut()) };
}

/// Lends a stream's state to the futures polled while it lives; restores the previous
/// loan when dropped (also when a future panics).
struct Lend {
    previous: *mut StreamState,
}

impl Lend {
    fn new(state: &mut StreamState) -> Self {
        Lend {
            previous: POLLED.with(|p| p.replace(state)),
        }
    }
}

impl Drop for Lend {
    fn drop(&mut self) {
        POLLED.with(|p| p.set(self.previous));
    }
}

/// The state lent to the task being polled; `None` outside a poll.
///
/// The reference lives as long as the caller's borrow of its own handle (a `Stream` or an
/// `InFlight`, only ever inside the polled future), and the runtime does not touch the
/// state while it polls: it took the task out of it first.
pub(crate) fn polled<'a>() -> Option<&'a mut StreamState> {
    let state = POLLED.with(Cell::get);
    // SAFETY: non-null only during `poll`, where it points to the state the runtime lent
    // (`Lend`) and does not use until the poll returns; each use is a short reborrow by
    // one handle method at a time (none of them calls user code while holding it).
    unsafe { state.as_mut() }
}

/// Whether a stream's task is being polled.
pub(crate) fn polling() -> bool {
    !POLLED.with(Cell::get).is_null()
}

/// Polls `task` once with `state` lent to it: its action if it is done, else it waits
/// among the stream's tasks.
fn poll(state: &mut StreamState, mut task: Task) -> Option<Action> {
    let ready = {
        let _lend = Lend::new(state);
        task.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    match ready {
        Poll::Ready(action) => Some(action),
        Poll::Pending => {
            state.tasks.push(task);
            None
        }
    }
}

/// Starts an async hook: polled at once (a hook that never waits costs no pause), its
/// action if it is done, else `Pause` until [`wake`] finishes it.
pub(crate) fn spawn(state: &mut StreamState, task: Task) -> Action {
    poll(state, task).unwrap_or(Action::Pause)
}

/// Polls the stream's waiting tasks after one of its events, and hands the action of each
/// that finished to `finished`, in order.
pub(crate) fn wake(state: &mut StreamState, mut finished: impl FnMut(&mut StreamState, Action)) {
    // Each is taken out while it runs; one still waiting goes back at the end.
    for _ in 0..state.tasks.len() {
        if state.tasks.is_empty() {
            break;
        }
        let Some(task) = state.tasks.pop_front() else {
            break;
        };
        if let Some(action) = poll(state, task) {
            finished(state, action);
        }
    }
}

/// Has the stream whose task is polled woken when the host clock reaches `deadline`.
fn wake_at(deadline: u64) -> Result<(), HostError> {
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    return crate::dispatch::wake_at(deadline);
    #[cfg(not(any(target_family = "wasm", feature = "testing")))]
    crate::native::wake_at(deadline)
}

/// The future of [`Stream::sleep`](super::Stream::sleep): ready once the host's clock
/// reaches its deadline.
#[derive(Debug)]
#[must_use = "`.await` it to wait"]
pub struct Sleep {
    deadline: u64,
}

impl Sleep {
    pub(crate) fn until(deadline: u64) -> Self {
        Sleep { deadline }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // A clock or a timer the host refuses ends the wait rather than holding the
        // stream forever; so does a sleep awaited outside a stream's async hook.
        let Ok(now) = host::current_time_nanos() else {
            return Poll::Ready(());
        };
        if now >= self.deadline || !polling() {
            return Poll::Ready(());
        }
        match wake_at(self.deadline) {
            Ok(()) => Poll::Pending,
            Err(error) => {
                crate::logger::emit(LogLevel::Warn, &format!("sleep: no timer: {error}"));
                Poll::Ready(())
            }
        }
    }
}
