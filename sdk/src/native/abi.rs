//! Raw bindings to Envoy's dynamic modules ABI, as shipped in Envoy v1.40.0
//! (ABI version string `v0.2.0`): the parts proxylet's native target speaks (program init,
//! the common callbacks, HTTP filters and network filters). Envoy's other extension points
//! (listener filters, access loggers, clusters...) are left out.
//!
//! Written for proxylet from the C header `source/extensions/dynamic_modules/abi/abi.h` of
//! envoyproxy/envoy. Nothing here is safe to call on its own: every function is a raw C entry
//! point, and the caller upholds the header's rules on pointer validity, buffer lifetime and which
//! thread may call what.
//!
//! Naming follows the C header exactly so that symbols can be looked up by name:
//! * `envoy_dynamic_module_type_*`: types. C enums become a `u32` alias plus one `const` per
//!   enumerator; opaque handles become `*mut c_void` (`void*`) or `*const c_void` (`const void*`).
//! * `envoy_dynamic_module_on_*`: event hooks that the module exports. Each has a `pub type` of
//!   the same name holding its exact signature; the module defines the function itself with
//!   `#[no_mangle] pub extern "C" fn envoy_dynamic_module_on_...`. A compile-time check that the
//!   two agree: `const _: abi::envoy_dynamic_module_on_http_filter_new = envoy_dynamic_module_on_http_filter_new;`
//! * `envoy_dynamic_module_callback_*`: functions that Envoy exports and the module calls; they are
//!   declared in the `extern "C"` block at the end. They resolve against the Envoy binary at load
//!   time, so a `cdylib` using them links without Envoy being present.
//!
//! Each hook states whether Envoy requires it: a module loaded for an extension point must export
//! every hook marked required for that extension point, or Envoy rejects the configuration.
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code
)]
// Raw FFI surface: one item per C declaration, documented by area rather than item by item.
#![allow(missing_docs, unreachable_pub)]
#![allow(clippy::upper_case_acronyms)]

use core::ffi::{c_char, c_void};

/// The ABI version this file describes, NUL-terminated, as `envoy_dynamic_module_on_program_init`
/// should return it (Envoy only logs a mismatch).
pub const ENVOY_DYNAMIC_MODULES_ABI_VERSION: &[u8] = b"v0.2.0\0";

// ---- Common: types ----
// Shared by every extension point. Buffers are (pointer, length) pairs that are never
// NUL-terminated: `envoy_buffer` memory belongs to Envoy, `module_buffer` memory to the module.
pub type envoy_dynamic_module_type_abi_version_module_ptr = *const c_char;
pub type envoy_dynamic_module_type_buffer_module_ptr = *const c_char;
pub type envoy_dynamic_module_type_buffer_envoy_ptr = *const c_char;
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_envoy_buffer {
    pub ptr: envoy_dynamic_module_type_buffer_envoy_ptr,
    pub length: usize,
}
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_module_buffer {
    pub ptr: envoy_dynamic_module_type_buffer_module_ptr,
    pub length: usize,
}
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_module_http_header {
    pub key_ptr: envoy_dynamic_module_type_buffer_module_ptr,
    pub key_length: usize,
    pub value_ptr: envoy_dynamic_module_type_buffer_module_ptr,
    pub value_length: usize,
}
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_module_key_value_pair {
    pub key_ptr: envoy_dynamic_module_type_buffer_module_ptr,
    pub key_length: usize,
    pub value_ptr: envoy_dynamic_module_type_buffer_module_ptr,
    pub value_length: usize,
}
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_envoy_http_header {
    pub key_ptr: envoy_dynamic_module_type_buffer_envoy_ptr,
    pub key_length: usize,
    pub value_ptr: envoy_dynamic_module_type_buffer_envoy_ptr,
    pub value_length: usize,
}
pub type envoy_dynamic_module_type_http_header_type = u32;
pub const envoy_dynamic_module_type_http_header_type_RequestHeader:
    envoy_dynamic_module_type_http_header_type = 0;
pub const envoy_dynamic_module_type_http_header_type_RequestTrailer:
    envoy_dynamic_module_type_http_header_type = 1;
pub const envoy_dynamic_module_type_http_header_type_ResponseHeader:
    envoy_dynamic_module_type_http_header_type = 2;
pub const envoy_dynamic_module_type_http_header_type_ResponseTrailer:
    envoy_dynamic_module_type_http_header_type = 3;
pub type envoy_dynamic_module_type_log_level = u32;
pub const envoy_dynamic_module_type_log_level_Trace: envoy_dynamic_module_type_log_level = 0;
pub const envoy_dynamic_module_type_log_level_Debug: envoy_dynamic_module_type_log_level = 1;
pub const envoy_dynamic_module_type_log_level_Info: envoy_dynamic_module_type_log_level = 2;
pub const envoy_dynamic_module_type_log_level_Warn: envoy_dynamic_module_type_log_level = 3;
pub const envoy_dynamic_module_type_log_level_Error: envoy_dynamic_module_type_log_level = 4;
pub const envoy_dynamic_module_type_log_level_Critical: envoy_dynamic_module_type_log_level = 5;
pub const envoy_dynamic_module_type_log_level_Off: envoy_dynamic_module_type_log_level = 6;
pub type envoy_dynamic_module_type_http_callout_init_result = u32;
pub const envoy_dynamic_module_type_http_callout_init_result_Success:
    envoy_dynamic_module_type_http_callout_init_result = 0;
pub const envoy_dynamic_module_type_http_callout_init_result_MissingRequiredHeaders:
    envoy_dynamic_module_type_http_callout_init_result = 1;
pub const envoy_dynamic_module_type_http_callout_init_result_ClusterNotFound:
    envoy_dynamic_module_type_http_callout_init_result = 2;
pub const envoy_dynamic_module_type_http_callout_init_result_DuplicateCalloutId:
    envoy_dynamic_module_type_http_callout_init_result = 3;
pub const envoy_dynamic_module_type_http_callout_init_result_CannotCreateRequest:
    envoy_dynamic_module_type_http_callout_init_result = 4;
pub type envoy_dynamic_module_type_http_callout_result = u32;
pub const envoy_dynamic_module_type_http_callout_result_Success:
    envoy_dynamic_module_type_http_callout_result = 0;
pub const envoy_dynamic_module_type_http_callout_result_Reset:
    envoy_dynamic_module_type_http_callout_result = 1;
pub const envoy_dynamic_module_type_http_callout_result_ExceedResponseBufferLimit:
    envoy_dynamic_module_type_http_callout_result = 2;
pub type envoy_dynamic_module_type_http_stream_reset_reason = u32;
pub const envoy_dynamic_module_type_http_stream_reset_reason_ConnectionFailure:
    envoy_dynamic_module_type_http_stream_reset_reason = 0;
pub const envoy_dynamic_module_type_http_stream_reset_reason_ConnectionTermination:
    envoy_dynamic_module_type_http_stream_reset_reason = 1;
pub const envoy_dynamic_module_type_http_stream_reset_reason_LocalReset:
    envoy_dynamic_module_type_http_stream_reset_reason = 2;
pub const envoy_dynamic_module_type_http_stream_reset_reason_LocalRefusedStreamReset:
    envoy_dynamic_module_type_http_stream_reset_reason = 3;
pub const envoy_dynamic_module_type_http_stream_reset_reason_Overflow:
    envoy_dynamic_module_type_http_stream_reset_reason = 4;
pub const envoy_dynamic_module_type_http_stream_reset_reason_RemoteReset:
    envoy_dynamic_module_type_http_stream_reset_reason = 5;
pub const envoy_dynamic_module_type_http_stream_reset_reason_RemoteRefusedStreamReset:
    envoy_dynamic_module_type_http_stream_reset_reason = 6;
pub const envoy_dynamic_module_type_http_stream_reset_reason_ProtocolError:
    envoy_dynamic_module_type_http_stream_reset_reason = 7;
