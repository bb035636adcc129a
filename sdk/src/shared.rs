//! Data shared by every VM of the same `vm_id` on a host (all Envoy workers): key-value
//! entries with compare-and-swap, and queues.

use crate::host::{self, HostError, CAS_MISMATCH};

/// A key-value store shared by all VMs with the same `vm_id` (e.g. every Envoy worker).
///
/// Writes can be conditional on a version ([`Cas`]), so concurrent read-modify-write
/// cycles from several workers never lose an update to an existing entry (creating one
/// is not atomic: see [`SharedData::update`]):
///
/// ```no_run
/// use proxylet::shared::SharedData;
///
/// let hits: u64 = SharedData::update("hits", |old| {
///     let n = old.and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0);
///     ((n + 1).to_le_bytes().to_vec(), n + 1)
/// }).unwrap_or(0);
/// ```
pub struct SharedData;

/// The version of a shared entry, for compare-and-swap writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cas(pub u32);

/// Why a shared-data write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError {
    /// Another VM wrote the entry since it was read; read again and retry.
    CasMismatch,
    /// The host refused.
    Host(HostError),
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::CasMismatch => write!(f, "the shared entry changed since it was read"),
            SetError::Host(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SetError {}

impl SharedData {
    /// The value and version of `key`; `None` when it was never set.
    pub fn get(key: &str) -> Result<Option<(Vec<u8>, Cas)>, HostError> {
        Ok(host::get_shared_data(key)?.map(|(value, cas)| (value, Cas(cas))))
    }

    /// Writes `key` unconditionally.
    pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
        host::set_shared_data(key, value, 0)
    }

    /// Writes `key` only if its version is still `cas` (from [`SharedData::get`]).
    pub fn compare_and_set(key: &str, value: &[u8], cas: Cas) -> Result<(), SetError> {
        match host::set_shared_data(key, value, cas.0) {
            Ok(()) => Ok(()),
            Err(e) if e.status() == CAS_MISMATCH => Err(SetError::CasMismatch),
            Err(e) => Err(SetError::Host(e)),
        }
    }

    /// Read-modify-write of `key` with compare-and-swap, retried on conflicts (at most
    /// 32 times). `f` gets the current bytes (or `None`) and returns the new bytes and a
    /// value handed back to the caller.
    ///
    /// Creating an absent entry cannot be made atomic: proxy-wasm hosts (Envoy's
    /// `proxy-wasm-cpp-host`) write an absent key whatever the CAS, so two VMs creating
    /// the same key at the same instant can lose one update. Where every update counts
    /// (counters, token buckets), create the entry ahead of traffic, e.g. in
    /// [`Plugin::new`](crate::Plugin::new) when it is absent.
    pub fn update<T>(
        key: &str,
        mut f: impl FnMut(Option<Vec<u8>>) -> (Vec<u8>, T),
    ) -> Result<T, SetError> {
        let mut last = SetError::CasMismatch;
        for _ in 0..32 {
            let current = Self::get(key).map_err(SetError::Host)?;
            let (bytes, cas) = match current {
                Some((bytes, cas)) => (Some(bytes), cas),
                None => (None, Cas(0)),
            };
            let (new, out) = f(bytes);
            let result = if cas.0 == 0 {
                // Absent entry: the first writer wins only if nobody created it meanwhile.
                match Self::get(key).map_err(SetError::Host)? {
                    None => Self::set(key, &new).map_err(SetError::Host),
                    Some(_) => Err(SetError::CasMismatch),
                }
            } else {
                Self::compare_and_set(key, &new, cas)
            };
            match result {
                Ok(()) => return Ok(out),
                Err(SetError::CasMismatch) => last = SetError::CasMismatch,
                Err(other) => return Err(other),
            }
        }
        Err(last)
    }
}

/// A shared queue: VMs enqueue byte messages, the VM that registered it is woken with
/// `on_queue_ready` and dequeues them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Queue(pub(crate) u32);

impl Queue {
    /// Registers a queue owned by this VM (call from plugin creation or a plugin hook).
    ///
    /// Not on the native target (no shared queues there): a native build that calls it does
    /// not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn register(name: &str) -> Result<Queue, HostError> {
        let queue = host::register_shared_queue(name)?;
        crate::dispatch::registered_queue(queue);
        Ok(Queue(queue))
    }

    /// Finds the queue `name` registered by the VM `vm_id`; `None` when there is none.
    ///
    /// Not on the native target (no shared queues there): a native build that calls it does
    /// not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn resolve(vm_id: &str, name: &str) -> Result<Option<Queue>, HostError> {
        Ok(host::resolve_shared_queue(vm_id, name)?.map(Queue))
    }

    /// Appends a message.
    pub fn enqueue(&self, message: &[u8]) -> Result<(), HostError> {
        host::enqueue_shared_queue(self.0, message)
    }

    /// Takes the oldest message; `None` when the queue is empty.
    pub fn dequeue(&self) -> Result<Option<Vec<u8>>, HostError> {
        host::dequeue_shared_queue(self.0)
    }

    /// Waits for the queue's next item, for an `async` hook to `.await`: the item at once
    /// if there is one, else when the host says the queue has items (and another reader,
    /// `on_queue_ready` included, has not taken them first: then it waits on).
    ///
    /// Only the VM that registered a queue hears of its items, so this is for a queue
    /// registered here ([`Queue::register`]); on another (a [`Queue::resolve`]d one) it
    /// is `Err` at once rather than a wait that never ends. If the stream ends first, the
    /// hook is dropped at its `.await` and takes nothing.
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    ///
    /// #[proxylet::filter]
    /// async fn on_request_headers(headers: &mut Headers) -> Result<Action, proxylet::HostError> {
    ///     let queue = Queue::register("grants")?;
    ///     let grant = queue.recv().await?;
    ///     headers.set("x-grant", grant);
    ///     Ok(Action::Continue)
    /// }
    /// ```
    ///
    /// Not on the native target, like every queue operation but `enqueue`.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn recv(&self) -> Recv {
        Recv { queue: self.0 }
    }

    /// The host's id of the queue.
    pub fn id(&self) -> u32 {
        self.0
    }
}

/// The future of [`Queue::recv`].
#[cfg(any(target_family = "wasm", feature = "testing"))]
#[derive(Debug)]
#[must_use = "`.await` it for the item"]
pub struct Recv {
    queue: u32,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl std::future::Future for Recv {
    type Output = Result<Vec<u8>, HostError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        match host::dequeue_shared_queue(self.queue) {
            Ok(Some(item)) => Poll::Ready(Ok(item)),
            Ok(None) if !crate::http::task::polling() => Poll::Ready(Err(HostError::new(
                "Queue::recv (awaited outside a stream's async hook)",
                2,
            ))),
            Ok(None) => match crate::dispatch::wake_on_queue(self.queue) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}
