//! The proxy-wasm ABI 0.2.1 host functions, declared here rather than through
//! `proxy_wasm::hostcalls`: those wrappers `panic!` on any status they do not expect and
//! `unwrap` UTF-8 conversions of host bytes, and one panic traps the whole VM.

use std::ptr::{null, null_mut};

use super::{
    decode_map, encode_map, metadata_path, tagged_name, BufferType, HostError, LogLevel, MapType,
    Pairs, StreamType, EMPTY, NOT_FOUND, OK, PARSE_FAILURE,
};
use crate::property::{MetadataSource, Struct};

mod ffi {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub(super) fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
        pub(super) fn proxy_get_log_level(return_level: *mut u32) -> u32;
        pub(super) fn proxy_get_buffer_bytes(
            buffer_type: u32,
            start: usize,
            max_size: usize,
            return_buffer_data: *mut *mut u8,
            return_buffer_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_get_header_map_pairs(
            map_type: u32,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub(super) fn proxy_add_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub(super) fn proxy_remove_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
        ) -> u32;
        pub(super) fn proxy_send_local_response(
            status_code: u32,
            status_code_details_data: *const u8,
            status_code_details_size: usize,
            body_data: *const u8,
            body_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        pub(super) fn proxy_get_property(
            path_data: *const u8,
            path_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_set_property(
            path_data: *const u8,
            path_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub(super) fn proxy_set_buffer_bytes(
            buffer_type: u32,
            start: usize,
            size: usize,
            buffer_data: *const u8,
            buffer_size: usize,
        ) -> u32;
        pub(super) fn proxy_set_header_map_pairs(
            map_type: u32,
            map_data: *const u8,
            map_size: usize,
        ) -> u32;
        pub(super) fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
        pub(super) fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
        pub(super) fn proxy_get_shared_data(
            key_data: *const u8,
            key_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
            return_cas: *mut u32,
        ) -> u32;
        pub(super) fn proxy_set_shared_data(
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
            cas: u32,
        ) -> u32;
        pub(super) fn proxy_register_shared_queue(
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub(super) fn proxy_resolve_shared_queue(
            vm_id_data: *const u8,
            vm_id_size: usize,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub(super) fn proxy_dequeue_shared_queue(
            queue_id: u32,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_enqueue_shared_queue(
            queue_id: u32,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub(super) fn proxy_continue_stream(stream_type: u32) -> u32;
        pub(super) fn proxy_close_stream(stream_type: u32) -> u32;
        pub(super) fn proxy_define_metric(
            metric_type: u32,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub(super) fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32;
        pub(super) fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
        pub(super) fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
        pub(super) fn proxy_call_foreign_function(
            function_name_data: *const u8,
            function_name_size: usize,
            arguments_data: *const u8,
            arguments_size: usize,
            results_data: *mut *mut u8,
            results_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_get_status(
            return_code: *mut u32,
            return_message_data: *mut *mut u8,
            return_message_size: *mut usize,
        ) -> u32;
        pub(super) fn proxy_grpc_send(
            token: u32,
            message_data: *const u8,
            message_size: usize,
            end_stream: bool,
        ) -> u32;
        pub(super) fn proxy_grpc_close(token: u32) -> u32;
        pub(super) fn proxy_set_effective_context(context_id: u32) -> u32;
        pub(super) fn proxy_http_call(
            upstream_data: *const u8,
            upstream_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            body_data: *const u8,
            body_size: usize,
            trailers_data: *const u8,
            trailers_size: usize,
            timeout_millis: u32,
            return_token: *mut u32,
        ) -> u32;
        pub(super) fn proxy_grpc_call(
            upstream_data: *const u8,
            upstream_size: usize,
            service_data: *const u8,
            service_size: usize,
            method_data: *const u8,
            method_size: usize,
            metadata_data: *const u8,
            metadata_size: usize,
            message_data: *const u8,
            message_size: usize,
            timeout_millis: u32,
            return_token: *mut u32,
        ) -> u32;
        pub(super) fn proxy_grpc_stream(
            upstream_data: *const u8,
            upstream_size: usize,
            service_data: *const u8,
            service_size: usize,
            method_data: *const u8,
            method_size: usize,
            metadata_data: *const u8,
            metadata_size: usize,
            return_token: *mut u32,
        ) -> u32;
        pub(super) fn proxy_grpc_cancel(token: u32) -> u32;
    }
}

/// Takes ownership of a buffer the host allocated through `proxy_on_memory_allocate`
/// (which proxy-wasm implements with a `Vec<u8>` of exactly that capacity).
///
/// # Safety
/// `data` must be null or come from `proxy_on_memory_allocate(size)`.
unsafe fn take_host_buffer(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        // SAFETY: the caller guarantees `data` was allocated as a `Vec<u8>` of capacity `size`.
        Some(unsafe { Vec::from_raw_parts(data, size, size) })
    }
}

fn check(call: &'static str, status: u32) -> Result<(), HostError> {
    if status == OK {
        Ok(())
    } else {
        Err(HostError::new(call, status))
    }
}

/// Sends a message to the host's log.
pub(crate) fn log(level: LogLevel, message: &str) -> Result<(), HostError> {
    // SAFETY: pointer and length describe a live `str`.
    let status = unsafe { ffi::proxy_log(level as u32, message.as_ptr(), message.len()) };
    check("proxy_log", status)
}

/// The host's current log level for this plugin.
pub(crate) fn log_level() -> Result<LogLevel, HostError> {
    let mut level = 0u32;
    // SAFETY: `level` is a valid out-pointer.
    let status = unsafe { ffi::proxy_get_log_level(&mut level) };
    check("proxy_get_log_level", status)?;
    Ok(match level {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        4 => LogLevel::Error,
        _ => LogLevel::Critical,
    })
}

/// Reads `max_size` bytes from `start` of a host buffer; `None` when it is absent or empty.
pub(crate) fn get_buffer(
    buffer: BufferType,
    start: usize,
    max_size: usize,
) -> Result<Option<Vec<u8>>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: out-pointers are valid; the host allocates the returned buffer through us.
    let status = unsafe {
        ffi::proxy_get_buffer_bytes(buffer as u32, start, max_size, &mut data, &mut size)
    };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(unsafe { take_host_buffer(data, size) }),
        NOT_FOUND | EMPTY => Ok(None),
        other => Err(HostError::new("proxy_get_buffer_bytes", other)),
    }
}

/// All pairs of a header map, names and values as raw bytes.
pub(crate) fn get_map_pairs(map: MapType) -> Result<Pairs, HostError> {
    let bytes = get_map_bytes(map)?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    decode_map(&bytes).ok_or(HostError::new(
        "proxy_get_header_map_pairs",
        3, // SerializationFailure: the host sent a map we cannot decode
    ))
}

/// A header map as the host serialized it (empty when there is none); read it with
/// [`walk_map`] or [`decode_map`].
pub(crate) fn get_map_bytes(map: MapType) -> Result<Vec<u8>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: out-pointers are valid.
    let status = unsafe { ffi::proxy_get_header_map_pairs(map as u32, &mut data, &mut size) };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(unsafe { take_host_buffer(data, size) }.unwrap_or_default()),
        NOT_FOUND | EMPTY => Ok(Vec::new()),
        other => Err(HostError::new("proxy_get_header_map_pairs", other)),
    }
}

/// One header value as raw bytes; `None` when the header is absent.
pub(crate) fn get_map_value(map: MapType, name: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: pointer and length describe a live slice; out-pointers are valid.
    let status = unsafe {
        ffi::proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size)
    };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(Some(
            unsafe { take_host_buffer(data, size) }.unwrap_or_default(),
        )),
        NOT_FOUND => Ok(None),
        other => Err(HostError::new("proxy_get_header_map_value", other)),
    }
}

/// Sets a header, replacing every existing value of that name.
pub(crate) fn replace_map_value(map: MapType, name: &[u8], value: &[u8]) -> Result<(), HostError> {
    // SAFETY: pointers and lengths describe live slices.
    let status = unsafe {
        ffi::proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    check("proxy_replace_header_map_value", status)
}

/// Appends a header value, keeping existing values of that name.
pub(crate) fn add_map_value(map: MapType, name: &[u8], value: &[u8]) -> Result<(), HostError> {
    // SAFETY: pointers and lengths describe live slices.
    let status = unsafe {
        ffi::proxy_add_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    check("proxy_add_header_map_value", status)
}

/// Removes every value of a header.
pub(crate) fn remove_map_value(map: MapType, name: &[u8]) -> Result<(), HostError> {
    // SAFETY: pointer and length describe a live slice.
    let status =
        unsafe { ffi::proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) };
    match status {
        OK | NOT_FOUND => Ok(()),
        other => Err(HostError::new("proxy_remove_header_map_value", other)),
    }
}

/// Sends a local reply; the stream must then be paused (the host answers in its place).
pub(crate) fn send_local_response(
    status_code: u32,
    details: impl AsRef<[u8]>,
    body: &[u8],
    headers: &[(String, Vec<u8>)],
    grpc_status: i32,
) -> Result<(), HostError> {
    let headers = encode_map(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_slice())));
    let details = details.as_ref();
    let body_ptr = if body.is_empty() {
        null()
    } else {
        body.as_ptr()
    };
    // SAFETY: pointers and lengths describe live slices.
    let status = unsafe {
        ffi::proxy_send_local_response(
            status_code,
            details.as_ptr(),
            details.len(),
            body_ptr,
            body.len(),
            headers.as_ptr(),
            headers.len(),
            grpc_status,
        )
    };
    check("proxy_send_local_response", status)
}

/// Reads a property by path (e.g. `["request", "path"]`); `None` when absent.
pub(crate) fn get_property(path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
    let encoded = encode_path(path);
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: pointer and length describe a live slice; out-pointers are valid.
    let status =
        unsafe { ffi::proxy_get_property(encoded.as_ptr(), encoded.len(), &mut data, &mut size) };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(Some(
            unsafe { take_host_buffer(data, size) }.unwrap_or_default(),
        )),
        NOT_FOUND => Ok(None),
        other => Err(HostError::new("proxy_get_property", other)),
    }
}

