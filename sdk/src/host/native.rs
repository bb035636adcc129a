//! The host interface on Envoy's dynamic modules ABI (the native target): the same calls
//! as the proxy-wasm host, made with the `envoy_dynamic_module_callback_*` functions on
//! the stream or configuration whose hook is running (`native::scope`).
//!
//! What the ABI has no counterpart for answers `Unimplemented` (status 12): gRPC calls and
//! streams, shared queues, ticks, foreign functions (but `clear_route_cache`), writing
//! properties and reading a metric's value. Shared data is the process's memory, with
//! proxy-wasm's compare-and-swap.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr::null;
use std::sync::Mutex;

use super::{
    decode_map, encode_map, BufferType, HostError, LogLevel, MapType, Pairs, StreamType,
    CAS_MISMATCH,
};
use crate::native::abi::{
    self, envoy_dynamic_module_type_envoy_buffer as EnvoyBuffer,
    envoy_dynamic_module_type_envoy_http_header as EnvoyHeader,
    envoy_dynamic_module_type_module_buffer as ModuleBuffer,
    envoy_dynamic_module_type_module_http_header as ModuleHeader,
};
use crate::native::{envoy_bytes, scope, Callout, Metric};
use crate::property::{MetadataSource, Struct, Value};

const NOT_FOUND: u32 = 1;
const BAD_ARGUMENT: u32 = 2;
const INTERNAL_FAILURE: u32 = 10;
const UNIMPLEMENTED: u32 = 12;

fn unimplemented(call: &'static str) -> HostError {
    HostError::new(call, UNIMPLEMENTED)
}

fn buffer(bytes: &[u8]) -> ModuleBuffer {
    ModuleBuffer {
        ptr: bytes.as_ptr().cast(),
        length: bytes.len(),
    }
}

fn header(name: &[u8], value: &[u8]) -> ModuleHeader {
    ModuleHeader {
        key_ptr: name.as_ptr().cast(),
        key_length: name.len(),
        value_ptr: value.as_ptr().cast(),
        value_length: value.len(),
    }
}

/// Envoy's handle of the stream whose hook runs (`call` names the host call refused
/// outside one).
fn stream(call: &'static str) -> Result<*mut c_void, HostError> {
    let filter = scope().filter;
    if filter.is_null() {
        Err(HostError::new(call, BAD_ARGUMENT))
    } else {
        Ok(filter)
    }
}

/// Envoy's handle of the connection whose hook runs (a network filter's).
fn connection(call: &'static str) -> Result<*mut c_void, HostError> {
    let scope = scope();
    if scope.network && !scope.filter.is_null() {
        Ok(scope.filter)
    } else {
        Err(HostError::new(call, BAD_ARGUMENT))
    }
}

/// The bytes of a connection's read buffer (from the client: `read`) or write buffer
/// (from the upstream), copied.
fn connection_bytes(filter: *mut c_void, read: bool) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: `filter` is the live connection's handle; the vector has room for the
    // number of chunks Envoy reports, which live until the hook returns.
    unsafe {
        let count = if read {
            abi::envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks_size(filter)
        } else {
            abi::envoy_dynamic_module_callback_network_filter_get_write_buffer_chunks_size(filter)
        };
        if count == 0 {
            return out;
        }
        let mut chunks = vec![
            EnvoyBuffer {
                ptr: null(),
                length: 0
            };
            count
        ];
        let got = if read {
            abi::envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks(
                filter,
                chunks.as_mut_ptr(),
            )
        } else {
            abi::envoy_dynamic_module_callback_network_filter_get_write_buffer_chunks(
                filter,
                chunks.as_mut_ptr(),
            )
        };
        if got {
            for chunk in chunks {
                out.extend_from_slice(envoy_bytes(chunk));
            }
        }
    }
    out
}

/// Replaces a connection buffer's bytes with `data`.
fn replace_connection_bytes(filter: *mut c_void, read: bool, data: &[u8]) -> Result<(), HostError> {
    // SAFETY: `filter` is the live connection's handle; Envoy copies the bytes.
    let done = unsafe {
        if read {
            let size =
                abi::envoy_dynamic_module_callback_network_filter_get_read_buffer_size(filter);
            abi::envoy_dynamic_module_callback_network_filter_drain_read_buffer(filter, size)
                && (data.is_empty()
                    || abi::envoy_dynamic_module_callback_network_filter_append_read_buffer(
                        filter,
                        buffer(data),
                    ))
        } else {
            let size =
                abi::envoy_dynamic_module_callback_network_filter_get_write_buffer_size(filter);
            abi::envoy_dynamic_module_callback_network_filter_drain_write_buffer(filter, size)
                && (data.is_empty()
                    || abi::envoy_dynamic_module_callback_network_filter_append_write_buffer(
                        filter,
                        buffer(data),
                    ))
        }
    };
    if done {
        Ok(())
    } else {
        Err(HostError::new("replace_connection_bytes", INTERNAL_FAILURE))
    }
}

/// The header map type of `map` (`None`: not one of the stream's).
fn header_type(map: MapType) -> Option<u32> {
    match map {
        MapType::RequestHeaders => {
            Some(abi::envoy_dynamic_module_type_http_header_type_RequestHeader)
        }
        MapType::RequestTrailers => {
            Some(abi::envoy_dynamic_module_type_http_header_type_RequestTrailer)
        }
        MapType::ResponseHeaders => {
            Some(abi::envoy_dynamic_module_type_http_header_type_ResponseHeader)
        }
        MapType::ResponseTrailers => {
            Some(abi::envoy_dynamic_module_type_http_header_type_ResponseTrailer)
        }
        _ => None,
    }
}

/// Sends a message to Envoy's log (logger `dynamic_modules`).
pub(crate) fn log(level: LogLevel, message: &str) -> Result<(), HostError> {
    // SAFETY: the buffer describes a live `str`; Envoy copies it.
    unsafe { abi::envoy_dynamic_module_callback_log(level as u32, buffer(message.as_bytes())) };
    Ok(())
}

/// Envoy's log level for dynamic modules.
pub(crate) fn log_level() -> Result<LogLevel, HostError> {
    // SAFETY: no arguments.
    let level = unsafe { abi::envoy_dynamic_module_callback_get_log_level() };
    Ok(match level {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        4 => LogLevel::Error,
        _ => LogLevel::Critical,
    })
}

/// The body types of a direction: what Envoy buffered, and the chunk that arrived.
fn body_types(request: bool) -> (u32, u32) {
    if request {
        (
            abi::envoy_dynamic_module_type_http_body_type_BufferedRequestBody,
            abi::envoy_dynamic_module_type_http_body_type_ReceivedRequestBody,
        )
    } else {
        (
            abi::envoy_dynamic_module_type_http_body_type_BufferedResponseBody,
            abi::envoy_dynamic_module_type_http_body_type_ReceivedResponseBody,
        )
    }
}