pub type envoy_dynamic_module_type_metrics_result = u32;
pub const envoy_dynamic_module_type_metrics_result_Success:
    envoy_dynamic_module_type_metrics_result = 0;
pub const envoy_dynamic_module_type_metrics_result_MetricNotFound:
    envoy_dynamic_module_type_metrics_result = 1;
pub const envoy_dynamic_module_type_metrics_result_InvalidLabels:
    envoy_dynamic_module_type_metrics_result = 2;
pub const envoy_dynamic_module_type_metrics_result_Frozen:
    envoy_dynamic_module_type_metrics_result = 3;
pub type envoy_dynamic_module_type_metadata_source = u32;
pub const envoy_dynamic_module_type_metadata_source_Dynamic:
    envoy_dynamic_module_type_metadata_source = 0;
pub const envoy_dynamic_module_type_metadata_source_Route:
    envoy_dynamic_module_type_metadata_source = 1;
pub const envoy_dynamic_module_type_metadata_source_Cluster:
    envoy_dynamic_module_type_metadata_source = 2;
pub const envoy_dynamic_module_type_metadata_source_Host:
    envoy_dynamic_module_type_metadata_source = 3;
pub const envoy_dynamic_module_type_metadata_source_HostLocality:
    envoy_dynamic_module_type_metadata_source = 4;
pub type envoy_dynamic_module_type_attribute_id = u32;
pub const envoy_dynamic_module_type_attribute_id_RequestPath:
    envoy_dynamic_module_type_attribute_id = 0;
pub const envoy_dynamic_module_type_attribute_id_RequestUrlPath:
    envoy_dynamic_module_type_attribute_id = 1;
pub const envoy_dynamic_module_type_attribute_id_RequestHost:
    envoy_dynamic_module_type_attribute_id = 2;
pub const envoy_dynamic_module_type_attribute_id_RequestScheme:
    envoy_dynamic_module_type_attribute_id = 3;
pub const envoy_dynamic_module_type_attribute_id_RequestMethod:
    envoy_dynamic_module_type_attribute_id = 4;
pub const envoy_dynamic_module_type_attribute_id_RequestHeaders:
    envoy_dynamic_module_type_attribute_id = 5;
pub const envoy_dynamic_module_type_attribute_id_RequestReferer:
    envoy_dynamic_module_type_attribute_id = 6;
pub const envoy_dynamic_module_type_attribute_id_RequestUserAgent:
    envoy_dynamic_module_type_attribute_id = 7;
pub const envoy_dynamic_module_type_attribute_id_RequestTime:
    envoy_dynamic_module_type_attribute_id = 8;
pub const envoy_dynamic_module_type_attribute_id_RequestId: envoy_dynamic_module_type_attribute_id =
    9;
pub const envoy_dynamic_module_type_attribute_id_RequestProtocol:
    envoy_dynamic_module_type_attribute_id = 10;
pub const envoy_dynamic_module_type_attribute_id_RequestQuery:
    envoy_dynamic_module_type_attribute_id = 11;
pub const envoy_dynamic_module_type_attribute_id_RequestDuration:
    envoy_dynamic_module_type_attribute_id = 12;
pub const envoy_dynamic_module_type_attribute_id_RequestSize:
    envoy_dynamic_module_type_attribute_id = 13;
pub const envoy_dynamic_module_type_attribute_id_RequestTotalSize:
    envoy_dynamic_module_type_attribute_id = 14;
pub const envoy_dynamic_module_type_attribute_id_ResponseCode:
    envoy_dynamic_module_type_attribute_id = 15;
pub const envoy_dynamic_module_type_attribute_id_ResponseCodeDetails:
    envoy_dynamic_module_type_attribute_id = 16;
pub const envoy_dynamic_module_type_attribute_id_ResponseFlags:
    envoy_dynamic_module_type_attribute_id = 17;
pub const envoy_dynamic_module_type_attribute_id_ResponseGrpcStatus:
    envoy_dynamic_module_type_attribute_id = 18;
pub const envoy_dynamic_module_type_attribute_id_ResponseHeaders:
    envoy_dynamic_module_type_attribute_id = 19;
pub const envoy_dynamic_module_type_attribute_id_ResponseTrailers:
    envoy_dynamic_module_type_attribute_id = 20;
pub const envoy_dynamic_module_type_attribute_id_ResponseSize:
    envoy_dynamic_module_type_attribute_id = 21;
pub const envoy_dynamic_module_type_attribute_id_ResponseTotalSize:
    envoy_dynamic_module_type_attribute_id = 22;
pub const envoy_dynamic_module_type_attribute_id_ResponseBackendLatency:
    envoy_dynamic_module_type_attribute_id = 23;
pub const envoy_dynamic_module_type_attribute_id_SourceAddress:
    envoy_dynamic_module_type_attribute_id = 24;
pub const envoy_dynamic_module_type_attribute_id_SourcePort:
    envoy_dynamic_module_type_attribute_id = 25;
pub const envoy_dynamic_module_type_attribute_id_DestinationAddress:
    envoy_dynamic_module_type_attribute_id = 26;
pub const envoy_dynamic_module_type_attribute_id_DestinationPort:
    envoy_dynamic_module_type_attribute_id = 27;
pub const envoy_dynamic_module_type_attribute_id_ConnectionId:
    envoy_dynamic_module_type_attribute_id = 28;
pub const envoy_dynamic_module_type_attribute_id_ConnectionMtls:
    envoy_dynamic_module_type_attribute_id = 29;
pub const envoy_dynamic_module_type_attribute_id_ConnectionRequestedServerName:
    envoy_dynamic_module_type_attribute_id = 30;
pub const envoy_dynamic_module_type_attribute_id_ConnectionTlsVersion:
    envoy_dynamic_module_type_attribute_id = 31;
pub const envoy_dynamic_module_type_attribute_id_ConnectionSubjectLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 32;
pub const envoy_dynamic_module_type_attribute_id_ConnectionSubjectPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 33;
pub const envoy_dynamic_module_type_attribute_id_ConnectionDnsSanLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 34;
pub const envoy_dynamic_module_type_attribute_id_ConnectionDnsSanPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 35;
pub const envoy_dynamic_module_type_attribute_id_ConnectionUriSanLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 36;
pub const envoy_dynamic_module_type_attribute_id_ConnectionUriSanPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 37;
pub const envoy_dynamic_module_type_attribute_id_ConnectionSha256PeerCertificateDigest:
    envoy_dynamic_module_type_attribute_id = 38;
pub const envoy_dynamic_module_type_attribute_id_ConnectionTransportFailureReason:
    envoy_dynamic_module_type_attribute_id = 39;
pub const envoy_dynamic_module_type_attribute_id_ConnectionTerminationDetails:
    envoy_dynamic_module_type_attribute_id = 40;
pub const envoy_dynamic_module_type_attribute_id_UpstreamAddress:
    envoy_dynamic_module_type_attribute_id = 41;
pub const envoy_dynamic_module_type_attribute_id_UpstreamPort:
    envoy_dynamic_module_type_attribute_id = 42;
pub const envoy_dynamic_module_type_attribute_id_UpstreamTlsVersion:
    envoy_dynamic_module_type_attribute_id = 43;
pub const envoy_dynamic_module_type_attribute_id_UpstreamSubjectLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 44;
pub const envoy_dynamic_module_type_attribute_id_UpstreamSubjectPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 45;
pub const envoy_dynamic_module_type_attribute_id_UpstreamDnsSanLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 46;
pub const envoy_dynamic_module_type_attribute_id_UpstreamDnsSanPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 47;
pub const envoy_dynamic_module_type_attribute_id_UpstreamUriSanLocalCertificate:
    envoy_dynamic_module_type_attribute_id = 48;