/// The `source` metadata as the host serialized it; `None` when absent.
fn metadata_bytes(source: MetadataSource) -> Result<Option<Vec<u8>>, HostError> {
    get_property(metadata_path(source))
}

/// A metadata property that does not decode.
const MALFORMED_METADATA: HostError = HostError::new("proxy_get_property", PARSE_FAILURE);

/// Namespace `namespace` of the `source` metadata; `None` when absent.
pub(crate) fn get_metadata(
    source: MetadataSource,
    namespace: &str,
) -> Result<Option<Struct>, HostError> {
    let Some(bytes) = metadata_bytes(source)? else {
        return Ok(None);
    };
    crate::proto::metadata_namespace(&bytes, namespace).ok_or(MALFORMED_METADATA)
}

/// The namespaces of the `source` metadata.
pub(crate) fn get_metadata_namespaces(source: MetadataSource) -> Result<Vec<String>, HostError> {
    let Some(bytes) = metadata_bytes(source)? else {
        return Ok(Vec::new());
    };
    let namespaces = crate::proto::metadata_namespaces(&bytes).ok_or(MALFORMED_METADATA)?;
    Ok(namespaces.into_iter().map(|(name, _)| name).collect())
}

/// Replaces `size` bytes at `start` of a host buffer (a body chunk, connection data) with `data`.
pub(crate) fn set_buffer(
    buffer: BufferType,
    start: usize,
    size: usize,
    data: &[u8],
) -> Result<(), HostError> {
    // SAFETY: pointer and length describe a live slice.
    let status = unsafe {
        ffi::proxy_set_buffer_bytes(buffer as u32, start, size, data.as_ptr(), data.len())
    };
    check("proxy_set_buffer_bytes", status)
}