/// Whether the chunk that arrived is Envoy's buffered body itself (then it counts once).
fn received_is_buffered(filter: *mut c_void, request: bool) -> bool {
    // SAFETY: `filter` is the live stream's handle.
    unsafe {
        if request {
            abi::envoy_dynamic_module_callback_http_received_buffered_request_body(filter)
        } else {
            abi::envoy_dynamic_module_callback_http_received_buffered_response_body(filter)
        }
    }
}

/// The body types that make up what a body hook sees, in order (no allocation: body
/// hooks run for every chunk).
fn body_parts(filter: *mut c_void, request: bool) -> impl Iterator<Item = u32> {
    let (buffered, received) = body_types(request);
    let buffered = (!received_is_buffered(filter, request)).then_some(buffered);
    buffered.into_iter().chain([received])
}

/// The size of the body a body hook sees (0 outside a stream).
pub(crate) fn body_len(filter: *mut c_void, request: bool) -> usize {
    if filter.is_null() {
        return 0;
    }
    body_parts(filter, request)
        // SAFETY: `filter` is the live stream's handle.
        .map(|part| unsafe { abi::envoy_dynamic_module_callback_http_get_body_size(filter, part) })
        .sum()
}

/// The body a body hook sees, copied.
fn body(filter: *mut c_void, request: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body_parts(filter, request) {
        // SAFETY: `filter` is the live stream's handle; the vector has room for the
        // number of chunks Envoy reports, and the chunks live until the hook returns.
        unsafe {
            let count = abi::envoy_dynamic_module_callback_http_get_body_chunks_size(filter, part);
            let mut chunks = vec![
                EnvoyBuffer {
                    ptr: null(),
                    length: 0
                };
                count
            ];
            if count > 0
                && abi::envoy_dynamic_module_callback_http_get_body_chunks(
                    filter,
                    part,
                    chunks.as_mut_ptr(),
                )
            {
                for chunk in chunks {
                    out.extend_from_slice(envoy_bytes(chunk));
                }
            }
        }
    }
    out
}

/// Replaces the body a body hook sees with `data`.
fn replace_body(filter: *mut c_void, request: bool, data: &[u8]) -> Result<(), HostError> {
    let (_, received) = body_types(request);
    for part in body_parts(filter, request) {
        // SAFETY: `filter` is the live stream's handle.
        unsafe {
            let size = abi::envoy_dynamic_module_callback_http_get_body_size(filter, part);
            if size > 0 && !abi::envoy_dynamic_module_callback_http_drain_body(filter, part, size) {
                return Err(HostError::new(
                    "envoy_dynamic_module_callback_http_drain_body",
                    INTERNAL_FAILURE,
                ));
            }
        }
    }
    if data.is_empty() {
        return Ok(());
    }
    // SAFETY: `filter` is the live stream's handle; Envoy copies the bytes.
    if unsafe {
        abi::envoy_dynamic_module_callback_http_append_body(filter, received, buffer(data))
    } {
        Ok(())
    } else {
        Err(HostError::new(
            "envoy_dynamic_module_callback_http_append_body",
            INTERNAL_FAILURE,
        ))
    }
}

/// The size of a callout answer's body.
pub(crate) fn callout_body_len(callout: &Callout) -> usize {
    callout_chunks(callout).map(<[u8]>::len).sum()
}

fn callout_chunks(callout: &Callout) -> impl Iterator<Item = &[u8]> {
    (0..callout.body_len).map(move |i| {
        // SAFETY: Envoy's array of `body_len` chunks, alive during the callback.
        unsafe { envoy_bytes(*callout.body.add(i)) }
    })
}

fn callout_headers(callout: &Callout) -> Pairs {
    (0..callout.headers_len)
        .map(|i| {
            // SAFETY: Envoy's array of `headers_len` headers, alive during the callback.
            let h = unsafe { *callout.headers.add(i) };
            // SAFETY: as above.
            unsafe {
                (
                    envoy_bytes(EnvoyBuffer {
                        ptr: h.key_ptr,
                        length: h.key_length,
                    })
                    .to_vec(),
                    envoy_bytes(EnvoyBuffer {
                        ptr: h.value_ptr,
                        length: h.value_length,
                    })
                    .to_vec(),
                )
            }
        })
        .collect()
}

/// Reads up to `max_size` bytes of a buffer from `start`; `None` when it is empty.
pub(crate) fn get_buffer(
    buffer: BufferType,
    start: usize,
    max_size: usize,
) -> Result<Option<Vec<u8>>, HostError> {
    let scope = scope();
    let whole = match buffer {
        BufferType::PluginConfiguration => scope.config().map(|c| c.bytes.clone()),
        BufferType::VmConfiguration => Some(Vec::new()),
        BufferType::HttpRequestBody => Some(body(stream("get_buffer")?, true)),
        BufferType::HttpResponseBody => Some(body(stream("get_buffer")?, false)),
        BufferType::HttpCallResponseBody => scope
            .callout()
            .map(|c| callout_chunks(c).flatten().copied().collect()),
        BufferType::DownstreamData => Some(connection_bytes(connection("get_buffer")?, true)),
        BufferType::UpstreamData => Some(connection_bytes(connection("get_buffer")?, false)),
        _ => return Err(unimplemented("get_buffer")),
    };
    let whole = whole.unwrap_or_default();
    let start = start.min(whole.len());
    let end = start.saturating_add(max_size).min(whole.len());
    let part = whole.get(start..end).unwrap_or_default();
    Ok((!part.is_empty()).then(|| part.to_vec()))
}

/// All pairs of a header map, names and values as raw bytes.
pub(crate) fn get_map_pairs(map: MapType) -> Result<Pairs, HostError> {
    if map == MapType::HttpCallResponseHeaders {
        return Ok(scope().callout().map(callout_headers).unwrap_or_default());
    }
    let kind = header_type(map).ok_or(unimplemented("get_map_pairs"))?;
    let filter = stream("envoy_dynamic_module_callback_http_get_headers")?;
    // SAFETY: `filter` is the live stream's handle; the vector has room for the number of
    // headers Envoy reports, whose bytes live until the hook returns.
    unsafe {
        let count = abi::envoy_dynamic_module_callback_http_get_headers_size(filter, kind);
        let empty = EnvoyHeader {
            key_ptr: null(),
            key_length: 0,
            value_ptr: null(),
            value_length: 0,
        };
        let mut headers = vec![empty; count];
        if count == 0
            || !abi::envoy_dynamic_module_callback_http_get_headers(
                filter,
                kind,
                headers.as_mut_ptr(),
            )
        {
            return Ok(Vec::new());
        }
        Ok(headers
            .into_iter()
            .map(|h| {
                (
                    envoy_bytes(EnvoyBuffer {
                        ptr: h.key_ptr,
                        length: h.key_length,
                    })
                    .to_vec(),
                    envoy_bytes(EnvoyBuffer {
                        ptr: h.value_ptr,
                        length: h.value_length,
                    })
                    .to_vec(),
                )
            })
            .collect())
    }
}