pub const envoy_dynamic_module_type_attribute_id_UpstreamUriSanPeerCertificate:
    envoy_dynamic_module_type_attribute_id = 49;
pub const envoy_dynamic_module_type_attribute_id_UpstreamSha256PeerCertificateDigest:
    envoy_dynamic_module_type_attribute_id = 50;
pub const envoy_dynamic_module_type_attribute_id_UpstreamLocalAddress:
    envoy_dynamic_module_type_attribute_id = 51;
pub const envoy_dynamic_module_type_attribute_id_UpstreamTransportFailureReason:
    envoy_dynamic_module_type_attribute_id = 52;
pub const envoy_dynamic_module_type_attribute_id_UpstreamRequestAttemptCount:
    envoy_dynamic_module_type_attribute_id = 53;
pub const envoy_dynamic_module_type_attribute_id_UpstreamCxPoolReadyDuration:
    envoy_dynamic_module_type_attribute_id = 54;
pub const envoy_dynamic_module_type_attribute_id_UpstreamLocality:
    envoy_dynamic_module_type_attribute_id = 55;
pub const envoy_dynamic_module_type_attribute_id_XdsNode: envoy_dynamic_module_type_attribute_id =
    56;
pub const envoy_dynamic_module_type_attribute_id_XdsClusterName:
    envoy_dynamic_module_type_attribute_id = 57;
pub const envoy_dynamic_module_type_attribute_id_XdsClusterMetadata:
    envoy_dynamic_module_type_attribute_id = 58;
pub const envoy_dynamic_module_type_attribute_id_XdsListenerDirection:
    envoy_dynamic_module_type_attribute_id = 59;
pub const envoy_dynamic_module_type_attribute_id_XdsListenerMetadata:
    envoy_dynamic_module_type_attribute_id = 60;
pub const envoy_dynamic_module_type_attribute_id_XdsRouteName:
    envoy_dynamic_module_type_attribute_id = 61;
pub const envoy_dynamic_module_type_attribute_id_XdsRouteMetadata:
    envoy_dynamic_module_type_attribute_id = 62;
pub const envoy_dynamic_module_type_attribute_id_XdsVirtualHostName:
    envoy_dynamic_module_type_attribute_id = 63;
pub const envoy_dynamic_module_type_attribute_id_XdsVirtualHostMetadata:
    envoy_dynamic_module_type_attribute_id = 64;
pub const envoy_dynamic_module_type_attribute_id_XdsUpstreamHostMetadata:
    envoy_dynamic_module_type_attribute_id = 65;
pub const envoy_dynamic_module_type_attribute_id_XdsFilterChainName:
    envoy_dynamic_module_type_attribute_id = 66;
pub const envoy_dynamic_module_type_attribute_id_HealthCheck:
    envoy_dynamic_module_type_attribute_id = 67;
pub const envoy_dynamic_module_type_attribute_id_UpstreamRequestedServerName:
    envoy_dynamic_module_type_attribute_id = 68;
pub const envoy_dynamic_module_type_attribute_id_XdsVirtualClusterName:
    envoy_dynamic_module_type_attribute_id = 69;
pub const envoy_dynamic_module_type_attribute_id_UpstreamProtocol:
    envoy_dynamic_module_type_attribute_id = 70;
pub type envoy_dynamic_module_type_socket_option_state = u32;
pub const envoy_dynamic_module_type_socket_option_state_Prebind:
    envoy_dynamic_module_type_socket_option_state = 0;
pub const envoy_dynamic_module_type_socket_option_state_Bound:
    envoy_dynamic_module_type_socket_option_state = 1;
pub const envoy_dynamic_module_type_socket_option_state_Listening:
    envoy_dynamic_module_type_socket_option_state = 2;
pub type envoy_dynamic_module_type_socket_option_value_type = u32;
pub const envoy_dynamic_module_type_socket_option_value_type_Int:
    envoy_dynamic_module_type_socket_option_value_type = 0;
pub const envoy_dynamic_module_type_socket_option_value_type_Bytes:
    envoy_dynamic_module_type_socket_option_value_type = 1;
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_socket_option {
    pub level: i64,
    pub name: i64,
    pub state: envoy_dynamic_module_type_socket_option_state,
    pub value_type: envoy_dynamic_module_type_socket_option_value_type,
    pub int_value: i64,
    pub byte_value: envoy_dynamic_module_type_envoy_buffer,
}
pub type envoy_dynamic_module_type_address_type = u32;
pub const envoy_dynamic_module_type_address_type_Unknown: envoy_dynamic_module_type_address_type =
    0;
pub const envoy_dynamic_module_type_address_type_Ip: envoy_dynamic_module_type_address_type = 1;
pub const envoy_dynamic_module_type_address_type_Pipe: envoy_dynamic_module_type_address_type = 2;
pub const envoy_dynamic_module_type_address_type_EnvoyInternal:
    envoy_dynamic_module_type_address_type = 3;
pub type envoy_dynamic_module_type_socket_direction = u32;
pub const envoy_dynamic_module_type_socket_direction_Upstream:
    envoy_dynamic_module_type_socket_direction = 0;
pub const envoy_dynamic_module_type_socket_direction_Downstream:
    envoy_dynamic_module_type_socket_direction = 1;
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct envoy_dynamic_module_type_timing_info_v2 {
    pub start_time_unix_ns: i64,
    pub downstream_connection_begin_ns: i64,
    pub downstream_handshake_start_ns: i64,
    pub downstream_handshake_complete_ns: i64,
    pub last_downstream_header_rx_byte_received_ns: i64,
    pub last_downstream_rx_byte_received_ns: i64,
    pub upstream_connect_start_ns: i64,
    pub upstream_connect_complete_ns: i64,
    pub upstream_handshake_complete_ns: i64,
    pub first_upstream_tx_byte_sent_ns: i64,
    pub last_upstream_tx_byte_sent_ns: i64,
    pub first_upstream_rx_byte_received_ns: i64,
    pub first_upstream_rx_body_byte_received_ns: i64,
    pub last_upstream_rx_byte_received_ns: i64,
    pub first_downstream_tx_byte_sent_ns: i64,
    pub last_downstream_tx_byte_sent_ns: i64,
    pub last_downstream_ack_received_ns: i64,
    pub request_complete_duration_ns: i64,
    pub downstream_connection_end_ns: i64,
    pub has_start_time: bool,
    pub has_downstream_connection_begin: bool,
    pub has_downstream_handshake_start: bool,
    pub has_downstream_handshake_complete: bool,
    pub has_last_downstream_header_rx_byte_received: bool,
    pub has_last_downstream_rx_byte_received: bool,
    pub has_upstream_connect_start: bool,
    pub has_upstream_connect_complete: bool,
    pub has_upstream_handshake_complete: bool,
    pub has_first_upstream_tx_byte_sent: bool,
    pub has_last_upstream_tx_byte_sent: bool,
    pub has_first_upstream_rx_byte_received: bool,
    pub has_first_upstream_rx_body_byte_received: bool,
    pub has_last_upstream_rx_byte_received: bool,
    pub has_first_downstream_tx_byte_sent: bool,
    pub has_last_downstream_tx_byte_sent: bool,
    pub has_last_downstream_ack_received: bool,
    pub has_request_complete: bool,
    pub has_downstream_connection_end: bool,
}

// ---- HTTP Filter: types ----
// Handles and status codes of the HTTP filter extension point (`envoy.filters.http.dynamic_modules`).
// `*_envoy_ptr` handles are owned by Envoy; `*_module_ptr` values are the module's own objects.
pub type envoy_dynamic_module_type_http_filter_config_envoy_ptr = *mut c_void;
pub type envoy_dynamic_module_type_http_filter_config_module_ptr = *const c_void;
pub type envoy_dynamic_module_type_http_filter_per_route_config_module_ptr = *const c_void;
pub type envoy_dynamic_module_type_http_filter_envoy_ptr = *mut c_void;
pub type envoy_dynamic_module_type_http_filter_module_ptr = *const c_void;
pub type envoy_dynamic_module_type_http_filter_scheduler_module_ptr = *mut c_void;
pub type envoy_dynamic_module_type_http_filter_config_scheduler_module_ptr = *mut c_void;
pub type envoy_dynamic_module_type_http_body_type = u32;
pub const envoy_dynamic_module_type_http_body_type_ReceivedRequestBody:
    envoy_dynamic_module_type_http_body_type = 0;
