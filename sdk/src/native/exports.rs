//! The `envoy_dynamic_module_on_{http,network}_filter_*` hooks Envoy resolves in a
//! module: all 20 it requires of an HTTP filter module and the 8 of a network filter
//! module, each forwarding to the runtime through [`super`] (which catches panics). `envoy_dynamic_module_on_program_init` is written by
//! `proxylet::main!` in the user's crate, which knows the module's filters.

// `pub` so that the linker exports them from the `cdylib` (Envoy looks them up by name).
#![allow(unreachable_pub)]

use std::ffi::c_void;

use super::abi::{
    envoy_dynamic_module_type_envoy_buffer as EnvoyBuffer,
    envoy_dynamic_module_type_envoy_http_header as EnvoyHeader,
};
use super::{
    callout_done, config_destroy, config_new, config_scheduled, filter_destroy, filter_new,
    scheduled,
};
use super::{hook, network, skips, status, Callout};
use crate::__private::hooks;

/// # Safety
/// Called by Envoy with valid buffers.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    config_envoy: *mut c_void,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    // SAFETY: forwarded from Envoy.
    unsafe { config_new(config_envoy, name, config, false) }
}

/// # Safety
/// Called by Envoy with a configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *const c_void) {
    // SAFETY: forwarded from Envoy.
    unsafe { config_destroy(config) }
}

/// # Safety
/// Called by Envoy with a live configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *const c_void,
    filter: *mut c_void,
) -> *const c_void {
    // SAFETY: forwarded from Envoy.
    unsafe { filter_new(config, filter) }
}

/// # Safety
/// Called by Envoy with a stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(stream: *const c_void) {
    // SAFETY: forwarded from Envoy.
    unsafe { filter_destroy(stream) }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter: *mut c_void,
    stream: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::REQUEST_HEADERS) } {
        return 0;
    }
    // SAFETY: forwarded from Envoy.
    unsafe {
        hook(filter, stream, 0, 1, |c| {
            status(c.on_http_request_headers(0, end_of_stream))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    filter: *mut c_void,
    stream: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::REQUEST_BODY) } {
        return 0;
    }
    // What Envoy buffered and the chunk that arrived.
    let size = crate::host::body_len(filter, true);
    // SAFETY: forwarded from Envoy. A pause buffers (`StopIterationAndBuffer`, 1).
    unsafe {
        hook(filter, stream, 0, 3, |c| {
            status(c.on_http_request_body(size, end_of_stream))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    filter: *mut c_void,
    stream: *const c_void,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::REQUEST_TRAILERS) } {
        return 0;
    }
    // SAFETY: forwarded from Envoy.
    unsafe {
        hook(filter, stream, 0, 1, |c| {
            status(c.on_http_request_trailers(0))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter: *mut c_void,
    stream: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::RESPONSE_HEADERS) } {
        return 0;
    }
    // SAFETY: forwarded from Envoy.
    unsafe {
        hook(filter, stream, 0, 1, |c| {
            status(c.on_http_response_headers(0, end_of_stream))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    filter: *mut c_void,
    stream: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::RESPONSE_BODY) } {
        return 0;
    }
    let size = crate::host::body_len(filter, false);
    // SAFETY: forwarded from Envoy.
    unsafe {
        hook(filter, stream, 0, 3, |c| {
            status(c.on_http_response_body(size, end_of_stream))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    filter: *mut c_void,
    stream: *const c_void,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    if unsafe { skips(stream, hooks::RESPONSE_TRAILERS) } {
        return 0;
    }
    // SAFETY: forwarded from Envoy.
    unsafe {
        hook(filter, stream, 0, 1, |c| {
            status(c.on_http_response_trailers(0))
        })
    }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    filter: *mut c_void,
    stream: *const c_void,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { super::stream_complete(filter, stream) }
}

/// # Safety
/// Called by Envoy with a live stream from `filter_new` and the callout's answer.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    filter: *mut c_void,
    stream: *const c_void,
    callout_id: u64,
    result: u32,
    headers: *mut EnvoyHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    let answer = Callout {
        headers,
        headers_len: if headers.is_null() { 0 } else { headers_size },
        body: body_chunks,
        body_len: if body_chunks.is_null() {
            0
        } else {
            body_chunks_size
        },
    };
    // SAFETY: forwarded from Envoy; the answer's buffers live for this call.
    unsafe { callout_done(filter, stream, callout_id, result == 0, &answer) }
}

/// Envoy's streamed callouts: proxylet starts none, so none answers.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _filter: *mut c_void,
    _stream: *const c_void,
    _stream_id: u64,
    _headers: *mut EnvoyHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

/// Envoy's streamed callouts: proxylet starts none.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _filter: *mut c_void,
    _stream: *const c_void,
    _stream_id: u64,
    _data: *const EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

/// Envoy's streamed callouts: proxylet starts none.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _filter: *mut c_void,
    _stream: *const c_void,
    _stream_id: u64,
    _trailers: *mut EnvoyHeader,
    _trailers_size: usize,
) {
}

/// Envoy's streamed callouts: proxylet starts none.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _filter: *mut c_void,
    _stream: *const c_void,
    _stream_id: u64,
) {
}

/// Envoy's streamed callouts: proxylet starts none.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _filter: *mut c_void,
    _stream: *const c_void,
    _stream_id: u64,
    _reason: u32,
) {
}

/// A deadline of an async hook came (`native::timers`).
///
/// # Safety
/// Called by Envoy with a live stream from `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    filter: *mut c_void,
    stream: *const c_void,
    _event_id: u64,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { scheduled(filter, stream) }
}

/// A tick (`native::ticks`), on Envoy's main thread.
///
/// # Safety
/// Called by Envoy with a live configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_scheduled(
    _config_envoy: *mut c_void,
    config: *const c_void,
    _event_id: u64,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { config_scheduled(config) }
}

