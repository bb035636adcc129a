//! Glue between a [`TcpFilter`] and the host's contexts: one [`NetStream`] per
//! connection.

use std::cell::RefCell;
use std::rc::Rc;

use crate::action::{Action, EndOfStream, HookOutput};
use crate::context::{Child, Context, HostAction, PeerType, StreamContext};
use crate::host::{self, BufferType, LogLevel, StreamType};
use crate::http::Body;
use crate::plugin::{Active, Streams};

use super::{Data, TcpCx, TcpFilter};

/// The TCP kind of filter: its plugins make [`NetStream`]s.
pub(crate) struct Tcp;

impl<F: TcpFilter> Streams<F> for Tcp {
    fn new_context(active: Active<F>) -> Child {
        Child::Tcp(Rc::new(RefCell::new(NetStream::<F> { active })))
    }
}

/// One TCP connection of a filter.
struct NetStream<F: TcpFilter> {
    /// The filter's connection state and the plugin's shared state.
    active: Active<F>,
}

impl<F: TcpFilter> NetStream<F> {
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
            end_of_stream: EndOfStream(end_of_stream),
        };
        apply::<F>(hook(filter, &mut cx))
    }
}

/// `Err` from a TCP hook: logged, and the connection is closed.
#[doc(hidden)]
pub fn finish_tcp<F: TcpFilter>(output: impl HookOutput) -> Action {
    match output.into_action() {
        Ok(action) => action,
        Err(error) => {
            crate::logger::error(F::ROOT_ID, &error);
            Action::Close
        }
    }
}

fn apply<F: TcpFilter>(action: Action) -> HostAction {
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

impl<F: TcpFilter> Context for NetStream<F> {
    fn on_done(&mut self) -> bool {
        self.run(true, |f, cx| {
            f.on_done(cx);
            Action::Continue
        });
        true
    }
}

impl<F: TcpFilter> StreamContext for NetStream<F> {
    fn on_new_connection(&mut self) -> HostAction {
        self.run(false, |f, cx| f.on_new_connection(cx))
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction {
        let mut data = Data(Body::new(
            BufferType::DownstreamData,
            data_size,
            end_of_stream,
        ));
        self.run(end_of_stream, |f, cx| f.on_downstream_data(cx, &mut data))
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction {
        let mut data = Data(Body::new(
            BufferType::UpstreamData,
            data_size,
            end_of_stream,
        ));
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

    fn on_log(&mut self) {
        self.run(true, |f, cx| {
            f.on_log(cx);
            Action::Continue
        });
    }
}