/// A header map in the proxy-wasm map format.
pub(crate) fn get_map_bytes(map: MapType) -> Result<Vec<u8>, HostError> {
    let pairs = get_map_pairs(map)?;
    Ok(encode_map(
        pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice())),
    ))
}

/// The first value of header `name`; `None` when absent.
pub(crate) fn get_map_value(map: MapType, name: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
    if map == MapType::HttpCallResponseHeaders {
        let pairs = get_map_pairs(map)?;
        return Ok(pairs
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v));
    }
    let kind = header_type(map).ok_or(unimplemented("get_map_value"))?;
    let filter = stream("envoy_dynamic_module_callback_http_get_header")?;
    let mut value = EnvoyBuffer {
        ptr: null(),
        length: 0,
    };
    // SAFETY: `filter` is the live stream's handle; `value` is a valid out-pointer and the
    // count pointer may be null.
    let found = unsafe {
        abi::envoy_dynamic_module_callback_http_get_header(
            filter,
            kind,
            buffer(name),
            &mut value,
            0,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: Envoy's value, alive until the hook returns.
    Ok(found.then(|| unsafe { envoy_bytes(value) }.to_vec()))
}

fn set_header(map: MapType, name: &[u8], value: Option<&[u8]>) -> Result<(), HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_http_set_header";
    let kind = header_type(map).ok_or(unimplemented(CALL))?;
    let filter = stream(CALL)?;
    // A null value removes the header; any other (even empty) sets it.
    let value = value.map_or(
        ModuleBuffer {
            ptr: null(),
            length: 0,
        },
        buffer,
    );
    // SAFETY: `filter` is the live stream's handle; Envoy copies the bytes.
    if unsafe {
        abi::envoy_dynamic_module_callback_http_set_header(filter, kind, buffer(name), value)
    } {
        Ok(())
    } else {
        Err(HostError::new(CALL, NOT_FOUND))
    }
}

/// Sets header `name` to `value`, replacing every value it had.
pub(crate) fn replace_map_value(map: MapType, name: &[u8], value: &[u8]) -> Result<(), HostError> {
    set_header(map, name, Some(value))
}

/// Adds a value to header `name`.
pub(crate) fn add_map_value(map: MapType, name: &[u8], value: &[u8]) -> Result<(), HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_http_add_header";
    let kind = header_type(map).ok_or(unimplemented(CALL))?;
    let filter = stream(CALL)?;
    // SAFETY: `filter` is the live stream's handle; Envoy copies the bytes.
    if unsafe {
        abi::envoy_dynamic_module_callback_http_add_header(
            filter,
            kind,
            buffer(name),
            buffer(value),
        )
    } {
        Ok(())
    } else {
        Err(HostError::new(CALL, NOT_FOUND))
    }
}

/// Removes header `name` (absent is fine).
pub(crate) fn remove_map_value(map: MapType, name: &[u8]) -> Result<(), HostError> {
    set_header(map, name, None)
}

/// Answers the stream in place of the upstream. (Envoy's dynamic modules take no gRPC
/// status: `grpc_status` is not sent.)
pub(crate) fn send_local_response(
    status_code: u32,
    details: impl AsRef<[u8]>,
    body: &[u8],
    headers: &[(String, Vec<u8>)],
    grpc_status: i32,
) -> Result<(), HostError> {
    let _ = grpc_status;
    let filter = stream("envoy_dynamic_module_callback_http_send_response")?;
    let mut headers: Vec<ModuleHeader> = headers
        .iter()
        .map(|(n, v)| header(n.as_bytes(), v))
        .collect();
    // SAFETY: `filter` is the live stream's handle; every buffer lives for the call and
    // Envoy copies them.
    unsafe {
        abi::envoy_dynamic_module_callback_http_send_response(
            filter,
            status_code,
            headers.as_mut_ptr(),
            headers.len(),
            buffer(body),
            buffer(details.as_ref()),
        );
    }
    Ok(())
}

/// How a property is read from Envoy's attributes.
enum Attribute {
    Text(u32),
    Number(u32),
    Flag(u32),
}

/// The Envoy attribute behind a proxy-wasm property path (the ones both hosts have).
fn attribute(path: &str) -> Option<Attribute> {
    use Attribute::{Flag, Number, Text};
    Some(match path {
        "request.path" => Text(0),
        "request.url_path" => Text(1),
        "request.host" => Text(2),
        "request.scheme" => Text(3),
        "request.method" => Text(4),
        "request.referer" => Text(6),
        "request.useragent" => Text(7),
        "request.id" => Text(9),
        "request.protocol" => Text(10),
        "request.query" => Text(11),
        "request.duration" => Number(12),
        "request.size" => Number(13),
        "request.total_size" => Number(14),
        "response.code" => Number(15),
        "response.code_details" => Text(16),
        "response.flags" => Number(17),
        "response.grpc_status" => Number(18),
        "response.size" => Number(21),
        "response.total_size" => Number(22),
        "source.address" => Text(24),
        "source.port" => Number(25),
        "destination.address" => Text(26),
        "destination.port" => Number(27),
        "connection.id" => Number(28),
        "connection.mtls" => Flag(29),
        "connection.requested_server_name" => Text(30),
        "connection.tls_version" => Text(31),
        "upstream.address" => Text(41),
        "upstream.port" => Number(42),
        "xds.cluster_name" => Text(57),
        "xds.route_name" => Text(61),
        "xds.virtual_host_name" => Text(63),
        "xds.filter_chain_name" => Text(66),
        _ => return None,
    })
}