/// Replaces a whole header map.
pub(crate) fn set_map_pairs(map: MapType, pairs: &[(&[u8], &[u8])]) -> Result<(), HostError> {
    let encoded = encode_map(pairs.iter().copied());
    // SAFETY: pointer and length describe a live slice.
    let status =
        unsafe { ffi::proxy_set_header_map_pairs(map as u32, encoded.as_ptr(), encoded.len()) };
    check("proxy_set_header_map_pairs", status)
}

/// Sets a property by path.
pub(crate) fn set_property(path: &[&str], value: &[u8]) -> Result<(), HostError> {
    let encoded = encode_path(path);
    // SAFETY: pointers and lengths describe live slices.
    let status = unsafe {
        ffi::proxy_set_property(encoded.as_ptr(), encoded.len(), value.as_ptr(), value.len())
    };
    check("proxy_set_property", status)
}

fn encode_path(path: &[&str]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for segment in path {
        encoded.extend_from_slice(segment.as_bytes());
        encoded.push(0);
    }
    encoded.pop();
    encoded
}

/// The host's clock, in nanoseconds since the Unix epoch.
pub(crate) fn current_time_nanos() -> Result<u64, HostError> {
    let mut nanos = 0u64;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_current_time_nanoseconds(&mut nanos) };
    check("proxy_get_current_time_nanoseconds", status)?;
    Ok(nanos)
}

/// Sets the period of `on_tick` for the current root context (0 stops it).
pub(crate) fn set_tick_period_millis(millis: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_set_tick_period_milliseconds(millis) };
    check("proxy_set_tick_period_milliseconds", status)
}