/// Flow control of the client's connection: nothing to do for proxylet's filters.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _filter: *mut c_void,
    _stream: *const c_void,
) {
}

/// Flow control of the client's connection: nothing to do for proxylet's filters.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _filter: *mut c_void,
    _stream: *const c_void,
) {
}

// The signatures, checked against the ABI's.
const _: super::abi::envoy_dynamic_module_on_http_filter_config_new =
    envoy_dynamic_module_on_http_filter_config_new;
const _: super::abi::envoy_dynamic_module_on_http_filter_config_destroy =
    envoy_dynamic_module_on_http_filter_config_destroy;
const _: super::abi::envoy_dynamic_module_on_http_filter_new =
    envoy_dynamic_module_on_http_filter_new;
const _: super::abi::envoy_dynamic_module_on_http_filter_destroy =
    envoy_dynamic_module_on_http_filter_destroy;
const _: super::abi::envoy_dynamic_module_on_http_filter_request_headers =
    envoy_dynamic_module_on_http_filter_request_headers;
const _: super::abi::envoy_dynamic_module_on_http_filter_request_body =
    envoy_dynamic_module_on_http_filter_request_body;
const _: super::abi::envoy_dynamic_module_on_http_filter_request_trailers =
    envoy_dynamic_module_on_http_filter_request_trailers;
const _: super::abi::envoy_dynamic_module_on_http_filter_response_headers =
    envoy_dynamic_module_on_http_filter_response_headers;
const _: super::abi::envoy_dynamic_module_on_http_filter_response_body =
    envoy_dynamic_module_on_http_filter_response_body;
const _: super::abi::envoy_dynamic_module_on_http_filter_response_trailers =
    envoy_dynamic_module_on_http_filter_response_trailers;
const _: super::abi::envoy_dynamic_module_on_http_filter_stream_complete =
    envoy_dynamic_module_on_http_filter_stream_complete;
const _: super::abi::envoy_dynamic_module_on_http_filter_http_callout_done =
    envoy_dynamic_module_on_http_filter_http_callout_done;
const _: super::abi::envoy_dynamic_module_on_http_filter_config_scheduled =
    envoy_dynamic_module_on_http_filter_config_scheduled;

// ---- network (TCP) filters: `envoy.filters.network.dynamic_modules` -----------------

/// # Safety
/// Called by Envoy with valid buffers.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_config_new(
    config_envoy: *mut c_void,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    // SAFETY: forwarded from Envoy.
    unsafe { config_new(config_envoy, name, config, true) }
}

/// # Safety
/// Called by Envoy with a configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_config_destroy(
    config: *const c_void,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { config_destroy(config) }
}

/// # Safety
/// Called by Envoy with a live configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_new(
    config: *const c_void,
    filter: *mut c_void,
) -> *const c_void {
    // SAFETY: forwarded from Envoy.
    unsafe { network::filter_new(config, filter) }
}

/// # Safety
/// Called by Envoy with a live connection from `network_filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_new_connection(
    filter: *mut c_void,
    connection: *const c_void,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    unsafe {
        network::hook(filter, connection, 0, 1, |c| {
            network::status(c.on_new_connection())
        })
    }
}

/// # Safety
/// Called by Envoy with a live connection from `network_filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_read(
    filter: *mut c_void,
    connection: *const c_void,
    data_length: usize,
    end_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    unsafe {
        network::hook(filter, connection, 0, 1, |c| {
            network::status(c.on_downstream_data(data_length, end_stream))
        })
    }
}

/// # Safety
/// Called by Envoy with a live connection from `network_filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_write(
    filter: *mut c_void,
    connection: *const c_void,
    data_length: usize,
    end_stream: bool,
) -> u32 {
    // SAFETY: forwarded from Envoy.
    unsafe { network::write(filter, connection, data_length, end_stream) }
}

/// # Safety
/// Called by Envoy with a live connection from `network_filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_event(
    filter: *mut c_void,
    connection: *const c_void,
    event: u32,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { network::event(filter, connection, event) }
}

/// # Safety
/// Called by Envoy with a connection from `network_filter_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_destroy(connection: *const c_void) {
    // SAFETY: forwarded from Envoy.
    unsafe { network::filter_destroy(connection) }
}

/// A tick (`native::ticks`) of a network filter's configuration, on Envoy's main thread.
///
/// # Safety
/// Called by Envoy with a live configuration from `config_new`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_network_filter_config_scheduled(
    config: *const c_void,
    _event_id: u64,
) {
    // SAFETY: forwarded from Envoy.
    unsafe { config_scheduled(config) }
}

const _: super::abi::envoy_dynamic_module_on_network_filter_config_new =
    envoy_dynamic_module_on_network_filter_config_new;
const _: super::abi::envoy_dynamic_module_on_network_filter_new =
    envoy_dynamic_module_on_network_filter_new;
const _: super::abi::envoy_dynamic_module_on_network_filter_new_connection =
    envoy_dynamic_module_on_network_filter_new_connection;
const _: super::abi::envoy_dynamic_module_on_network_filter_read =
    envoy_dynamic_module_on_network_filter_read;
const _: super::abi::envoy_dynamic_module_on_network_filter_write =
    envoy_dynamic_module_on_network_filter_write;
const _: super::abi::envoy_dynamic_module_on_network_filter_event =
    envoy_dynamic_module_on_network_filter_event;
const _: super::abi::envoy_dynamic_module_on_network_filter_destroy =
    envoy_dynamic_module_on_network_filter_destroy;
const _: super::abi::envoy_dynamic_module_on_network_filter_config_scheduled =
    envoy_dynamic_module_on_network_filter_config_scheduled;