pub const envoy_dynamic_module_type_http_body_type_BufferedRequestBody:
    envoy_dynamic_module_type_http_body_type = 1;
pub const envoy_dynamic_module_type_http_body_type_ReceivedResponseBody:
    envoy_dynamic_module_type_http_body_type = 2;
pub const envoy_dynamic_module_type_http_body_type_BufferedResponseBody:
    envoy_dynamic_module_type_http_body_type = 3;
pub type envoy_dynamic_module_type_on_http_filter_request_headers_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_request_headers_status_Continue:
    envoy_dynamic_module_type_on_http_filter_request_headers_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_request_headers_status_StopIteration:
    envoy_dynamic_module_type_on_http_filter_request_headers_status = 1;
pub const envoy_dynamic_module_type_on_http_filter_request_headers_status_ContinueAndDontEndStream: envoy_dynamic_module_type_on_http_filter_request_headers_status = 2;
pub const envoy_dynamic_module_type_on_http_filter_request_headers_status_StopAllIterationAndBuffer: envoy_dynamic_module_type_on_http_filter_request_headers_status = 3;
pub const envoy_dynamic_module_type_on_http_filter_request_headers_status_StopAllIterationAndWatermark: envoy_dynamic_module_type_on_http_filter_request_headers_status = 4;
pub type envoy_dynamic_module_type_on_http_filter_request_body_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_request_body_status_Continue:
    envoy_dynamic_module_type_on_http_filter_request_body_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_request_body_status_StopIterationAndBuffer:
    envoy_dynamic_module_type_on_http_filter_request_body_status = 1;
pub const envoy_dynamic_module_type_on_http_filter_request_body_status_StopIterationAndWatermark:
    envoy_dynamic_module_type_on_http_filter_request_body_status = 2;
pub const envoy_dynamic_module_type_on_http_filter_request_body_status_StopIterationNoBuffer:
    envoy_dynamic_module_type_on_http_filter_request_body_status = 3;
pub type envoy_dynamic_module_type_on_http_filter_request_trailers_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_request_trailers_status_Continue:
    envoy_dynamic_module_type_on_http_filter_request_trailers_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_request_trailers_status_StopIteration:
    envoy_dynamic_module_type_on_http_filter_request_trailers_status = 1;
pub type envoy_dynamic_module_type_on_http_filter_response_headers_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_response_headers_status_Continue:
    envoy_dynamic_module_type_on_http_filter_response_headers_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_response_headers_status_StopIteration:
    envoy_dynamic_module_type_on_http_filter_response_headers_status = 1;
pub const envoy_dynamic_module_type_on_http_filter_response_headers_status_ContinueAndDontEndStream: envoy_dynamic_module_type_on_http_filter_response_headers_status = 2;
pub const envoy_dynamic_module_type_on_http_filter_response_headers_status_StopAllIterationAndBuffer: envoy_dynamic_module_type_on_http_filter_response_headers_status = 3;
pub const envoy_dynamic_module_type_on_http_filter_response_headers_status_StopAllIterationAndWatermark: envoy_dynamic_module_type_on_http_filter_response_headers_status = 4;
pub type envoy_dynamic_module_type_on_http_filter_response_body_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_response_body_status_Continue:
    envoy_dynamic_module_type_on_http_filter_response_body_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_response_body_status_StopIterationAndBuffer:
    envoy_dynamic_module_type_on_http_filter_response_body_status = 1;
pub const envoy_dynamic_module_type_on_http_filter_response_body_status_StopIterationAndWatermark: envoy_dynamic_module_type_on_http_filter_response_body_status = 2;
pub const envoy_dynamic_module_type_on_http_filter_response_body_status_StopIterationNoBuffer:
    envoy_dynamic_module_type_on_http_filter_response_body_status = 3;
pub type envoy_dynamic_module_type_on_http_filter_response_trailers_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_response_trailers_status_Continue:
    envoy_dynamic_module_type_on_http_filter_response_trailers_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_response_trailers_status_StopIteration:
    envoy_dynamic_module_type_on_http_filter_response_trailers_status = 1;
pub type envoy_dynamic_module_type_on_http_filter_local_reply_status = u32;
pub const envoy_dynamic_module_type_on_http_filter_local_reply_status_Continue:
    envoy_dynamic_module_type_on_http_filter_local_reply_status = 0;
pub const envoy_dynamic_module_type_on_http_filter_local_reply_status_ContinueAndResetStream:
    envoy_dynamic_module_type_on_http_filter_local_reply_status = 1;
pub type envoy_dynamic_module_type_http_filter_stream_reset_reason = u32;
pub const envoy_dynamic_module_type_http_filter_stream_reset_reason_LocalReset:
    envoy_dynamic_module_type_http_filter_stream_reset_reason = 0;
pub const envoy_dynamic_module_type_http_filter_stream_reset_reason_LocalRefusedStreamReset:
    envoy_dynamic_module_type_http_filter_stream_reset_reason = 1;
pub type envoy_dynamic_module_type_filter_state_life_span = u32;
pub const envoy_dynamic_module_type_filter_state_life_span_FilterChain:
    envoy_dynamic_module_type_filter_state_life_span = 0;
pub const envoy_dynamic_module_type_filter_state_life_span_Request:
    envoy_dynamic_module_type_filter_state_life_span = 1;
pub const envoy_dynamic_module_type_filter_state_life_span_Connection:
    envoy_dynamic_module_type_filter_state_life_span = 2;
pub type envoy_dynamic_module_type_filter_state_object_module_ptr = *mut c_void;
pub type envoy_dynamic_module_type_filter_state_object_destructor = Option<
    unsafe extern "C" fn(module_object: envoy_dynamic_module_type_filter_state_object_module_ptr),
>;
pub type envoy_dynamic_module_type_span_envoy_ptr = *mut c_void;
pub type envoy_dynamic_module_type_child_span_module_ptr = *mut c_void;

// ---- Network Filter: types ----
// Handles and status codes of the network (TCP) filter extension point.
pub type envoy_dynamic_module_type_network_filter_config_envoy_ptr = *mut c_void;
pub type envoy_dynamic_module_type_network_filter_config_module_ptr = *const c_void;
pub type envoy_dynamic_module_type_network_filter_envoy_ptr = *mut c_void;
pub type envoy_dynamic_module_type_network_filter_module_ptr = *const c_void;
pub type envoy_dynamic_module_type_network_filter_scheduler_module_ptr = *mut c_void;
pub type envoy_dynamic_module_type_network_filter_config_scheduler_module_ptr = *mut c_void;
pub type envoy_dynamic_module_type_on_network_filter_data_status = u32;
pub const envoy_dynamic_module_type_on_network_filter_data_status_Continue:
    envoy_dynamic_module_type_on_network_filter_data_status = 0;
pub const envoy_dynamic_module_type_on_network_filter_data_status_StopIteration:
    envoy_dynamic_module_type_on_network_filter_data_status = 1;
pub type envoy_dynamic_module_type_network_connection_close_type = u32;
pub const envoy_dynamic_module_type_network_connection_close_type_FlushWrite:
    envoy_dynamic_module_type_network_connection_close_type = 0;
pub const envoy_dynamic_module_type_network_connection_close_type_NoFlush:
    envoy_dynamic_module_type_network_connection_close_type = 1;
