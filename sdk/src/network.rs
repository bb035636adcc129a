//! L4 (TCP) filters: a filter on the connection's bytes, behind e.g. Envoy's `tcp_proxy`.

use std::rc::Rc;

use crate::context::{Child, Context, HostAction, PeerType, RootContext, StreamContext};

use crate::action::{Action, HookOutput};
use crate::body::Body;
use crate::config::ConfigError;
use crate::cx::PluginCx;
use crate::host::{self, BufferType, HostError, LogLevel, StreamType};
use crate::schema::Schema;
use crate::shared::Queue;

/// Bytes of a TCP connection: the chunk that just arrived in one direction.
pub type Data = Body;

/// A network (TCP) filter: the L4 counterpart of [`HttpFilter`](crate::HttpFilter).
///
/// A value of `Self` is created per connection. `#[proxylet::filter]` on a function named
/// `on_new_connection`, `on_downstream_data`, `on_upstream_data`, `on_downstream_close` or
/// `on_upstream_close` implements it.
pub trait NetworkFilter: Sized + 'static {
    /// The root id Envoy selects this filter by.
    const ROOT_ID: &'static str;
    /// The JSON Schema of the configuration, embedded in the module (see
    /// [`HttpFilter::CONFIG_SCHEMA`](crate::HttpFilter::CONFIG_SCHEMA)).
    const CONFIG_SCHEMA: Option<&'static Schema> = None;
    /// The parsed configuration.
    type Config: 'static;
    /// Per-plugin state (`()` for none).
    type Plugin: 'static;

    /// Parses the plugin configuration.
    fn configure(raw: &[u8]) -> Result<Self::Config, ConfigError>;
    /// Creates the plugin state.
    fn plugin(config: &Self::Config, cx: &mut PluginCx<'_>) -> Result<Self::Plugin, ConfigError>;
    /// Creates the state of a new connection.
    fn new(config: &Self::Config, plugin: &Self::Plugin) -> Self;

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
    /// The plugin's tick fired.
    fn on_tick(plugin: &Self::Plugin, cx: &mut PluginCx<'_>) {
        let _ = (plugin, cx);
    }
    /// A shared queue this plugin registered has an item.
    fn on_queue_ready(plugin: &Self::Plugin, queue: Queue, cx: &mut PluginCx<'_>) {
        let _ = (plugin, queue, cx);
    }
}

/// What a TCP hook is given.
pub struct TcpCx<'a, F: NetworkFilter> {
    pub(crate) config: &'a F::Config,
    pub(crate) plugin: &'a F::Plugin,
    pub(crate) end_of_stream: bool,
}

impl<'a, F: NetworkFilter> TcpCx<'a, F> {
    /// The plugin's configuration.
    pub fn config(&self) -> &'a F::Config {
        self.config
    }
    /// The plugin's state.
    pub fn plugin(&self) -> &'a F::Plugin {
        self.plugin
    }
    /// Whether this direction has ended.
    pub fn end_of_stream(&self) -> bool {
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

pub(crate) fn new_root<F: NetworkFilter>() -> Box<dyn RootContext> {
    Box::new(NetRoot::<F> { shared: None })
}

struct Shared<F: NetworkFilter> {
    config: F::Config,
    plugin: F::Plugin,
}

struct NetRoot<F: NetworkFilter> {
    shared: Option<Rc<Shared<F>>>,
}

fn plugin_cx<F: NetworkFilter>() -> PluginCx<'static> {
    PluginCx {
        root_id: F::ROOT_ID,
    }
}

impl<F: NetworkFilter> Context for NetRoot<F> {}

impl<F: NetworkFilter> RootContext for NetRoot<F> {
    fn on_vm_start(&mut self, size: usize) -> bool {
        crate::runtime::store_vm_configuration(size);
        true
    }