/// Reads a property by path (e.g. `["request", "path"]`); `None` when absent. Numbers
/// come as 8 little-endian bytes and flags as one byte, as proxy-wasm hosts give them.
pub(crate) fn get_property(path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
    let scope = scope();
    if let ["plugin_root_id" | "plugin_name"] = path {
        return Ok(scope.config().map(|c| c.name.clone()));
    }
    let Some(attribute) = attribute(&path.join(".")) else {
        return Ok(None);
    };
    // The HTTP filter's getters, or the network filter's (the same attribute ids).
    type Getter<T> = unsafe extern "C" fn(*mut c_void, u32, *mut T) -> bool;
    let (filter, text, number, flag): (
        *mut c_void,
        Getter<EnvoyBuffer>,
        Getter<u64>,
        Getter<bool>,
    ) = if scope.network {
        (
            connection("envoy_dynamic_module_callback_network_filter_get_attribute_string")?,
            abi::envoy_dynamic_module_callback_network_filter_get_attribute_string,
            abi::envoy_dynamic_module_callback_network_filter_get_attribute_int,
            abi::envoy_dynamic_module_callback_network_filter_get_attribute_bool,
        )
    } else {
        (
            stream("envoy_dynamic_module_callback_http_filter_get_attribute_string")?,
            abi::envoy_dynamic_module_callback_http_filter_get_attribute_string,
            abi::envoy_dynamic_module_callback_http_filter_get_attribute_int,
            abi::envoy_dynamic_module_callback_http_filter_get_attribute_bool,
        )
    };
    // SAFETY: `filter` is the live stream's (or connection's) handle; out-pointers are
    // valid, and a string lives until the hook returns.
    unsafe {
        Ok(match attribute {
            Attribute::Text(id) => {
                let mut value = EnvoyBuffer {
                    ptr: null(),
                    length: 0,
                };
                text(filter, id, &mut value).then(|| envoy_bytes(value).to_vec())
            }
            Attribute::Number(id) => {
                let mut value = 0u64;
                number(filter, id, &mut value).then(|| value.to_le_bytes().to_vec())
            }
            Attribute::Flag(id) => {
                let mut value = false;
                flag(filter, id, &mut value).then(|| vec![u8::from(value)])
            }
        })
    }
}

/// The ABI's name for a metadata source.
fn metadata_source(source: MetadataSource) -> abi::envoy_dynamic_module_type_metadata_source {
    match source {
        MetadataSource::Route => abi::envoy_dynamic_module_type_metadata_source_Route,
        MetadataSource::Cluster => abi::envoy_dynamic_module_type_metadata_source_Cluster,
        MetadataSource::UpstreamHost => abi::envoy_dynamic_module_type_metadata_source_Host,
        MetadataSource::Dynamic => abi::envoy_dynamic_module_type_metadata_source_Dynamic,
    }
}

const NO_BUFFER: EnvoyBuffer = EnvoyBuffer {
    ptr: null(),
    length: 0,
};

/// The strings Envoy lists into a vector of `count` buffers (`fill`); they live until
/// the hook returns.
fn envoy_strings(count: usize, fill: impl FnOnce(*mut EnvoyBuffer) -> bool) -> Vec<String> {
    if count == 0 {
        return Vec::new();
    }
    let mut buffers = vec![NO_BUFFER; count];
    if !fill(buffers.as_mut_ptr()) {
        return Vec::new();
    }
    buffers
        .into_iter()
        // SAFETY: Envoy filled the buffers with its own strings, alive during the hook.
        .filter_map(|b| String::from_utf8(unsafe { envoy_bytes(b) }.to_vec()).ok())
        .collect()
}

/// The stream whose hook runs, for a metadata call; `None` in a network filter, whose
/// ABI lists no metadata.
fn metadata_stream() -> Result<Option<*mut c_void>, HostError> {
    if scope().network {
        return Ok(None);
    }
    stream("envoy_dynamic_module_callback_http_get_metadata_keys").map(Some)
}

/// The namespaces of the `source` metadata.
pub(crate) fn get_metadata_namespaces(source: MetadataSource) -> Result<Vec<String>, HostError> {
    let Some(filter) = metadata_stream()? else {
        return Ok(Vec::new());
    };
    let source = metadata_source(source);
    // SAFETY: `filter` is the live stream's handle; the vector has `count` entries.
    unsafe {
        let count =
            abi::envoy_dynamic_module_callback_http_get_metadata_namespaces_count(filter, source);
        Ok(envoy_strings(count, |out| {
            abi::envoy_dynamic_module_callback_http_get_metadata_namespaces(filter, source, out)
        }))
    }
}

/// Namespace `namespace` of the `source` metadata, key by key: strings, numbers, bools
/// and lists of those (what the ABI reads); other values are left out.
pub(crate) fn get_metadata(
    source: MetadataSource,
    namespace: &str,
) -> Result<Option<Struct>, HostError> {
    let Some(filter) = metadata_stream()? else {
        return Ok(None);
    };
    let abi_source = metadata_source(source);
    let ns = buffer(namespace.as_bytes());
    // SAFETY: `filter` is the live stream's handle; the vector has `count` entries.
    let keys = unsafe {
        let count =
            abi::envoy_dynamic_module_callback_http_get_metadata_keys_count(filter, abi_source, ns);
        envoy_strings(count, |out| {
            abi::envoy_dynamic_module_callback_http_get_metadata_keys(filter, abi_source, ns, out)
        })
    };
    // No keys: an empty namespace, or none at all.
    if keys.is_empty()
        && !get_metadata_namespaces(source)?
            .iter()
            .any(|n| n == namespace)
    {
        return Ok(None);
    }
    let mut fields = Struct::new();
    for key in keys {
        match metadata_value(filter, abi_source, namespace, &key) {
            Some(value) => {
                fields.insert(key, value);
            }
            None => log::debug!(
                "{source} metadata `{namespace}`: `{key}` is a struct, a null or a list holding \
                 one, which Envoy's dynamic modules ABI does not read"
            ),
        }
    }
    Ok(Some(fields))
}

/// The kinds of metadata value the ABI reads, each with its own getter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Flag,
    List,
}

/// What a metadata key held when last read.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// Its kind; `None` when no getter read it (a struct, a null, a list holding one).
    kind: Option<Kind>,
    /// A list's elements' kinds.
    elements: Vec<Kind>,
    /// Reads skipped since an unreadable key was last probed.
    skipped: u32,
}

/// What metadata keys held, per worker thread. Envoy 1.40 logs every getter that misses
/// (`key rps is not a string`, at error level), so each value is probed first as what it
/// was before, and a key no getter reads is probed again only every
/// `REPROBE_UNREADABLE` reads: route and cluster metadata change only with the
/// configuration, and a steady request flow logs nothing. Bounded: cleared when full.
type Kinds = std::collections::HashMap<(u32, String, String), Seen>;

thread_local! {
    static KINDS: std::cell::RefCell<Kinds> = std::cell::RefCell::new(Kinds::new());
}

const MAX_KINDS: usize = 1024;
const REPROBE_UNREADABLE: u32 = 64;

/// `first`, then the other kinds of `all`, in order.
fn probe_order(first: Option<Kind>, all: &[Kind]) -> Vec<Kind> {
    let mut order: Vec<Kind> = first.into_iter().collect();
    order.extend(all.iter().copied().filter(|k| Some(*k) != first));
    order
}

