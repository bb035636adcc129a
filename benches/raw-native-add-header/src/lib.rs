//! The flagship add-header filter written by hand against Envoy 1.40's dynamic modules ABI
//! (`v0.2.0`), with the same JSON configuration: the least a native filter can cost, for
//! `cargo xtask bench`. Only the hooks and callbacks it needs are declared here; every
//! other hook Envoy requires of an HTTP filter module is an empty function.
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, c_void};

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Buffer {
    ptr: *const c_char,
    length: usize,
}

extern "C" {
    fn envoy_dynamic_module_callback_http_set_header(
        filter: *mut c_void,
        header_type: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
}

/// The header to set.
#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    name: String,
    value: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "hello".into(),
            value: "melon".into(),
        }
    }
}

fn buffer(bytes: &[u8]) -> Buffer {
    Buffer {
        ptr: bytes.as_ptr().cast(),
        length: bytes.len(),
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    c"v0.2.0".as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    _envoy: *mut c_void,
    _name: Buffer,
    config: Buffer,
) -> *const c_void {
    let bytes = if config.ptr.is_null() {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(config.ptr.cast::<u8>(), config.length) }
    };
    let parsed = if bytes.is_empty() {
        Ok(Config::default())
    } else {
        serde_json::from_slice::<Config>(bytes)
    };
    match parsed {
        Ok(config) => Box::into_raw(Box::new(config)).cast_const().cast(),
        Err(_) => std::ptr::null(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *const c_void) {
    drop(unsafe { Box::from_raw(config.cast_mut().cast::<Config>()) });
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *const c_void,
    _filter: *mut c_void,
) -> *const c_void {
    // The filter needs no state of its own: its pointer is the configuration's.
    config
}

#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter: *mut c_void,
    config: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    let config = unsafe { &*config.cast::<Config>() };
    unsafe {
        envoy_dynamic_module_callback_http_set_header(
            filter,
            2,
            buffer(config.name.as_bytes()),
            buffer(config.value.as_bytes()),
        );
    }
    0
}

macro_rules! continue_hooks {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name(_filter: *mut c_void, _module: *const c_void $(, $arg: $ty)*) -> u32 {
            $(let _ = $arg;)*
            0
        }
    )*};
}

continue_hooks! {
    envoy_dynamic_module_on_http_filter_request_headers(end_of_stream: bool);
    envoy_dynamic_module_on_http_filter_request_body(end_of_stream: bool);
    envoy_dynamic_module_on_http_filter_request_trailers();
    envoy_dynamic_module_on_http_filter_response_body(end_of_stream: bool);
    envoy_dynamic_module_on_http_filter_response_trailers();
}

macro_rules! empty_hooks {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name(_filter: *mut c_void, _module: *const c_void $(, $arg: $ty)*) {
            $(let _ = $arg;)*
        }
    )*};
}

empty_hooks! {
    envoy_dynamic_module_on_http_filter_stream_complete();
    envoy_dynamic_module_on_http_filter_http_callout_done(id: u64, result: u32, headers: *mut c_void, headers_size: usize, body: *mut c_void, body_size: usize);
    envoy_dynamic_module_on_http_filter_http_stream_headers(id: u64, headers: *mut c_void, size: usize, end_stream: bool);
    envoy_dynamic_module_on_http_filter_http_stream_data(id: u64, data: *const c_void, count: usize, end_stream: bool);
    envoy_dynamic_module_on_http_filter_http_stream_trailers(id: u64, trailers: *mut c_void, size: usize);
    envoy_dynamic_module_on_http_filter_http_stream_complete(id: u64);
    envoy_dynamic_module_on_http_filter_http_stream_reset(id: u64, reason: u32);
    envoy_dynamic_module_on_http_filter_scheduled(id: u64);
    envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark();
    envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark();
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(_filter: *const c_void) {}