/// Reads shared data: value and CAS token; `None` when the key is absent.
pub(crate) fn get_shared_data(key: &str) -> Result<Option<(Vec<u8>, u32)>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    let mut cas = 0u32;
    // SAFETY: pointer and length describe a live `str`; out-pointers are valid.
    let status = unsafe {
        ffi::proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas)
    };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(Some((
            unsafe { take_host_buffer(data, size) }.unwrap_or_default(),
            cas,
        ))),
        NOT_FOUND => Ok(None),
        other => Err(HostError::new("proxy_get_shared_data", other)),
    }
}

/// Writes shared data; with `cas` != 0 only if the entry's CAS token still matches.
pub(crate) fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), HostError> {
    // SAFETY: pointers and lengths describe live slices.
    let status = unsafe {
        ffi::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    };
    check("proxy_set_shared_data", status)
}

/// Registers a shared queue owned by this VM.
pub(crate) fn register_shared_queue(name: &str) -> Result<u32, HostError> {
    let mut id = 0u32;
    // SAFETY: pointer and length describe a live `str`; valid out-pointer.
    let status = unsafe { ffi::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) };
    check("proxy_register_shared_queue", status)?;
    Ok(id)
}

/// Finds a queue registered by the VM `vm_id`; `None` when there is none.
pub(crate) fn resolve_shared_queue(vm_id: &str, name: &str) -> Result<Option<u32>, HostError> {
    let mut id = 0u32;
    // SAFETY: pointers and lengths describe live strs; valid out-pointer.
    let status = unsafe {
        ffi::proxy_resolve_shared_queue(
            vm_id.as_ptr(),
            vm_id.len(),
            name.as_ptr(),
            name.len(),
            &mut id,
        )
    };
    match status {
        OK => Ok(Some(id)),
        NOT_FOUND => Ok(None),
        other => Err(HostError::new("proxy_resolve_shared_queue", other)),
    }
}

/// Takes the oldest item of a queue; `None` when it is empty.
pub(crate) fn dequeue_shared_queue(queue: u32) -> Result<Option<Vec<u8>>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: valid out-pointers.
    let status = unsafe { ffi::proxy_dequeue_shared_queue(queue, &mut data, &mut size) };
    match status {
        // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
        OK => Ok(Some(
            unsafe { take_host_buffer(data, size) }.unwrap_or_default(),
        )),
        EMPTY => Ok(None),
        other => Err(HostError::new("proxy_dequeue_shared_queue", other)),
    }
}

/// Appends an item to a queue.
pub(crate) fn enqueue_shared_queue(queue: u32, value: &[u8]) -> Result<(), HostError> {
    // SAFETY: pointer and length describe a live slice.
    let status = unsafe { ffi::proxy_enqueue_shared_queue(queue, value.as_ptr(), value.len()) };
    check("proxy_enqueue_shared_queue", status)
}

/// Resumes a paused stream.
pub(crate) fn continue_stream(stream: StreamType) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_continue_stream(stream as u32) };
    check("proxy_continue_stream", status)
}

/// Closes a stream (for TCP: the connection; for HTTP: resets it).
pub(crate) fn close_stream(stream: StreamType) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_close_stream(stream as u32) };
    check("proxy_close_stream", status)
}

/// Defines a metric (0 counter, 1 gauge, 2 histogram) and returns its id. Tags become
/// part of the name (proxy-wasm metrics have no labels).
pub(crate) fn define_metric(
    kind: u32,
    name: &str,
    tags: &[(&str, &str)],
) -> Result<u32, HostError> {
    let tagged;
    let name = if tags.is_empty() {
        name
    } else {
        tagged = tagged_name(name, tags);
        &tagged
    };
    let mut id = 0u32;
    // SAFETY: pointer and length describe a live `str`; valid out-pointer.
    let status = unsafe { ffi::proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) };
    check("proxy_define_metric", status)?;
    Ok(id)
}

/// Declares a metric family ahead of its tag values: nothing to do here, a proxy-wasm
/// host defines a metric whenever it is first used (the native host needs it).
pub(crate) fn declare_metric(kind: u32, name: &str, tag_names: &[&str]) -> Result<(), HostError> {
    let _ = (kind, name, tag_names);
    Ok(())
}

/// Reads a metric's current value.
pub(crate) fn get_metric(id: u32) -> Result<u64, HostError> {
    let mut value = 0u64;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_metric(id, &mut value) };
    check("proxy_get_metric", status)?;
    Ok(value)
}