pub const envoy_dynamic_module_type_network_connection_close_type_FlushWriteAndDelay:
    envoy_dynamic_module_type_network_connection_close_type = 2;
pub const envoy_dynamic_module_type_network_connection_close_type_Abort:
    envoy_dynamic_module_type_network_connection_close_type = 3;
pub const envoy_dynamic_module_type_network_connection_close_type_AbortReset:
    envoy_dynamic_module_type_network_connection_close_type = 4;
pub type envoy_dynamic_module_type_network_connection_event = u32;
pub const envoy_dynamic_module_type_network_connection_event_RemoteClose:
    envoy_dynamic_module_type_network_connection_event = 0;
pub const envoy_dynamic_module_type_network_connection_event_LocalClose:
    envoy_dynamic_module_type_network_connection_event = 1;
pub const envoy_dynamic_module_type_network_connection_event_Connected:
    envoy_dynamic_module_type_network_connection_event = 2;
pub const envoy_dynamic_module_type_network_connection_event_ConnectedZeroRtt:
    envoy_dynamic_module_type_network_connection_event = 3;
pub type envoy_dynamic_module_type_network_connection_state = u32;
pub const envoy_dynamic_module_type_network_connection_state_Open:
    envoy_dynamic_module_type_network_connection_state = 0;
pub const envoy_dynamic_module_type_network_connection_state_Closing:
    envoy_dynamic_module_type_network_connection_state = 1;
pub const envoy_dynamic_module_type_network_connection_state_Closed:
    envoy_dynamic_module_type_network_connection_state = 2;
pub type envoy_dynamic_module_type_network_read_disable_status = u32;
pub const envoy_dynamic_module_type_network_read_disable_status_NoTransition:
    envoy_dynamic_module_type_network_read_disable_status = 0;
pub const envoy_dynamic_module_type_network_read_disable_status_StillReadDisabled:
    envoy_dynamic_module_type_network_read_disable_status = 1;
pub const envoy_dynamic_module_type_network_read_disable_status_TransitionedToReadEnabled:
    envoy_dynamic_module_type_network_read_disable_status = 2;
pub const envoy_dynamic_module_type_network_read_disable_status_TransitionedToReadDisabled:
    envoy_dynamic_module_type_network_read_disable_status = 3;

// ---- Common: hooks ----
/// Hook `envoy_dynamic_module_on_program_init`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_program_init =
    unsafe extern "C" fn() -> envoy_dynamic_module_type_abi_version_module_ptr;

// ---- HTTP Filter: hooks ----
/// Hook `envoy_dynamic_module_on_http_filter_config_new`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_config_new =
    unsafe extern "C" fn(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_envoy_buffer,
        config: envoy_dynamic_module_type_envoy_buffer,
    ) -> envoy_dynamic_module_type_http_filter_config_module_ptr;
/// Hook `envoy_dynamic_module_on_http_filter_config_destroy`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_config_destroy = unsafe extern "C" fn(
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
);
/// Hook `envoy_dynamic_module_on_http_filter_per_route_config_new`. **Required only when a per-route config for this module is used** (resolved when building it).
pub type envoy_dynamic_module_on_http_filter_per_route_config_new =
    unsafe extern "C" fn(
        name: envoy_dynamic_module_type_envoy_buffer,
        config: envoy_dynamic_module_type_envoy_buffer,
    ) -> envoy_dynamic_module_type_http_filter_per_route_config_module_ptr;
/// Hook `envoy_dynamic_module_on_http_filter_per_route_config_destroy`. **Required only when a per-route config for this module is used** (resolved when building it).
pub type envoy_dynamic_module_on_http_filter_per_route_config_destroy = unsafe extern "C" fn(
    filter_config_ptr: envoy_dynamic_module_type_http_filter_per_route_config_module_ptr,
);
/// Hook `envoy_dynamic_module_on_http_filter_new`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_new =
    unsafe extern "C" fn(
        filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_http_filter_module_ptr;
/// Hook `envoy_dynamic_module_on_http_filter_request_headers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_request_headers =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
        end_of_stream: bool,
    ) -> envoy_dynamic_module_type_on_http_filter_request_headers_status;
/// Hook `envoy_dynamic_module_on_http_filter_request_body`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_request_body =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
        end_of_stream: bool,
    ) -> envoy_dynamic_module_type_on_http_filter_request_body_status;
/// Hook `envoy_dynamic_module_on_http_filter_request_trailers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_request_trailers =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    ) -> envoy_dynamic_module_type_on_http_filter_request_trailers_status;
/// Hook `envoy_dynamic_module_on_http_filter_response_headers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_response_headers =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
        end_of_stream: bool,
    ) -> envoy_dynamic_module_type_on_http_filter_response_headers_status;
/// Hook `envoy_dynamic_module_on_http_filter_response_body`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_response_body =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
        end_of_stream: bool,
    ) -> envoy_dynamic_module_type_on_http_filter_response_body_status;
/// Hook `envoy_dynamic_module_on_http_filter_response_trailers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_response_trailers =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    ) -> envoy_dynamic_module_type_on_http_filter_response_trailers_status;
/// Hook `envoy_dynamic_module_on_http_filter_stream_complete`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_stream_complete = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
);
/// Hook `envoy_dynamic_module_on_http_filter_destroy`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_destroy =
    unsafe extern "C" fn(filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr);
/// Hook `envoy_dynamic_module_on_http_filter_http_callout_done`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_callout_done = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    callout_id: u64,
    result: envoy_dynamic_module_type_http_callout_result,
    headers: *mut envoy_dynamic_module_type_envoy_http_header,
    headers_size: usize,
    body_chunks: *mut envoy_dynamic_module_type_envoy_buffer,
    body_chunks_size: usize,
);
/// Hook `envoy_dynamic_module_on_http_filter_http_stream_headers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_stream_headers = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    stream_id: u64,
    headers: *mut envoy_dynamic_module_type_envoy_http_header,
    headers_size: usize,
    end_stream: bool,
);
/// Hook `envoy_dynamic_module_on_http_filter_http_stream_data`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_stream_data = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    stream_id: u64,
    data: *const envoy_dynamic_module_type_envoy_buffer,
    data_count: usize,
    end_stream: bool,
);
/// Hook `envoy_dynamic_module_on_http_filter_http_stream_trailers`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_stream_trailers = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    stream_id: u64,
    trailers: *mut envoy_dynamic_module_type_envoy_http_header,
    trailers_size: usize,
);
/// Hook `envoy_dynamic_module_on_http_filter_http_stream_complete`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_stream_complete = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    stream_id: u64,
);
/// Hook `envoy_dynamic_module_on_http_filter_http_stream_reset`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_http_stream_reset = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    stream_id: u64,
    reason: envoy_dynamic_module_type_http_stream_reset_reason,
);
/// Hook `envoy_dynamic_module_on_http_filter_scheduled`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_scheduled = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    event_id: u64,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_scheduled`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_scheduled = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    event_id: u64,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_callout_done`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_callout_done = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    callout_id: u64,
    result: envoy_dynamic_module_type_http_callout_result,
    headers: *mut envoy_dynamic_module_type_envoy_http_header,
    headers_size: usize,
    body_chunks: *mut envoy_dynamic_module_type_envoy_buffer,
    body_chunks_size: usize,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_stream_headers`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_stream_headers = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    stream_id: u64,
    headers: *mut envoy_dynamic_module_type_envoy_http_header,
    headers_size: usize,
    end_stream: bool,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_stream_data`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_stream_data = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    stream_id: u64,
    data: *const envoy_dynamic_module_type_envoy_buffer,
    data_count: usize,
    end_stream: bool,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_stream_trailers`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_stream_trailers = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    stream_id: u64,
    trailers: *mut envoy_dynamic_module_type_envoy_http_header,
    trailers_size: usize,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_stream_complete`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_stream_complete = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    stream_id: u64,
);
/// Hook `envoy_dynamic_module_on_http_filter_config_http_stream_reset`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_config_http_stream_reset = unsafe extern "C" fn(
    filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    filter_config_ptr: envoy_dynamic_module_type_http_filter_config_module_ptr,
    stream_id: u64,
    reason: envoy_dynamic_module_type_http_stream_reset_reason,
);
/// Hook `envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    );
/// Hook `envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
    );