/// One metadata value: a string, number or bool, or a list of those; `None` for
/// anything else (a struct, a null, a list holding one).
fn metadata_value(
    filter: *mut c_void,
    source: abi::envoy_dynamic_module_type_metadata_source,
    namespace: &str,
    key: &str,
) -> Option<Value> {
    let cache_key = (source, namespace.to_owned(), key.to_owned());
    let mut seen = KINDS.with(|k| k.borrow().get(&cache_key).cloned());
    if let Some(unreadable) = seen.as_mut().filter(|s| s.kind.is_none()) {
        if unreadable.skipped < REPROBE_UNREADABLE {
            unreadable.skipped += 1;
            let skipped = unreadable.skipped;
            KINDS.with(|k| {
                if let Some(entry) = k.borrow_mut().get_mut(&cache_key) {
                    entry.skipped = skipped;
                }
            });
            return None;
        }
    }
    let previous = seen.unwrap_or_default();
    let ns = buffer(namespace.as_bytes());
    let key_buffer = buffer(key.as_bytes());
    let mut now = Seen::default();
    let mut value = None;
    for kind in probe_order(
        previous.kind,
        &[Kind::Text, Kind::Number, Kind::Flag, Kind::List],
    ) {
        // SAFETY: `filter` is the live stream's handle, inside its hook.
        let read =
            unsafe { metadata_kind(filter, source, ns, key_buffer, kind, &previous.elements) };
        if let Some((read, elements)) = read {
            now.kind = Some(kind);
            now.elements = elements;
            value = read;
            break;
        }
    }
    KINDS.with(|k| {
        let mut kinds = k.borrow_mut();
        if kinds.len() >= MAX_KINDS {
            kinds.clear();
        }
        kinds.insert(cache_key, now);
    });
    value
}

/// The value of `key` if it is of `kind`, with a list's elements' kinds: `None` when it
/// is not of `kind`, `Some((None, _))` when it is but cannot be read (a list holding
/// something else, text that is not UTF-8).
///
/// # Safety
/// `filter` is the live stream's handle, and the hook has not returned.
unsafe fn metadata_kind(
    filter: *mut c_void,
    source: abi::envoy_dynamic_module_type_metadata_source,
    ns: ModuleBuffer,
    key: ModuleBuffer,
    kind: Kind,
    elements: &[Kind],
) -> Option<(Option<Value>, Vec<Kind>)> {
    // SAFETY: as the caller promised; out-pointers are valid; a string lives until the
    // hook returns.
    unsafe {
        match kind {
            Kind::List => {
                let mut len = 0usize;
                if !abi::envoy_dynamic_module_callback_http_get_metadata_list_size(
                    filter, source, ns, key, &mut len,
                ) {
                    return None;
                }
                let mut values = Vec::new();
                let mut kinds = Vec::new();
                for index in 0..len {
                    // Each element as the same element was before, else as the one before it.
                    let hint = elements.get(index).or(kinds.last()).copied();
                    let element = probe_order(hint, &[Kind::Text, Kind::Number, Kind::Flag])
                        .into_iter()
                        .find_map(|kind| {
                            scalar(filter, source, ns, key, Some(index), kind)
                                .map(|value| (kind, value))
                        });
                    match element {
                        Some((kind, Some(value))) => {
                            kinds.push(kind);
                            values.push(value);
                        }
                        _ => return Some((None, kinds)),
                    }
                }
                Some((Some(Value::Array(values)), kinds))
            }
            scalar_kind => {
                scalar(filter, source, ns, key, None, scalar_kind).map(|value| (value, Vec::new()))
            }
        }
    }
}

/// A string, number or bool: of `key` itself, or of its list's element `index`. `None`
/// when it is not of `kind`; `Some(None)` for text that is not UTF-8.
///
/// # Safety
/// `filter` is the live stream's handle, and the hook has not returned.
unsafe fn scalar(
    filter: *mut c_void,
    source: abi::envoy_dynamic_module_type_metadata_source,
    ns: ModuleBuffer,
    key: ModuleBuffer,
    index: Option<usize>,
    kind: Kind,
) -> Option<Option<Value>> {
    // SAFETY: as the caller promised; out-pointers are valid; a string lives until the
    // hook returns.
    unsafe {
        match kind {
            Kind::Text => {
                let mut text = NO_BUFFER;
                let found = match index {
                    None => abi::envoy_dynamic_module_callback_http_get_metadata_string(
                        filter, source, ns, key, &mut text,
                    ),
                    Some(i) => abi::envoy_dynamic_module_callback_http_get_metadata_list_string(
                        filter, source, ns, key, i, &mut text,
                    ),
                };
                found.then(|| {
                    String::from_utf8(envoy_bytes(text).to_vec())
                        .ok()
                        .map(Value::String)
                })
            }
            Kind::Number => {
                let mut number = 0f64;
                let found = match index {
                    None => abi::envoy_dynamic_module_callback_http_get_metadata_number(
                        filter,
                        source,
                        ns,
                        key,
                        &mut number,
                    ),
                    Some(i) => abi::envoy_dynamic_module_callback_http_get_metadata_list_number(
                        filter,
                        source,
                        ns,
                        key,
                        i,
                        &mut number,
                    ),
                };
                found.then(|| Some(crate::proto::number_value(number)))
            }
            Kind::Flag => {
                let mut flag = false;
                let found = match index {
                    None => abi::envoy_dynamic_module_callback_http_get_metadata_bool(
                        filter, source, ns, key, &mut flag,
                    ),
                    Some(i) => abi::envoy_dynamic_module_callback_http_get_metadata_list_bool(
                        filter, source, ns, key, i, &mut flag,
                    ),
                };
                found.then_some(Some(Value::Bool(flag)))
            }
            Kind::List => None, // the ABI reads no list inside a list
        }
    }
}

/// Replaces `size` bytes at `start` of a body with `data`.
pub(crate) fn set_buffer(
    buffer: BufferType,
    start: usize,
    size: usize,
    data: &[u8],
) -> Result<(), HostError> {
    let splice = |current: Vec<u8>| {
        let start = start.min(current.len());
        let end = start.saturating_add(size).min(current.len());
        let mut next = Vec::with_capacity(current.len() - (end - start) + data.len());
        next.extend_from_slice(current.get(..start).unwrap_or_default());
        next.extend_from_slice(data);
        next.extend_from_slice(current.get(end..).unwrap_or_default());
        next
    };
    let request = match buffer {
        BufferType::HttpRequestBody => true,
        BufferType::HttpResponseBody => false,
        BufferType::DownstreamData | BufferType::UpstreamData => {
            let read = buffer == BufferType::DownstreamData;
            let filter = connection("set_buffer")?;
            return replace_connection_bytes(filter, read, &splice(connection_bytes(filter, read)));
        }
        _ => return Err(unimplemented("set_buffer")),
    };
    let filter = stream("set_buffer")?;
    let current = body(filter, request);
    let start = start.min(current.len());
    let end = start.saturating_add(size).min(current.len());
    let mut next = Vec::with_capacity(current.len() - (end - start) + data.len());
    next.extend_from_slice(current.get(..start).unwrap_or_default());
    next.extend_from_slice(data);
    next.extend_from_slice(current.get(end..).unwrap_or_default());
    replace_body(filter, request, &next)
}