/// Sets a gauge or records a histogram value.
pub(crate) fn record_metric(id: u32, value: u64) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_record_metric(id, value) };
    check("proxy_record_metric", status)
}

/// Adds to a counter or gauge.
pub(crate) fn increment_metric(id: u32, offset: i64) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_increment_metric(id, offset) };
    check("proxy_increment_metric", status)
}

/// Calls a function the host registered by name; returns its result bytes.
pub(crate) fn call_foreign_function(name: &str, args: &[u8]) -> Result<Vec<u8>, HostError> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: pointers and lengths describe live slices; valid out-pointers.
    let status = unsafe {
        ffi::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            &mut data,
            &mut size,
        )
    };
    check("proxy_call_foreign_function", status)?;
    // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
    Ok(unsafe { take_host_buffer(data, size) }.unwrap_or_default())
}

/// The status of the last gRPC callback: code and message.
pub(crate) fn get_status() -> Result<(u32, Vec<u8>), HostError> {
    let mut code = 0u32;
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: valid out-pointers.
    let status = unsafe { ffi::proxy_get_status(&mut code, &mut data, &mut size) };
    check("proxy_get_status", status)?;
    // SAFETY: on success the buffer comes from `proxy_on_memory_allocate(size)`.
    Ok((
        code,
        unsafe { take_host_buffer(data, size) }.unwrap_or_default(),
    ))
}

/// Sends a message on a gRPC stream; `end_stream` half-closes it after the message.
pub(crate) fn grpc_send(token: u32, message: &[u8], end_stream: bool) -> Result<(), HostError> {
    // SAFETY: pointer and length describe a live slice.
    let status =
        unsafe { ffi::proxy_grpc_send(token, message.as_ptr(), message.len(), end_stream) };
    check("proxy_grpc_send", status)
}

/// Half-closes a gRPC stream (no more messages from this side); cancels a gRPC call.
pub(crate) fn grpc_close(token: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_grpc_close(token) };
    check("proxy_grpc_close", status)
}

/// Resets a gRPC stream or cancels a gRPC call: no callback for it runs afterwards.
pub(crate) fn grpc_cancel(token: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_grpc_cancel(token) };
    check("proxy_grpc_cancel", status)
}

/// Makes `context` the one the following host calls act on (before a callout's answer
/// runs: Envoy delivers it on the plugin's context).
pub(crate) fn set_effective_context(context: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    let status = unsafe { ffi::proxy_set_effective_context(context) };
    check("proxy_set_effective_context", status)
}

/// A timeout in whole milliseconds, as the host takes it (saturating).
fn millis(timeout: std::time::Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

/// Sends an HTTP callout to `cluster`; `headers` is in the map format ([`encode_map`]).
/// Returns its token, registered with the dispatcher so that the answer reaches the
/// stream that made the call.
pub(crate) fn http_call(
    cluster: &str,
    headers: &[u8],
    body: &[u8],
    timeout: std::time::Duration,
) -> Result<u32, HostError> {
    let trailers = encode_map(std::iter::empty());
    let mut token = 0;
    // SAFETY: pointers and lengths describe live slices; `token` is a valid out-pointer.
    let status = unsafe {
        ffi::proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            trailers.as_ptr(),
            trailers.len(),
            millis(timeout),
            &mut token,
        )
    };
    check("proxy_http_call", status)?;
    crate::dispatch::register_http_call(token);
    Ok(token)
}

/// Sends a unary gRPC call; `metadata` is in the map format. Returns its token.
pub(crate) fn grpc_call(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[u8],
    message: &[u8],
    timeout: std::time::Duration,
) -> Result<u32, HostError> {
    let mut token = 0;
    // SAFETY: pointers and lengths describe live slices; `token` is a valid out-pointer.
    let status = unsafe {
        ffi::proxy_grpc_call(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            message.as_ptr(),
            message.len(),
            millis(timeout),
            &mut token,
        )
    };
    check("proxy_grpc_call", status)?;
    crate::dispatch::register_grpc_call(token);
    Ok(token)
}

/// Opens a gRPC stream; `metadata` is in the map format. Returns its token.
pub(crate) fn grpc_stream(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[u8],
) -> Result<u32, HostError> {
    let mut token = 0;
    // SAFETY: pointers and lengths describe live slices; `token` is a valid out-pointer.
    let status = unsafe {
        ffi::proxy_grpc_stream(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            &mut token,
        )
    };
    check("proxy_grpc_stream", status)?;
    crate::dispatch::register_grpc_stream(token);
    Ok(token)
}