    fn on_configure(&mut self, size: usize) -> bool {
        crate::logger::sync_max_level();
        if let Some(error) = crate::runtime::root_id_mismatch(F::ROOT_ID) {
            crate::logger::emit(LogLevel::Error, &error);
            return false;
        }
        let raw = crate::runtime::plugin_configuration(F::ROOT_ID, size);
        let shared = raw.and_then(|raw| {
            let config = F::configure(&raw)?;
            let plugin = F::plugin(&config, &mut plugin_cx::<F>())?;
            Ok(Shared { config, plugin })
        });
        match shared {
            Ok(shared) => {
                self.shared = Some(Rc::new(shared));
                true
            }
            Err(error) => {
                crate::logger::error(F::ROOT_ID, &error);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            F::on_tick(&shared.plugin, &mut plugin_cx::<F>());
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Some(shared) = &self.shared {
            F::on_queue_ready(&shared.plugin, Queue(queue_id), &mut plugin_cx::<F>());
        }
    }

    fn new_context(&self) -> Child {
        let active = self
            .shared
            .as_ref()
            .map(|shared| (F::new(&shared.config, &shared.plugin), Rc::clone(shared)));
        Child::Tcp(Rc::new(std::cell::RefCell::new(NetStream::<F> { active })))
    }
}

struct NetStream<F: NetworkFilter> {
    /// `None` only if the host created a connection for an unconfigured plugin.
    active: Option<(F, Rc<Shared<F>>)>,
}

impl<F: NetworkFilter> NetStream<F> {
    fn run(
        &mut self,
        end_of_stream: bool,
        hook: impl FnOnce(&mut F, &mut TcpCx<'_, F>) -> Action,
    ) -> HostAction {
        let Some((filter, shared)) = &mut self.active else {
            return HostAction::Continue;
        };
        let mut cx = TcpCx {
            config: &shared.config,
            plugin: &shared.plugin,
            end_of_stream,
        };
        apply::<F>(hook(filter, &mut cx))
    }
}

/// `Err` from a TCP hook: logged, and the connection is closed.
#[doc(hidden)]
pub fn finish_tcp<F: NetworkFilter>(output: impl HookOutput) -> Action {
    match output.into_action() {
        Ok(action) => action,
        Err(error) => {
            crate::logger::error(F::ROOT_ID, &error);
            Action::Close
        }
    }
}

fn apply<F: NetworkFilter>(action: Action) -> HostAction {
    match action {
        Action::Continue => HostAction::Continue,
        Action::Pause => HostAction::Pause,
        Action::Reply(_) | Action::Close => {
            // A TCP filter cannot answer in place of the upstream: a reply closes.
            for stream in [StreamType::Downstream, StreamType::Upstream] {
                if let Err(error) = host::close_stream(stream) {
                    crate::logger::emit(
                        LogLevel::Debug,
                        &format!("{}: closing the connection: {error}", F::ROOT_ID),
                    );
                }
            }
            HostAction::Pause
        }
    }
}

impl<F: NetworkFilter> Context for NetStream<F> {}

impl<F: NetworkFilter> StreamContext for NetStream<F> {
    fn on_new_connection(&mut self) -> HostAction {
        self.run(false, |f, cx| f.on_new_connection(cx))
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction {
        let mut data = Body::new(BufferType::DownstreamData, data_size, end_of_stream);
        self.run(end_of_stream, |f, cx| f.on_downstream_data(cx, &mut data))
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction {
        let mut data = Body::new(BufferType::UpstreamData, data_size, end_of_stream);
        self.run(end_of_stream, |f, cx| f.on_upstream_data(cx, &mut data))
    }

    fn on_downstream_close(&mut self, _peer_type: PeerType) {
        self.run(true, |f, cx| {
            f.on_downstream_close(cx);
            Action::Continue
        });
    }

    fn on_upstream_close(&mut self, _peer_type: PeerType) {
        self.run(true, |f, cx| {
            f.on_upstream_close(cx);
            Action::Continue
        });
    }
}
