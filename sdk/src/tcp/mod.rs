//! TCP filters: a filter on a connection's bytes, behind e.g. Envoy's `tcp_proxy` (Envoy
//! calls them network filters). The [`TcpFilter`] trait behind `#[filter]`, what its
//! hooks are given ([`TcpCx`]) and the bytes they see ([`Data`]).

pub(crate) mod runtime;

pub(crate) use runtime::Tcp;

use crate::action::{Action, EndOfStream};
use crate::host::{self, HostError, StreamType};
use crate::http::Body;
use crate::plugin::Filter;

/// A TCP filter: its hooks on one connection. What every filter has (root id,
/// configuration, plugin state) is [`Filter`], its supertrait.
///
/// A value of `Self` is created per connection. `#[proxylet::filter]` on a function named
/// `on_new_connection`, `on_downstream_data`, `on_upstream_data`, `on_downstream_close` or
/// `on_upstream_close` (with, if wanted, `on_log` and `on_done`) implements both traits.
pub trait TcpFilter: Filter {
    /// A downstream connection was accepted.
    fn on_new_connection(&mut self, cx: &mut TcpCx<'_, Self>) -> Action {
        let _ = cx;
        Action::Continue
    }
    /// Bytes arrived from the downstream (client).
    fn on_downstream_data(&mut self, cx: &mut TcpCx<'_, Self>, data: &mut Data) -> Action {
        let _ = (cx, data);
        Action::Continue
    }
    /// Bytes arrived from the upstream (server).
    fn on_upstream_data(&mut self, cx: &mut TcpCx<'_, Self>, data: &mut Data) -> Action {
        let _ = (cx, data);
        Action::Continue
    }
    /// The downstream side closed.
    fn on_downstream_close(&mut self, cx: &mut TcpCx<'_, Self>) {
        let _ = cx;
    }
    /// The upstream side closed.
    fn on_upstream_close(&mut self, cx: &mut TcpCx<'_, Self>) {
        let _ = cx;
    }
    /// The connection is complete and about to be logged (access-log time), after both
    /// sides closed.
    fn on_log(&mut self, cx: &mut TcpCx<'_, Self>) {
        let _ = cx;
    }
    /// The connection is done: the last hook, once, however it ended.
    fn on_done(&mut self, cx: &mut TcpCx<'_, Self>) {
        let _ = cx;
    }
}

/// What every hook of a hand-written [`TcpFilter`] is given.
pub struct TcpCx<'a, F: TcpFilter> {
    pub(crate) config: &'a <F as Filter>::Config,
    pub(crate) plugin: &'a <F as Filter>::Plugin,
    pub(crate) end_of_stream: EndOfStream,
}

impl<'a, F: TcpFilter> TcpCx<'a, F> {
    /// The plugin's configuration.
    pub fn config(&self) -> &'a <F as Filter>::Config {
        self.config
    }
    /// The plugin's state.
    pub fn plugin(&self) -> &'a <F as Filter>::Plugin {
        self.plugin
    }
    /// Whether this direction of the connection has ended.
    pub fn end_of_stream(&self) -> EndOfStream {
        self.end_of_stream
    }
    /// Closes the downstream connection.
    pub fn close_downstream(&mut self) -> Result<(), HostError> {
        host::close_stream(StreamType::Downstream)
    }
    /// Closes the upstream connection.
    pub fn close_upstream(&mut self) -> Result<(), HostError> {
        host::close_stream(StreamType::Upstream)
    }
    /// Resumes the downstream direction after a `Pause`.
    pub fn resume_downstream(&mut self) -> Result<(), HostError> {
        host::continue_stream(StreamType::Downstream)
    }
}

/// Bytes of a TCP connection: the chunk that just arrived in one direction, held by the
/// host and read or rewritten in place.
///
/// ```no_run
/// # use proxylet::tcp::Data;
/// fn redact(data: &mut Data) {
///     let text = String::from_utf8_lossy(&data.bytes()).replace("secret", "******");
///     data.replace(text.as_bytes());
/// }
/// ```
// The host calls are the same as a body's: `Body` does the work.
pub struct Data(pub(crate) Body);

impl Data {
    /// The number of bytes that arrived.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no bytes arrived (e.g. only the end of the direction).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this direction of the connection ends with these bytes.
    pub fn end_of_stream(&self) -> bool {
        self.0.end_of_stream()
    }

    /// All the bytes; empty when the host refused the read (logged at debug level).
    pub fn bytes(&self) -> Vec<u8> {
        self.0.bytes()
    }

    /// Like [`Data::bytes`], with the host's error.
    pub fn try_bytes(&self) -> Result<Vec<u8>, HostError> {
        self.0.try_bytes()
    }

    /// Up to `len` bytes from `start`.
    pub fn read(&self, start: usize, len: usize) -> Result<Vec<u8>, HostError> {
        self.0.read(start, len)
    }

    /// Replaces the bytes with `data`, which is what the other side receives.
    pub fn replace(&mut self, data: &[u8]) {
        self.0.replace(data)
    }

    /// Like [`Data::replace`], with the host's error.
    pub fn try_replace(&mut self, data: &[u8]) -> Result<(), HostError> {
        self.0.try_replace(data)
    }

    /// Appends `data` after these bytes.
    pub fn append(&mut self, data: &[u8]) -> Result<(), HostError> {
        self.0.append(data)
    }

    /// Inserts `data` before these bytes.
    pub fn prepend(&mut self, data: &[u8]) -> Result<(), HostError> {
        self.0.prepend(data)
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("len", &self.len())
            .field("end_of_stream", &self.end_of_stream())
            .finish()
    }
}