/// Replaces every pair of a header map.
pub(crate) fn set_map_pairs(map: MapType, pairs: &[(&[u8], &[u8])]) -> Result<(), HostError> {
    for (name, _) in get_map_pairs(map)? {
        remove_map_value(map, &name)?;
    }
    for (name, value) in pairs {
        add_map_value(map, name, value)?;
    }
    Ok(())
}

/// Writing properties: the ABI has no counterpart.
pub(crate) fn set_property(path: &[&str], value: &[u8]) -> Result<(), HostError> {
    let _ = (path, value);
    Err(unimplemented("set_property"))
}

/// The time, in nanoseconds since the Unix epoch (the process's clock: Envoy's own).
pub(crate) fn current_time_nanos() -> Result<u64, HostError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| HostError::new("current_time_nanos", INTERNAL_FAILURE))?;
    Ok(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX))
}

/// Ticks: the ABI has no timer.
pub(crate) fn set_tick_period_millis(millis: u32) -> Result<(), HostError> {
    let scope = scope();
    let config = scope
        .config()
        .ok_or(HostError::new("set_tick_period_millis", BAD_ARGUMENT))?;
    // The plugin built while Envoy loads the configuration ticks (on the main thread,
    // `native::ticks`); the ones workers build from it set the same period: nothing to do.
    if scope.loading {
        config.set_tick_period(millis);
    }
    Ok(())
}

/// Shared data: the process's memory, every worker's. Values with their CAS.
static SHARED: Mutex<BTreeMap<String, (Vec<u8>, u32)>> = Mutex::new(BTreeMap::new());

/// A value of the shared data, with its CAS; `None` when absent.
pub(crate) fn get_shared_data(key: &str) -> Result<Option<(Vec<u8>, u32)>, HostError> {
    let shared = SHARED
        .lock()
        .map_err(|_| HostError::new("get_shared_data", INTERNAL_FAILURE))?;
    Ok(shared.get(key).cloned())
}

/// Stores a value of the shared data: with `cas` 0 always, otherwise only when `cas` is
/// the value's current one (else `CasMismatch`).
pub(crate) fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), HostError> {
    let mut shared = SHARED
        .lock()
        .map_err(|_| HostError::new("set_shared_data", INTERNAL_FAILURE))?;
    let current = shared.get(key).map_or(0, |(_, c)| *c);
    if cas != 0 && cas != current {
        return Err(HostError::new("set_shared_data", CAS_MISMATCH));
    }
    let next = current.wrapping_add(1).max(1);
    shared.insert(key.to_owned(), (value.to_vec(), next));
    Ok(())
}

/// Shared queues: the ABI has no way to wake another worker's plugin.
pub(crate) fn register_shared_queue(name: &str) -> Result<u32, HostError> {
    let _ = name;
    Err(unimplemented("register_shared_queue"))
}

/// Shared queues: not on this host.
pub(crate) fn resolve_shared_queue(vm_id: &str, name: &str) -> Result<Option<u32>, HostError> {
    let _ = (vm_id, name);
    Err(unimplemented("resolve_shared_queue"))
}

/// Shared queues: not on this host.
pub(crate) fn dequeue_shared_queue(queue: u32) -> Result<Option<Vec<u8>>, HostError> {
    let _ = queue;
    Err(unimplemented("dequeue_shared_queue"))
}

/// Shared queues: not on this host.
pub(crate) fn enqueue_shared_queue(queue: u32, value: &[u8]) -> Result<(), HostError> {
    let _ = (queue, value);
    Err(unimplemented("enqueue_shared_queue"))
}

/// Resumes a paused direction of the stream.
pub(crate) fn continue_stream(stream_type: StreamType) -> Result<(), HostError> {
    if scope().network {
        let filter = connection("continue_stream")?;
        // Reading is what a network filter stops and resumes; the upstream's bytes were
        // never held back.
        if stream_type == StreamType::Downstream {
            // SAFETY: `filter` is the live connection's handle.
            unsafe { abi::envoy_dynamic_module_callback_network_filter_continue_reading(filter) };
        }
        return Ok(());
    }
    let filter = stream("continue_stream")?;
    // SAFETY: `filter` is the live stream's handle.
    unsafe {
        match stream_type {
            StreamType::HttpRequest => {
                abi::envoy_dynamic_module_callback_http_filter_continue_decoding(filter);
            }
            StreamType::HttpResponse => {
                abi::envoy_dynamic_module_callback_http_filter_continue_encoding(filter);
            }
            _ => return Err(unimplemented("continue_stream")),
        }
    }
    Ok(())
}

/// Resets the stream.
pub(crate) fn close_stream(stream_type: StreamType) -> Result<(), HostError> {
    if scope().network {
        // Either side: the client's connection closes, and `tcp_proxy` closes the other.
        let filter = connection("envoy_dynamic_module_callback_network_filter_close")?;
        // SAFETY: `filter` is the live connection's handle.
        unsafe {
            abi::envoy_dynamic_module_callback_network_filter_close(
                filter,
                abi::envoy_dynamic_module_type_network_connection_close_type_FlushWrite,
            );
        }
        return Ok(());
    }
    let filter = stream("envoy_dynamic_module_callback_http_filter_reset_stream")?;
    match stream_type {
        StreamType::HttpRequest | StreamType::HttpResponse => {
            // SAFETY: `filter` is the live stream's handle; Envoy copies the details.
            unsafe {
                abi::envoy_dynamic_module_callback_http_filter_reset_stream(
                    filter,
                    abi::envoy_dynamic_module_type_http_filter_stream_reset_reason_LocalReset,
                    buffer(b"proxylet_closed"),
                );
            }
            Ok(())
        }
        _ => Err(unimplemented("close_stream")),
    }
}