/// Hook `envoy_dynamic_module_on_http_filter_local_reply`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_http_filter_local_reply =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_http_filter_module_ptr,
        response_code: u32,
        details: envoy_dynamic_module_type_envoy_buffer,
        reset_imminent: bool,
    ) -> envoy_dynamic_module_type_on_http_filter_local_reply_status;

// ---- Network Filter: hooks ----
/// Hook `envoy_dynamic_module_on_network_filter_config_new`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_config_new =
    unsafe extern "C" fn(
        filter_config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_envoy_buffer,
        config: envoy_dynamic_module_type_envoy_buffer,
    ) -> envoy_dynamic_module_type_network_filter_config_module_ptr;
/// Hook `envoy_dynamic_module_on_network_filter_config_destroy`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_config_destroy = unsafe extern "C" fn(
    filter_config_ptr: envoy_dynamic_module_type_network_filter_config_module_ptr,
);
/// Hook `envoy_dynamic_module_on_network_filter_new`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_new =
    unsafe extern "C" fn(
        filter_config_ptr: envoy_dynamic_module_type_network_filter_config_module_ptr,
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_network_filter_module_ptr;
/// Hook `envoy_dynamic_module_on_network_filter_new_connection`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_new_connection =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    ) -> envoy_dynamic_module_type_on_network_filter_data_status;
/// Hook `envoy_dynamic_module_on_network_filter_read`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_read =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
        data_length: usize,
        end_stream: bool,
    ) -> envoy_dynamic_module_type_on_network_filter_data_status;
/// Hook `envoy_dynamic_module_on_network_filter_write`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_write =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
        data_length: usize,
        end_stream: bool,
    ) -> envoy_dynamic_module_type_on_network_filter_data_status;
/// Hook `envoy_dynamic_module_on_network_filter_event`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_event = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    event: envoy_dynamic_module_type_network_connection_event,
);
/// Hook `envoy_dynamic_module_on_network_filter_destroy`. **Required**: Envoy refuses the module/config when the symbol is missing.
pub type envoy_dynamic_module_on_network_filter_destroy =
    unsafe extern "C" fn(filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr);
/// Hook `envoy_dynamic_module_on_network_filter_http_callout_done`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_network_filter_http_callout_done = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    callout_id: u64,
    result: envoy_dynamic_module_type_http_callout_result,
    headers: *mut envoy_dynamic_module_type_envoy_http_header,
    headers_size: usize,
    body_chunks: *mut envoy_dynamic_module_type_envoy_buffer,
    body_chunks_size: usize,
);
/// Hook `envoy_dynamic_module_on_network_filter_scheduled`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_network_filter_scheduled = unsafe extern "C" fn(
    filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    event_id: u64,
);
/// Hook `envoy_dynamic_module_on_network_filter_config_scheduled`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_network_filter_config_scheduled = unsafe extern "C" fn(
    filter_config_ptr: envoy_dynamic_module_type_network_filter_config_module_ptr,
    event_id: u64,
);
/// Hook `envoy_dynamic_module_on_network_filter_above_write_buffer_high_watermark`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_network_filter_above_write_buffer_high_watermark =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    );
/// Hook `envoy_dynamic_module_on_network_filter_below_write_buffer_low_watermark`. Optional: Envoy resolves it only if exported.
pub type envoy_dynamic_module_on_network_filter_below_write_buffer_low_watermark =
    unsafe extern "C" fn(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_module_ptr: envoy_dynamic_module_type_network_filter_module_ptr,
    );

