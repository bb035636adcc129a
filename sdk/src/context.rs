//! The contexts a host drives: one per plugin (its root), one per HTTP stream or TCP
//! connection. The runtime implements them for each filter; a host's entry points (the
//! proxy-wasm dispatcher, or the native dynamic-module hooks) call them.

use std::cell::RefCell;
use std::rc::Rc;

/// What a stream hook tells the host: proxy-wasm's `Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum HostAction {
    /// Go on to the next filter.
    Continue = 0,
    /// Stop here until the filter resumes the stream.
    Pause = 1,
}

/// Which side of a TCP connection closed (proxy-wasm's `PeerType`, as the host sends it).
pub(crate) type PeerType = u32;

/// Callbacks every context can get: callout answers and its end.
pub(crate) trait Context {
    /// The answer to HTTP callout `token` (no headers: it failed).
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        let _ = (token, num_headers, body_size, num_trailers);
    }
    /// The answer to unary gRPC call `token`: `status_code` 0 and the message's size, or
    /// the failure's status.
    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        let _ = (token, status_code, response_size);
    }
    /// Initial metadata on gRPC stream `token`.
    fn on_grpc_stream_initial_metadata(&mut self, token: u32, num_elements: u32) {
        let _ = (token, num_elements);
    }
    /// A message on gRPC stream `token`.
    fn on_grpc_stream_message(&mut self, token: u32, message_size: usize) {
        let _ = (token, message_size);
    }
    /// Trailing metadata on gRPC stream `token`.
    fn on_grpc_stream_trailing_metadata(&mut self, token: u32, num_elements: u32) {
        let _ = (token, num_elements);
    }
    /// gRPC stream `token` closed with `status_code`.
    fn on_grpc_stream_close(&mut self, token: u32, status_code: u32) {
        let _ = (token, status_code);
    }
    /// The host is done with the context: `true` when the context is done too.
    fn on_done(&mut self) -> bool {
        true
    }
}

/// A plugin's context.
pub(crate) trait RootContext: Context {
    /// The VM started; its configuration is `size` bytes.
    fn on_vm_start(&mut self, size: usize) -> bool {
        let _ = size;
        true
    }
    /// The plugin is configured with `size` bytes; `false` refuses the configuration.
    fn on_configure(&mut self, size: usize) -> bool {
        let _ = size;
        true
    }
    /// The plugin's tick period elapsed.
    fn on_tick(&mut self) {}
    /// Shared queue `queue` has items.
    fn on_queue_ready(&mut self, queue: u32) {
        let _ = queue;
    }
    /// The context of a new stream (HTTP) or connection (TCP) of this plugin.
    fn new_context(&self) -> Child;
    /// Whether the plugin's streams can wait for its tick or its queues (async hooks): the
    /// dispatcher then keeps which plugin each stream is of.
    fn streams_wait(&self) -> bool {
        false
    }
}

/// The context a plugin makes for a stream or a connection.
pub(crate) enum Child {
    /// An HTTP stream's.
    Http(Shared<dyn HttpContext>),
    /// A TCP connection's.
    Tcp(Shared<dyn StreamContext>),
}

/// An HTTP stream's context.
pub(crate) trait HttpContext: Context {
    /// The request headers arrived.
    fn on_http_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> HostAction;
    /// A request body chunk arrived (`body_size`: all of it buffered so far).
    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction;
    /// The request trailers arrived.
    fn on_http_request_trailers(&mut self, num_trailers: usize) -> HostAction;
    /// The response headers arrived.
    fn on_http_response_headers(&mut self, num_headers: usize, end_of_stream: bool) -> HostAction;
    /// A response body chunk arrived.
    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction;
    /// The response trailers arrived.
    fn on_http_response_trailers(&mut self, num_trailers: usize) -> HostAction;
    /// The stream is complete (access-log time).
    fn on_log(&mut self) {}
    /// Code outside the stream's hooks (a plugin, through a `StreamHandle`) decided what
    /// the paused stream does: `action` applies as a hook's would, and `Continue` resumes
    /// the direction that paused.
    fn release(&mut self, action: crate::action::Action) {
        let _ = action;
    }
    /// What an async hook of the stream awaits may be ready (its time came, its queue has
    /// items): poll them.
    fn wake(&mut self) {}
    /// The hooks that can do anything on this stream (`__private::hooks` bits; `on_done`'s
    /// bit also stands for callout bookkeeping): a host may skip the others without
    /// entering the context, since they would only answer `Continue`. Read once per
    /// stream, right after it is made.
    #[cfg_attr(any(target_family = "wasm", feature = "testing"), allow(dead_code))]
    fn active_hooks(&self) -> u32 {
        crate::__private::hooks::ALL
    }
}

/// A TCP connection's context (proxy-wasm calls it a stream).
pub(crate) trait StreamContext: Context {
    /// The connection was accepted.
    fn on_new_connection(&mut self) -> HostAction;
    /// Bytes arrived from the client.
    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction;
    /// Bytes arrived from the upstream.
    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> HostAction;
    /// The client side closed.
    fn on_downstream_close(&mut self, peer: PeerType);
    /// The upstream side closed.
    fn on_upstream_close(&mut self, peer: PeerType);
    /// The connection is complete (access-log time).
    fn on_log(&mut self) {}
}

/// Makes the root context of a new plugin.
pub(crate) type NewRoot = fn() -> Box<dyn RootContext>;

/// A context, shared by the table and the call running it (one allocation per context).
pub(crate) type Shared<T> = Rc<RefCell<T>>;