/// Defines a metric (0 counter, 1 gauge, 2 histogram) with its tags as labels. Envoy
/// takes definitions only while it loads the configuration: later, a plugin finds the
/// metric defined then (each worker builds its own plugin).
pub(crate) fn define_metric(
    kind: u32,
    name: &str,
    tags: &[(&str, &str)],
) -> Result<u32, HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_http_filter_config_define_metric";
    let scope = scope();
    let config = scope.config().ok_or(HostError::new(CALL, BAD_ARGUMENT))?;
    let mut metrics = config
        .metrics
        .lock()
        .map_err(|_| HostError::new(CALL, INTERNAL_FAILURE))?;
    let same = |m: &Metric| {
        m.kind == kind
            && m.name == name
            && m.labels.len() == tags.len()
            && m.labels
                .iter()
                .zip(tags)
                .all(|((k, v), (k2, v2))| k == k2 && v == v2)
    };
    if let Some(index) = metrics.iter().position(same) {
        return u32::try_from(index).map_err(|_| HostError::new(CALL, INTERNAL_FAILURE));
    }
    let same_labels = |m: &Metric| {
        m.kind == kind
            && m.name == name
            && m.labels.len() == tags.len()
            && m.labels.iter().zip(tags).all(|((k, _), (k2, _))| k == k2)
    };
    // A family with labels is one Envoy metric for every label value; a network filter's
    // metric (no labels: values in the name) is one per value.
    let family = (!config.network)
        .then(|| metrics.iter().find(|m| same_labels(m)))
        .flatten();
    let envoy_id = match family {
        Some(defined) => defined.envoy_id,
        // Network filters' metrics have no labels: the tags are part of the name, as in
        // wasm (and a family cannot be declared ahead of its values).
        None if scope.loading && config.network => {
            let name = super::tagged_name(name, tags);
            let mut id = 0usize;
            // SAFETY: `config.envoy` is the configuration being loaded; the name lives
            // for the call and `id` is a valid out-pointer.
            let result = unsafe {
                let define = match kind {
                    0 => abi::envoy_dynamic_module_callback_network_filter_config_define_counter,
                    1 => abi::envoy_dynamic_module_callback_network_filter_config_define_gauge,
                    _ => abi::envoy_dynamic_module_callback_network_filter_config_define_histogram,
                };
                define(config.envoy, buffer(name.as_bytes()), &mut id)
            };
            metric_result(CALL, result)?;
            id
        }
        None if scope.loading => {
            let mut labels: Vec<ModuleBuffer> =
                tags.iter().map(|(k, _)| buffer(k.as_bytes())).collect();
            let mut id = 0usize;
            // SAFETY: `config.envoy` is the configuration being loaded; the buffers live
            // for the call and `id` is a valid out-pointer.
            let result = unsafe {
                let define = match kind {
                    0 => abi::envoy_dynamic_module_callback_http_filter_config_define_counter,
                    1 => abi::envoy_dynamic_module_callback_http_filter_config_define_gauge,
                    _ => abi::envoy_dynamic_module_callback_http_filter_config_define_histogram,
                };
                define(
                    config.envoy,
                    buffer(name.as_bytes()),
                    labels.as_mut_ptr(),
                    labels.len(),
                    &mut id,
                )
            };
            metric_result(CALL, result)?;
            id
        }
        None => {
            crate::logger::emit(
                LogLevel::Error,
                &format!(
                    "metric `{name}` defined after the configuration loaded: on the native \
                     target, define metrics when the plugin is built (`Plugin::new`)"
                ),
            );
            return Err(HostError::new(CALL, BAD_ARGUMENT));
        }
    };
    metrics.push(Metric {
        kind,
        name: name.to_owned(),
        labels: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        envoy_id,
    });
    u32::try_from(metrics.len() - 1).map_err(|_| HostError::new(CALL, INTERNAL_FAILURE))
}

/// Declares metric `name` with labels `tag_names` (0 counter, 1 gauge, 2 histogram), so
/// that [`define_metric`] finds it later with any label values: Envoy takes definitions
/// only while it loads the configuration, and a metric whose label values only traffic
/// tells (a route name) is defined after that.
pub(crate) fn declare_metric(kind: u32, name: &str, tag_names: &[&str]) -> Result<(), HostError> {
    let tags: Vec<(&str, &str)> = tag_names.iter().map(|k| (*k, "")).collect();
    define_metric(kind, name, &tags).map(|_| ())
}

/// A metric's value: the ABI has no getter.
pub(crate) fn get_metric(id: u32) -> Result<u64, HostError> {
    let _ = id;
    Err(unimplemented("get_metric"))
}

/// What updating metric `id` needs: its kind, Envoy's id and its label values.
fn metric(id: u32, call: &'static str) -> Result<(u32, usize, Vec<String>), HostError> {
    let scope = scope();
    let config = scope.config().ok_or(HostError::new(call, BAD_ARGUMENT))?;
    let metrics = config
        .metrics
        .lock()
        .map_err(|_| HostError::new(call, INTERNAL_FAILURE))?;
    let metric = metrics
        .get(id as usize)
        .ok_or(HostError::new(call, NOT_FOUND))?;
    Ok((
        metric.kind,
        metric.envoy_id,
        metric.labels.iter().map(|(_, v)| v.clone()).collect(),
    ))
}

/// Which update of a metric.
#[derive(Clone, Copy)]
enum Update {
    Increment,
    Decrement,
    Set,
    Record,
}

fn update(id: u32, how: Update, value: u64) -> Result<(), HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_http_filter_update_metric";
    let (kind, envoy_id, labels) = metric(id, CALL)?;
    let scope = scope();
    let config = scope.config().ok_or(HostError::new(CALL, BAD_ARGUMENT))?;
    if config.network {
        return update_network(config.envoy, scope.filter, kind, envoy_id, how, value);
    }
    let mut labels: Vec<ModuleBuffer> = labels.iter().map(|v| buffer(v.as_bytes())).collect();
    // On the stream running, else (a tick) on its configuration: the two families of
    // callbacks take the same arguments.
    type Callback = unsafe extern "C" fn(*mut c_void, usize, *mut ModuleBuffer, usize, u64) -> u32;
    let on_stream = !scope.filter.is_null();
    let callback: Callback = match (on_stream, kind, how) {
        (true, 0, Update::Increment) => {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter
        }
        (true, 1, Update::Increment) => {
            abi::envoy_dynamic_module_callback_http_filter_increment_gauge
        }
        (true, 1, Update::Decrement) => {
            abi::envoy_dynamic_module_callback_http_filter_decrement_gauge
        }
        (true, 1, Update::Set) => abi::envoy_dynamic_module_callback_http_filter_set_gauge,
        (true, 2, Update::Record) => {
            abi::envoy_dynamic_module_callback_http_filter_record_histogram_value
        }
        (false, 0, Update::Increment) => {
            abi::envoy_dynamic_module_callback_http_filter_config_increment_counter
        }
        (false, 1, Update::Increment) => {
            abi::envoy_dynamic_module_callback_http_filter_config_increment_gauge
        }
        (false, 1, Update::Decrement) => {
            abi::envoy_dynamic_module_callback_http_filter_config_decrement_gauge
        }
        (false, 1, Update::Set) => abi::envoy_dynamic_module_callback_http_filter_config_set_gauge,
        (false, 2, Update::Record) => {
            abi::envoy_dynamic_module_callback_http_filter_config_record_histogram_value
        }
        _ => return Err(HostError::new(CALL, BAD_ARGUMENT)),
    };
    let target = if on_stream {
        scope.filter
    } else {
        config.envoy
    };
    // SAFETY: `target` is the running stream's handle or its configuration's, as the
    // callback takes; the label buffers live for the call.
    let result = unsafe { callback(target, envoy_id, labels.as_mut_ptr(), labels.len(), value) };
    metric_result(CALL, result)
}