extern "C" {

    // ---- Common: callbacks ----
    // Logging
    pub fn envoy_dynamic_module_callback_log(
        level: envoy_dynamic_module_type_log_level,
        message: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_log_enabled(
        level: envoy_dynamic_module_type_log_level,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_get_log_level() -> envoy_dynamic_module_type_log_level;
    // Threading
    pub fn envoy_dynamic_module_callback_get_concurrency() -> u32;
    // Server Mode
    pub fn envoy_dynamic_module_callback_is_validation_mode() -> bool;
    // Function Registry
    pub fn envoy_dynamic_module_callback_register_function(
        key: envoy_dynamic_module_type_module_buffer,
        function_ptr: *mut c_void,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_get_function(
        key: envoy_dynamic_module_type_module_buffer,
        function_ptr_out: *mut *mut c_void,
    ) -> bool;
    // Shared Data Registry
    pub fn envoy_dynamic_module_callback_register_shared_data(
        key: envoy_dynamic_module_type_module_buffer,
        data_ptr: *mut c_void,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_get_shared_data(
        key: envoy_dynamic_module_type_module_buffer,
        data_ptr_out: *mut *mut c_void,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_log_v2(
        level: envoy_dynamic_module_type_log_level,
        message: envoy_dynamic_module_type_module_buffer,
        source_file: envoy_dynamic_module_type_module_buffer,
        source_line: u32,
    );
    pub fn envoy_dynamic_module_callback_get_runtime_bool(
        key: envoy_dynamic_module_type_module_buffer,
        default_value: bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_get_runtime_int(
        key: envoy_dynamic_module_type_module_buffer,
        default_value: u64,
    ) -> u64;
    pub fn envoy_dynamic_module_callback_get_runtime_number(
        key: envoy_dynamic_module_type_module_buffer,
        default_value: f64,
    ) -> f64;

    // ---- HTTP Filter: callbacks ----
    // Metrics callbacks
    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        label_names: *mut envoy_dynamic_module_type_module_buffer,
        label_names_length: usize,
        counter_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        label_names: *mut envoy_dynamic_module_type_module_buffer,
        label_names_length: usize,
        gauge_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_increment_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_decrement_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_set_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_define_histogram(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        label_names: *mut envoy_dynamic_module_type_module_buffer,
        label_names_length: usize,
        histogram_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_record_histogram_value(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_increment_counter(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_increment_gauge(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_decrement_gauge(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_set_gauge(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_record_histogram_value(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        label_values: *mut envoy_dynamic_module_type_module_buffer,
        label_values_length: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    // HTTP Header/Trailer callbacks
    pub fn envoy_dynamic_module_callback_http_get_header(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
        key: envoy_dynamic_module_type_module_buffer,
        result_buffer: *mut envoy_dynamic_module_type_envoy_buffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_header_values(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
        key: envoy_dynamic_module_type_module_buffer,
        result_buffer: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
        result_headers: *mut envoy_dynamic_module_type_envoy_http_header,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        header_type: envoy_dynamic_module_type_http_header_type,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    // HTTP local response callbacks
    pub fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        status_code: u32,
        headers_vector: *mut envoy_dynamic_module_type_module_http_header,
        headers_vector_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        details: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_send_response_headers(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        headers_vector: *mut envoy_dynamic_module_type_module_http_header,
        headers_vector_size: usize,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_http_send_response_data(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_http_send_response_trailers(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        trailers_vector: *mut envoy_dynamic_module_type_module_http_header,
        trailers_vector_size: usize,
    );
    // HTTP Request/Response body callbacks
    pub fn envoy_dynamic_module_callback_http_get_body_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        body_type: envoy_dynamic_module_type_http_body_type,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        body_type: envoy_dynamic_module_type_http_body_type,
        result_buffer_vector: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        body_type: envoy_dynamic_module_type_http_body_type,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_append_body(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        body_type: envoy_dynamic_module_type_http_body_type,
        data: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_drain_body(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        body_type: envoy_dynamic_module_type_http_body_type,
        number_of_bytes: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_received_buffered_request_body(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_received_buffered_response_body(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> bool;
    // Metadata Callbacks
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_number(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: f64,
    );
    pub fn envoy_dynamic_module_callback_http_get_metadata_number(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut f64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_string(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        entries: *const envoy_dynamic_module_type_module_key_value_pair,
        entries_size: usize,
    );
    pub fn envoy_dynamic_module_callback_http_get_metadata_string(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: bool,
    );
    pub fn envoy_dynamic_module_callback_http_get_metadata_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_keys_count(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_metadata_keys(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        result_buffer_vector: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_namespaces_count(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_metadata_namespaces(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        result_buffer_vector: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_dynamic_metadata_list_number(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: f64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_dynamic_metadata_list_string(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_dynamic_metadata_list_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_list_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_list_number(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        index: usize,
        result: *mut f64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_list_string(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        index: usize,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_metadata_list_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        index: usize,
        result: *mut bool,
    ) -> bool;
    // Filter State Callbacks
    pub fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_filter_state_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_filter_state_typed(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_filter_state_typed(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_filter_state_object(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        module_object: envoy_dynamic_module_type_filter_state_object_module_ptr,
        destructor: envoy_dynamic_module_type_filter_state_object_destructor,
        life_span: envoy_dynamic_module_type_filter_state_life_span,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_filter_state_object(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
    ) -> envoy_dynamic_module_type_filter_state_object_module_ptr;
    // Other HTTP filter callbacks
    pub fn envoy_dynamic_module_callback_http_add_custom_flag(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        flag: envoy_dynamic_module_type_module_buffer,
    );
    // HTTP filter scheduler callbacks
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_new(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_http_filter_scheduler_module_ptr;
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_commit(
        scheduler_module_ptr: envoy_dynamic_module_type_http_filter_scheduler_module_ptr,
        event_id: u64,
    );
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_delete(
        scheduler_module_ptr: envoy_dynamic_module_type_http_filter_scheduler_module_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_new(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
    ) -> envoy_dynamic_module_type_http_filter_config_scheduler_module_ptr;
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_delete(
        scheduler_module_ptr: envoy_dynamic_module_type_http_filter_config_scheduler_module_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_commit(
        scheduler_module_ptr: envoy_dynamic_module_type_http_filter_config_scheduler_module_ptr,
        event_id: u64,
    );
    // Misc Callbacks for HTTP Filters
    pub fn envoy_dynamic_module_callback_http_clear_route_cache(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_int(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut u64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_http_callout(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        callout_id_out: *mut u64,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        timeout_milliseconds: u64,
    ) -> envoy_dynamic_module_type_http_callout_init_result;
    pub fn envoy_dynamic_module_callback_http_filter_start_http_stream(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        stream_id_out: *mut u64,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
        timeout_milliseconds: u64,
    ) -> envoy_dynamic_module_type_http_callout_init_result;
    pub fn envoy_dynamic_module_callback_http_filter_reset_http_stream(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        stream_id: u64,
    );
    pub fn envoy_dynamic_module_callback_http_stream_send_data(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        stream_id: u64,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_stream_send_trailers(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        stream_id: u64,
        trailers: *mut envoy_dynamic_module_type_module_http_header,
        trailers_size: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_config_http_callout(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        callout_id_out: *mut u64,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        timeout_milliseconds: u64,
    ) -> envoy_dynamic_module_type_http_callout_init_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_start_http_stream(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        stream_id_out: *mut u64,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
        timeout_milliseconds: u64,
    ) -> envoy_dynamic_module_type_http_callout_init_result;
    pub fn envoy_dynamic_module_callback_http_filter_config_reset_http_stream(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        stream_id: u64,
    );
    pub fn envoy_dynamic_module_callback_http_filter_config_stream_send_data(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        stream_id: u64,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_config_stream_send_trailers(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        stream_id: u64,
        trailers: *mut envoy_dynamic_module_type_module_http_header,
        trailers_size: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_continue_decoding(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_filter_continue_encoding(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_get_most_specific_route_config(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_http_filter_per_route_config_module_ptr;
    // Http Filter Callbacks - Misc
    pub fn envoy_dynamic_module_callback_http_filter_get_worker_index(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> u32;
    // HTTP filter socket option callbacks
    pub fn envoy_dynamic_module_callback_http_set_socket_option_int(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        direction: envoy_dynamic_module_type_socket_direction,
        value: i64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_socket_option_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        direction: envoy_dynamic_module_type_socket_direction,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_socket_option_int(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        direction: envoy_dynamic_module_type_socket_direction,
        value_out: *mut i64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_socket_option_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        direction: envoy_dynamic_module_type_socket_direction,
        value_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    // HTTP filter buffer limit callbacks
    pub fn envoy_dynamic_module_callback_http_get_buffer_limit(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> u64;
    pub fn envoy_dynamic_module_callback_http_set_buffer_limit(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        limit: u64,
    );
    // Tracing callbacks
    pub fn envoy_dynamic_module_callback_http_get_active_span(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_span_envoy_ptr;
    pub fn envoy_dynamic_module_callback_http_span_set_tag(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_span_set_operation(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        operation: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_span_log(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        span: envoy_dynamic_module_type_span_envoy_ptr,
        event: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_span_set_sampled(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        sampled: bool,
    );
    pub fn envoy_dynamic_module_callback_http_span_disable_local_decision(
        span: envoy_dynamic_module_type_span_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_span_get_baggage(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_span_set_baggage(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_span_get_trace_id(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_span_get_span_id(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_span_spawn_child(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        span: envoy_dynamic_module_type_span_envoy_ptr,
        operation_name: envoy_dynamic_module_type_module_buffer,
    ) -> envoy_dynamic_module_type_child_span_module_ptr;
    pub fn envoy_dynamic_module_callback_http_child_span_finish(
        span: envoy_dynamic_module_type_child_span_module_ptr,
    );
    // Cluster/Upstream Information Callbacks
    pub fn envoy_dynamic_module_callback_http_get_cluster_name(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_cluster_host_count(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        priority: u32,
        total_count: *mut usize,
        healthy_count: *mut usize,
        degraded_count: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_upstream_override_host(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        host: envoy_dynamic_module_type_module_buffer,
        strict: bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_upstream_connection_id(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> u64;
    // Stream Control Callbacks
    pub fn envoy_dynamic_module_callback_http_filter_reset_stream(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        reason: envoy_dynamic_module_type_http_filter_stream_reset_reason,
        details: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_filter_send_go_away_and_close(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        graceful: bool,
    );
    pub fn envoy_dynamic_module_callback_http_filter_recreate_stream(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_clear_route_cluster_cache(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_http_filter_config_generic_secret_subscribe(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        sds_config_source: envoy_dynamic_module_type_module_buffer,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_filter_get_generic_secret(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        id: usize,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_config_get_generic_secret(
        filter_config_envoy_ptr: envoy_dynamic_module_type_http_filter_config_envoy_ptr,
        id: usize,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        serialized_struct: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_set_dynamic_typed_metadata(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        ns: envoy_dynamic_module_type_module_buffer,
        serialized_any: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_http_has_filter_state(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_timing_info(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        timing_out: *mut envoy_dynamic_module_type_timing_info_v2,
    );
    pub fn envoy_dynamic_module_callback_http_get_upstream_remote_address(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_upstream_hosts_attempted_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_upstream_hosts_attempted(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        hosts_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_upstream_connection_ids_attempted_size(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_upstream_connection_ids_attempted(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        connection_ids_out: *mut u64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_typed_metadata(
        filter_envoy_ptr: envoy_dynamic_module_type_http_filter_envoy_ptr,
        metadata_source: envoy_dynamic_module_type_metadata_source,
        ns: envoy_dynamic_module_type_module_buffer,
        type_url: *mut envoy_dynamic_module_type_envoy_buffer,
        value: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_span_set_tag_batch(
        span: envoy_dynamic_module_type_span_envoy_ptr,
        tags: *const envoy_dynamic_module_type_module_key_value_pair,
        tags_size: usize,
    );

    // ---- Network Filter: callbacks ----
    // Socket Option Callbacks
    pub fn envoy_dynamic_module_callback_network_set_socket_option_int(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        value: i64,
    );
    pub fn envoy_dynamic_module_callback_network_set_socket_option_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        value: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_network_get_socket_option_int(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        value_out: *mut i64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_get_socket_option_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        level: i64,
        name: i64,
        state: envoy_dynamic_module_type_socket_option_state,
        value_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_get_socket_options_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_get_socket_options(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        options_out: *mut envoy_dynamic_module_type_socket_option,
    );
    pub fn envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_read_buffer_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        result_buffer_vector: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_write_buffer_chunks_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_write_buffer_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_write_buffer_chunks(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        result_buffer_vector: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_drain_read_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        length: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_drain_write_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        length: usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_prepend_read_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_append_read_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_prepend_write_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_append_write_buffer(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_write(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_network_filter_inject_read_data(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_network_filter_inject_write_data(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        data: envoy_dynamic_module_type_module_buffer,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_network_filter_continue_reading(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    );
    pub fn envoy_dynamic_module_callback_network_filter_close(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        close_type: envoy_dynamic_module_type_network_connection_close_type,
    );
    pub fn envoy_dynamic_module_callback_network_filter_get_connection_id(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> u64;
    pub fn envoy_dynamic_module_callback_network_filter_get_remote_address(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        address_out: *mut envoy_dynamic_module_type_envoy_buffer,
        port_out: *mut u32,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_local_address(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        address_out: *mut envoy_dynamic_module_type_envoy_buffer,
        port_out: *mut u32,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_is_ssl(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_disable_close(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        disabled: bool,
    );
    pub fn envoy_dynamic_module_callback_network_filter_close_with_details(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        close_type: envoy_dynamic_module_type_network_connection_close_type,
        details: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_network_filter_get_requested_server_name(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        result_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_direct_remote_address(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        address_out: *mut envoy_dynamic_module_type_envoy_buffer,
        port_out: *mut u32,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_ssl_uri_sans_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_ssl_uri_sans(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        sans_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_ssl_dns_sans_size(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_network_filter_get_ssl_dns_sans(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        sans_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_ssl_subject(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        result_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    // Filter State Callbacks
    pub fn envoy_dynamic_module_callback_network_set_filter_state_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_get_filter_state_bytes(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_set_filter_state_typed(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_get_filter_state_typed(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        key: envoy_dynamic_module_type_module_buffer,
        value_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    // Dynamic Metadata Callbacks
    pub fn envoy_dynamic_module_callback_network_set_dynamic_metadata_string(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: envoy_dynamic_module_type_module_buffer,
    );
    pub fn envoy_dynamic_module_callback_network_get_dynamic_metadata_string(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_set_dynamic_metadata_number(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: f64,
    );
    pub fn envoy_dynamic_module_callback_network_get_dynamic_metadata_number(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut f64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_set_dynamic_metadata_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        value: bool,
    );
    pub fn envoy_dynamic_module_callback_network_get_dynamic_metadata_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        key: envoy_dynamic_module_type_module_buffer,
        result: *mut bool,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_set_dynamic_metadata_string_batch(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        filter_namespace: envoy_dynamic_module_type_module_buffer,
        entries: *const envoy_dynamic_module_type_module_key_value_pair,
        entries_size: usize,
    );
    // HTTP Callouts
    pub fn envoy_dynamic_module_callback_network_filter_http_callout(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        callout_id_out: *mut u64,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        headers: *mut envoy_dynamic_module_type_module_http_header,
        headers_size: usize,
        body: envoy_dynamic_module_type_module_buffer,
        timeout_milliseconds: u64,
    ) -> envoy_dynamic_module_type_http_callout_init_result;
    // Network Filter Callbacks - Metrics
    pub fn envoy_dynamic_module_callback_network_filter_config_define_counter(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        counter_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_increment_counter(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_define_gauge(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        gauge_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_set_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_increment_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_decrement_gauge(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_define_histogram(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        name: envoy_dynamic_module_type_module_buffer,
        histogram_id_ptr: *mut usize,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_record_histogram_value(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_increment_counter(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_increment_gauge(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_decrement_gauge(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_set_gauge(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    pub fn envoy_dynamic_module_callback_network_filter_config_record_histogram_value(
        config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
        id: usize,
        value: u64,
    ) -> envoy_dynamic_module_type_metrics_result;
    // Upstream Host Access Callbacks
    pub fn envoy_dynamic_module_callback_network_filter_get_cluster_host_count(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        cluster_name: envoy_dynamic_module_type_module_buffer,
        priority: u32,
        total_count: *mut usize,
        healthy_count: *mut usize,
        degraded_count: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_upstream_host_address(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        address_out: *mut envoy_dynamic_module_type_envoy_buffer,
        port_out: *mut u32,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_upstream_host_hostname(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        hostname_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_upstream_host_cluster(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        cluster_name_out: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_has_upstream_host(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_upstream_connection_id(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> u64;
    // StartTLS Support Callbacks
    pub fn envoy_dynamic_module_callback_network_filter_start_upstream_secure_transport(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    // Connection State and Flow Control Callbacks
    pub fn envoy_dynamic_module_callback_network_filter_get_connection_state(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_network_connection_state;
    pub fn envoy_dynamic_module_callback_network_filter_read_disable(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        disable: bool,
    ) -> envoy_dynamic_module_type_network_read_disable_status;
    pub fn envoy_dynamic_module_callback_network_filter_read_enabled(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_is_half_close_enabled(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_enable_half_close(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        enabled: bool,
    );
    pub fn envoy_dynamic_module_callback_network_filter_get_buffer_limit(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_network_filter_set_buffer_limits(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        limit: u32,
    );
    pub fn envoy_dynamic_module_callback_network_filter_above_high_watermark(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> bool;
    // Network filter scheduler callbacks
    pub fn envoy_dynamic_module_callback_network_filter_scheduler_new(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> envoy_dynamic_module_type_network_filter_scheduler_module_ptr;
    pub fn envoy_dynamic_module_callback_network_filter_scheduler_commit(
        scheduler_module_ptr: envoy_dynamic_module_type_network_filter_scheduler_module_ptr,
        event_id: u64,
    );
    pub fn envoy_dynamic_module_callback_network_filter_scheduler_delete(
        scheduler_module_ptr: envoy_dynamic_module_type_network_filter_scheduler_module_ptr,
    );
    pub fn envoy_dynamic_module_callback_network_filter_config_scheduler_new(
        filter_config_envoy_ptr: envoy_dynamic_module_type_network_filter_config_envoy_ptr,
    ) -> envoy_dynamic_module_type_network_filter_config_scheduler_module_ptr;
    pub fn envoy_dynamic_module_callback_network_filter_config_scheduler_delete(
        scheduler_module_ptr: envoy_dynamic_module_type_network_filter_config_scheduler_module_ptr,
    );
    pub fn envoy_dynamic_module_callback_network_filter_config_scheduler_commit(
        scheduler_module_ptr: envoy_dynamic_module_type_network_filter_config_scheduler_module_ptr,
        event_id: u64,
    );
    // Network Filter Callbacks - Misc
    pub fn envoy_dynamic_module_callback_network_filter_get_worker_index(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_network_filter_get_attribute_string(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut envoy_dynamic_module_type_envoy_buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_attribute_int(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut u64,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_network_filter_get_attribute_bool(
        filter_envoy_ptr: envoy_dynamic_module_type_network_filter_envoy_ptr,
        attribute_id: envoy_dynamic_module_type_attribute_id,
        result: *mut bool,
    ) -> bool;

}