fn metric_result(call: &'static str, result: u32) -> Result<(), HostError> {
    if result == 0 {
        Ok(())
    } else {
        Err(HostError::new(call, INTERNAL_FAILURE + result))
    }
}

/// [`update`] of a network filter's metric (no labels), on the connection running or
/// else on the configuration.
fn update_network(
    config: *mut c_void,
    connection: *mut c_void,
    kind: u32,
    id: usize,
    how: Update,
    value: u64,
) -> Result<(), HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_network_filter_update_metric";
    type Callback = unsafe extern "C" fn(*mut c_void, usize, u64) -> u32;
    let on_connection = !connection.is_null();
    let callback: Callback = match (on_connection, kind, how) {
        (true, 0, Update::Increment) => {
            abi::envoy_dynamic_module_callback_network_filter_increment_counter
        }
        (true, 1, Update::Increment) => {
            abi::envoy_dynamic_module_callback_network_filter_increment_gauge
        }
        (true, 1, Update::Decrement) => {
            abi::envoy_dynamic_module_callback_network_filter_decrement_gauge
        }
        (true, 1, Update::Set) => abi::envoy_dynamic_module_callback_network_filter_set_gauge,
        (true, 2, Update::Record) => {
            abi::envoy_dynamic_module_callback_network_filter_record_histogram_value
        }
        (false, 0, Update::Increment) => {
            abi::envoy_dynamic_module_callback_network_filter_config_increment_counter
        }
        (false, 1, Update::Increment) => {
            abi::envoy_dynamic_module_callback_network_filter_config_increment_gauge
        }
        (false, 1, Update::Decrement) => {
            abi::envoy_dynamic_module_callback_network_filter_config_decrement_gauge
        }
        (false, 1, Update::Set) => {
            abi::envoy_dynamic_module_callback_network_filter_config_set_gauge
        }
        (false, 2, Update::Record) => {
            abi::envoy_dynamic_module_callback_network_filter_config_record_histogram_value
        }
        _ => return Err(HostError::new(CALL, BAD_ARGUMENT)),
    };
    let target = if on_connection { connection } else { config };
    // SAFETY: `target` is the running connection's handle or its configuration's, as the
    // callback takes.
    let result = unsafe { callback(target, id, value) };
    metric_result(CALL, result)
}

/// Sets a gauge or records a histogram value.
pub(crate) fn record_metric(id: u32, value: u64) -> Result<(), HostError> {
    let (kind, _, _) = metric(id, "record_metric")?;
    update(
        id,
        if kind == 2 {
            Update::Record
        } else {
            Update::Set
        },
        value,
    )
}

/// Adds `offset` to a counter or a gauge.
pub(crate) fn increment_metric(id: u32, offset: i64) -> Result<(), HostError> {
    if offset < 0 {
        update(id, Update::Decrement, offset.unsigned_abs())
    } else {
        update(id, Update::Increment, offset.unsigned_abs())
    }
}

/// Foreign functions: only `clear_route_cache` (what `Stream::clear_route_cache` calls),
/// which the ABI has as a callback of its own. (Envoy 1.40's callback assumes a downstream
/// filter chain: in a cluster's upstream filters it would dereference absent callbacks.
/// So it is never called implicitly, e.g. on a request header write as Envoy's wasm host
/// does, only when the filter asks.)
pub(crate) fn call_foreign_function(name: &str, args: &[u8]) -> Result<Vec<u8>, HostError> {
    let _ = args;
    if name != "clear_route_cache" {
        return Err(unimplemented("call_foreign_function"));
    }
    let filter = stream("envoy_dynamic_module_callback_http_clear_route_cache")?;
    // SAFETY: `filter` is the live stream's handle.
    unsafe { abi::envoy_dynamic_module_callback_http_clear_route_cache(filter) };
    Ok(Vec::new())
}

/// gRPC: the ABI has no gRPC calls.
pub(crate) fn get_status() -> Result<(u32, Vec<u8>), HostError> {
    Err(unimplemented("get_status"))
}

/// gRPC: not on this host.
pub(crate) fn grpc_send(token: u32, message: &[u8], end_stream: bool) -> Result<(), HostError> {
    let _ = (token, message, end_stream);
    Err(unimplemented("grpc_send"))
}

/// gRPC: not on this host.
pub(crate) fn grpc_close(token: u32) -> Result<(), HostError> {
    let _ = token;
    Err(unimplemented("grpc_close"))
}

/// gRPC: not on this host.
pub(crate) fn grpc_cancel(token: u32) -> Result<(), HostError> {
    let _ = token;
    Err(unimplemented("grpc_cancel"))
}

/// Sends an HTTP callout to `cluster`; `headers` is in the map format ([`encode_map`]).
/// Returns its token (Envoy's callout id), whose answer reaches this stream's
/// `http_callout_done`.
pub(crate) fn http_call(
    cluster: &str,
    headers: &[u8],
    body: &[u8],
    timeout: std::time::Duration,
) -> Result<u32, HostError> {
    const CALL: &str = "envoy_dynamic_module_callback_http_filter_http_callout";
    let filter = stream(CALL)?;
    let pairs = decode_map(headers).ok_or(HostError::new(CALL, BAD_ARGUMENT))?;
    let mut headers: Vec<ModuleHeader> = pairs.iter().map(|(n, v)| header(n, v)).collect();
    let mut id = 0u64;
    let timeout = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    // SAFETY: `filter` is the live stream's handle; the buffers live for the call and
    // `id` is a valid out-pointer.
    let result = unsafe {
        abi::envoy_dynamic_module_callback_http_filter_http_callout(
            filter,
            &mut id,
            buffer(cluster.as_bytes()),
            headers.as_mut_ptr(),
            headers.len(),
            buffer(body),
            timeout,
        )
    };
    match result {
        0 => u32::try_from(id).map_err(|_| HostError::new(CALL, INTERNAL_FAILURE)),
        2 => Err(HostError::new(CALL, NOT_FOUND)),
        _ => Err(HostError::new(CALL, BAD_ARGUMENT)),
    }
}

/// gRPC: the ABI has no gRPC calls.
pub(crate) fn grpc_call(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[u8],
    message: &[u8],
    timeout: std::time::Duration,
) -> Result<u32, HostError> {
    let _ = (cluster, service, method, metadata, message, timeout);
    Err(unimplemented("grpc_call"))
}

/// gRPC: not on this host.
pub(crate) fn grpc_stream(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[u8],
) -> Result<u32, HostError> {
    let _ = (cluster, service, method, metadata);
    Err(unimplemented("grpc_stream"))
}
