//! The native backend: the module is this test binary itself. Its entry points are
//! proxylet's dispatcher (`proxylet::__private`, what the generated `proxy_on_*` exports
//! call), and the imports the SDK calls (`proxy_*`, declared `extern "C"` in proxylet
//! when its `testing` feature is on) are defined below, forwarding to the [`HostState`]
//! of the host whose call is running on this thread.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proxylet::__private::testkit::Vm;

use crate::state::{decode_map, encode_map, status, HostState};
use crate::{Backend, Registration, Trap};

thread_local! {
    /// The host the module's imports talk to on this thread: the one whose call into the
    /// module is running, else the native host created last on this thread.
    static CURRENT: RefCell<Option<Rc<RefCell<HostState>>>> = const { RefCell::new(None) };
    /// The next callout (and gRPC stream) token of this thread's native hosts: tokens
    /// stay unique on a thread, so a test cannot answer one host's callout on another.
    static NEXT_TOKEN: Cell<u32> = const { Cell::new(1) };
}

/// Makes `state` the host the module's imports talk to on this thread.
pub(crate) fn install(state: Rc<RefCell<HostState>>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(state));
}

/// A fresh callout token for a native host on this thread.
pub(crate) fn next_token() -> u32 {
    take(&NEXT_TOKEN)
}

fn take(counter: &'static std::thread::LocalKey<Cell<u32>>) -> u32 {
    counter.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    })
}

fn with<R>(missing: R, f: impl FnOnce(&mut HostState) -> R) -> R {
    let state = CURRENT.with(|c| c.borrow().clone());
    match state {
        Some(state) => match state.try_borrow_mut() {
            Ok(mut state) => f(&mut state),
            Err(_) => missing,
        },
        None => missing,
    }
}

/// Runs the module linked into this binary, for one host: around each call, that host's
/// state is the one the imports reach and its VM's thread locals are swapped in, so two
/// hosts on one thread keep their own state, including their own dispatcher (the table
/// of contexts and callouts).
pub(crate) struct Native {
    state: Rc<RefCell<HostState>>,
    vm: Vm,
}

impl Native {
    /// The backend of a host with `state`, running `filters` (the module's `_initialize`).
    pub(crate) fn new(state: Rc<RefCell<HostState>>, filters: &'static [Registration]) -> Self {
        Native {
            state,
            vm: Vm::new(filters),
        }
    }
}

impl Backend for Native {
    fn call(&mut self, export: &str, a: &[u64]) -> Result<u64, Trap> {
        let previous = CURRENT.with(|c| c.replace(Some(Rc::clone(&self.state))));
        self.vm.swap();
        let result = self.call_module(export, a);
        self.vm.swap();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        result
    }
}

impl Native {
    fn call_module(&mut self, export: &str, a: &[u64]) -> Result<u64, Trap> {
        let u = |i: usize| a.get(i).copied().unwrap_or(0) as u32;
        let z = |i: usize| a.get(i).copied().unwrap_or(0) as usize;
        let b = |i: usize| a.get(i).copied().unwrap_or(0) != 0;
        use proxylet::__private as d;
        // The module's entry points, called as the exports would be (`proxylet::main!`).
        let result = {
            match export {
                "proxy_on_context_create" => {
                    d::on_context_create(u(0), u(1));
                    0
                }
                "proxy_on_vm_start" => u64::from(d::on_vm_start(u(0), z(1))),
                "proxy_on_configure" => u64::from(d::on_configure(u(0), z(1))),
                "proxy_on_tick" => {
                    d::on_tick(u(0));
                    0
                }
                "proxy_on_queue_ready" => {
                    d::on_queue_ready(u(0), u(1));
                    0
                }
                "proxy_on_request_headers" => u64::from(d::on_request_headers(u(0), z(1), b(2))),
                "proxy_on_request_body" => u64::from(d::on_request_body(u(0), z(1), b(2))),
                "proxy_on_request_trailers" => u64::from(d::on_request_trailers(u(0), z(1))),
                "proxy_on_response_headers" => u64::from(d::on_response_headers(u(0), z(1), b(2))),
                "proxy_on_response_body" => u64::from(d::on_response_body(u(0), z(1), b(2))),
                "proxy_on_response_trailers" => u64::from(d::on_response_trailers(u(0), z(1))),
                "proxy_on_log" => {
                    d::on_log(u(0));
                    0
                }
                "proxy_on_done" => u64::from(d::on_done(u(0))),
                "proxy_on_delete" => {
                    d::on_delete(u(0));
                    0
                }
                "proxy_on_http_call_response" => {
                    d::on_http_call_response(u(0), u(1), z(2), z(3), z(4));
                    0
                }
                "proxy_on_grpc_receive" => {
                    d::on_grpc_receive(u(0), u(1), z(2));
                    0
                }
                "proxy_on_grpc_receive_initial_metadata" => {
                    d::on_grpc_receive_initial_metadata(u(0), u(1), u(2));
                    0
                }
                "proxy_on_grpc_receive_trailing_metadata" => {
                    d::on_grpc_receive_trailing_metadata(u(0), u(1), u(2));
                    0
                }
                "proxy_on_grpc_close" => {
                    d::on_grpc_close(u(0), u(1), u(2));
                    0
                }
                "proxy_on_new_connection" => u64::from(d::on_new_connection(u(0))),
                "proxy_on_downstream_data" => u64::from(d::on_downstream_data(u(0), z(1), b(2))),
                "proxy_on_upstream_data" => u64::from(d::on_upstream_data(u(0), z(1), b(2))),
                "proxy_on_downstream_connection_close" => {
                    d::on_downstream_connection_close(u(0), u(1));
                    0
                }
                "proxy_on_upstream_connection_close" => {
                    d::on_upstream_connection_close(u(0), u(1));
                    0
                }
                other => return Err(Trap(format!("the module has no export `{other}`"))),
            }
        };
        Ok(result)
    }
}

// ---- the imports ------------------------------------------------------------------

/// # Safety
/// `ptr`/`len` must describe readable memory (or `len` be 0).
unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller (the module passes its own live buffers).
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Hands `bytes` to the module in memory it allocated, as the ABI requires. Like Envoy
/// (`copyToPointerSize`), an empty value is a null pointer and size 0, without allocating:
/// `proxy-wasm`'s getters read that as `None`.
///
/// # Safety
/// Out-pointers must be valid.
unsafe fn give(bytes: &[u8], data: *mut *mut u8, size: *mut usize) -> u32 {
    if bytes.is_empty() {
        // SAFETY: valid out-pointers from the module.
        unsafe {
            *data = std::ptr::null_mut();
            *size = 0;
        }
        return status::OK;
    }
    // SAFETY: the module's allocator returns a buffer of at least `bytes.len()` bytes.
    unsafe {
        let ptr = proxylet::__private::memory_allocate(bytes.len());
        if ptr.is_null() && !bytes.is_empty() {
            return status::INTERNAL_FAILURE;
        }
        if !bytes.is_empty() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        }
        *data = ptr;
        *size = bytes.len();
    }
    status::OK
}

fn done<T>(result: Result<T, u32>, then: impl FnOnce(T) -> u32) -> u32 {
    match result {
        Ok(value) => then(value),
        Err(status) => status,
    }
}

const NO_HOST: u32 = status::INTERNAL_FAILURE;

/// Defines the imports, and [`link_imports`], which names each of them.
macro_rules! shim {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) $body:block)*) => {
        $(
            #[no_mangle]
            #[doc(hidden)]
            #[allow(unreachable_pub, clippy::missing_safety_doc)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) -> u32 $body
        )*

        /// Makes the linker keep the imports in a test binary that creates a native host.
        /// proxylet reaches them only through `extern "C"` declarations, which do not
        /// pull this crate's object files in; [`Host::native`](crate::Host::native) does,
        /// by calling this.
        pub(crate) fn link_imports() {
            $(std::hint::black_box($name as *const ());)*
        }
    };
}

shim! {
    fn proxy_log(level: u32, ptr: *const u8, len: usize) {
        // SAFETY: the module passes a live buffer.
        let message = unsafe { slice(ptr, len) };
        with(NO_HOST, |s| s.proxy_log(level, message))
    }
    fn proxy_get_log_level(out: *mut u32) {
        with(Err(NO_HOST), |s| s.proxy_get_log_level()).map_or_else(|e| e, |level| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = level };
            status::OK
        })
    }
    fn proxy_get_current_time_nanoseconds(out: *mut u64) {
        done(with(Err(NO_HOST), |s| s.proxy_get_current_time_nanoseconds()), |now| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = now };
            status::OK
        })
    }
    fn proxy_set_tick_period_milliseconds(period: u32) {
        with(NO_HOST, |s| s.proxy_set_tick_period_milliseconds(period))
    }
    fn proxy_get_buffer_bytes(buffer: u32, start: usize, max: usize, data: *mut *mut u8, size: *mut usize) {
        let result = with(Err(NO_HOST), |s| s.proxy_get_buffer_bytes(buffer, start, max));
        // SAFETY: valid out-pointers from the module.
        done(result, |bytes| unsafe { give(&bytes, data, size) })
    }
    fn proxy_set_buffer_bytes(buffer: u32, start: usize, len: usize, ptr: *const u8, size: usize) {
        // SAFETY: the module passes a live buffer.
        let bytes = unsafe { slice(ptr, size) };
        with(NO_HOST, |s| s.proxy_set_buffer_bytes(buffer, start, len, bytes))
    }
    fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) {
        let result = with(Err(NO_HOST), |s| s.proxy_get_header_map_pairs(map));
        // Envoy hands over an empty map as no bytes at all, not as a zero count.
        let bytes = |pairs: Vec<_>| if pairs.is_empty() { Vec::new() } else { encode_map(&pairs) };
        // SAFETY: valid out-pointers from the module.
        done(result, |pairs| unsafe { give(&bytes(pairs), data, size) })
    }
    fn proxy_set_header_map_pairs(map: u32, ptr: *const u8, len: usize) {
        // SAFETY: the module passes a live buffer.
        let bytes = unsafe { slice(ptr, len) };
        match decode_map(bytes) {
            Some(pairs) => with(NO_HOST, |s| s.proxy_set_header_map_pairs(map, pairs)),
            None => status::BAD_ARGUMENT,
        }
    }
    fn proxy_get_header_map_value(map: u32, kp: *const u8, kl: usize, data: *mut *mut u8, size: *mut usize) {
        // SAFETY: the module passes a live buffer.
        let key = unsafe { slice(kp, kl) };
        let result = with(Err(NO_HOST), |s| s.proxy_get_header_map_value(map, key));
        // SAFETY: valid out-pointers from the module.
        done(result, |value| unsafe { give(&value, data, size) })
    }
    fn proxy_replace_header_map_value(map: u32, kp: *const u8, kl: usize, vp: *const u8, vl: usize) {
        // SAFETY: the module passes live buffers.
        let (key, value) = unsafe { (slice(kp, kl), slice(vp, vl)) };
        with(NO_HOST, |s| s.proxy_replace_header_map_value(map, key, value))
    }
    fn proxy_add_header_map_value(map: u32, kp: *const u8, kl: usize, vp: *const u8, vl: usize) {
        // SAFETY: the module passes live buffers.
        let (key, value) = unsafe { (slice(kp, kl), slice(vp, vl)) };
        with(NO_HOST, |s| s.proxy_add_header_map_value(map, key, value))
    }
    fn proxy_remove_header_map_value(map: u32, kp: *const u8, kl: usize) {
        // SAFETY: the module passes a live buffer.
        let key = unsafe { slice(kp, kl) };
        with(NO_HOST, |s| s.proxy_remove_header_map_value(map, key))
    }
    fn proxy_get_property(pp: *const u8, pl: usize, data: *mut *mut u8, size: *mut usize) {
        // SAFETY: the module passes a live buffer.
        let path = unsafe { slice(pp, pl) };
        let result = with(Err(NO_HOST), |s| s.proxy_get_property(path));
        // SAFETY: valid out-pointers from the module.
        done(result, |value| unsafe { give(&value, data, size) })
    }
    fn proxy_set_property(pp: *const u8, pl: usize, vp: *const u8, vl: usize) {
        // SAFETY: the module passes live buffers.
        let (path, value) = unsafe { (slice(pp, pl), slice(vp, vl)) };
        with(NO_HOST, |s| s.proxy_set_property(path, value))
    }
    fn proxy_get_shared_data(kp: *const u8, kl: usize, data: *mut *mut u8, size: *mut usize, cas: *mut u32) {
        // SAFETY: the module passes a live buffer.
        let key = unsafe { slice(kp, kl) };
        let result = with(Err(NO_HOST), |s| s.proxy_get_shared_data(key));
        done(result, |(value, version)| {
            // SAFETY: valid out-pointers from the module.
            unsafe {
                *cas = version;
                give(&value, data, size)
            }
        })
    }
    fn proxy_set_shared_data(kp: *const u8, kl: usize, vp: *const u8, vl: usize, cas: u32) {
        // SAFETY: the module passes live buffers.
        let (key, value) = unsafe { (slice(kp, kl), slice(vp, vl)) };
        with(NO_HOST, |s| s.proxy_set_shared_data(key, value, cas))
    }
    fn proxy_register_shared_queue(np: *const u8, nl: usize, out: *mut u32) {
        // SAFETY: the module passes a live buffer.
        let name = unsafe { slice(np, nl) };
        done(with(Err(NO_HOST), |s| s.proxy_register_shared_queue(name)), |id| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = id };
            status::OK
        })
    }
    fn proxy_resolve_shared_queue(vp: *const u8, vl: usize, np: *const u8, nl: usize, out: *mut u32) {
        // SAFETY: the module passes live buffers.
        let (vm, name) = unsafe { (slice(vp, vl), slice(np, nl)) };
        done(with(Err(NO_HOST), |s| s.proxy_resolve_shared_queue(vm, name)), |id| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = id };
            status::OK
        })
    }
    fn proxy_dequeue_shared_queue(queue: u32, data: *mut *mut u8, size: *mut usize) {
        let result = with(Err(NO_HOST), |s| s.proxy_dequeue_shared_queue(queue));
        // SAFETY: valid out-pointers from the module.
        done(result, |value| unsafe { give(&value, data, size) })
    }
    fn proxy_enqueue_shared_queue(queue: u32, vp: *const u8, vl: usize) {
        // SAFETY: the module passes a live buffer.
        let value = unsafe { slice(vp, vl) };
        with(NO_HOST, |s| s.proxy_enqueue_shared_queue(queue, value))
    }
    fn proxy_continue_stream(stream: u32) {
        with(NO_HOST, |s| s.proxy_continue_stream(stream))
    }
    fn proxy_close_stream(stream: u32) {
        with(NO_HOST, |s| s.proxy_close_stream(stream))
    }
    fn proxy_send_local_response(code: u32, dp: *const u8, dl: usize, bp: *const u8, bl: usize, hp: *const u8, hl: usize, grpc: i32) {
        // SAFETY: the module passes live buffers.
        let (details, body, headers) = unsafe { (slice(dp, dl), slice(bp, bl), slice(hp, hl)) };
        match decode_map(headers) {
            Some(headers) => with(NO_HOST, |s| s.proxy_send_local_response(code, details, body, headers, grpc)),
            None => status::BAD_ARGUMENT,
        }
    }
    fn proxy_http_call(up: *const u8, ul: usize, hp: *const u8, hl: usize, bp: *const u8, bl: usize, _tp: *const u8, _tl: usize, timeout: u32, out: *mut u32) {
        // SAFETY: the module passes live buffers.
        let (cluster, headers, body) = unsafe { (slice(up, ul), slice(hp, hl), slice(bp, bl)) };
        let Some(headers) = decode_map(headers) else { return status::BAD_ARGUMENT };
        done(with(Err(NO_HOST), |s| s.proxy_http_call(cluster, headers, body, timeout)), |token| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = token };
            status::OK
        })
    }
    fn proxy_grpc_call(up: *const u8, ul: usize, sp: *const u8, sl: usize, mp: *const u8, ml: usize, ip: *const u8, il: usize, msgp: *const u8, msgl: usize, timeout: u32, out: *mut u32) {
        // SAFETY: the module passes live buffers.
        let (cluster, service, method, metadata, message) =
            unsafe { (slice(up, ul), slice(sp, sl), slice(mp, ml), slice(ip, il), slice(msgp, msgl)) };
        let Some(metadata) = decode_map(metadata) else { return status::BAD_ARGUMENT };
        done(with(Err(NO_HOST), |s| s.proxy_grpc_call(cluster, service, method, metadata, message, timeout)), |token| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = token };
            status::OK
        })
    }
    fn proxy_grpc_stream(up: *const u8, ul: usize, sp: *const u8, sl: usize, mp: *const u8, ml: usize, ip: *const u8, il: usize, out: *mut u32) {
        // SAFETY: the module passes live buffers.
        let (cluster, service, method, metadata) =
            unsafe { (slice(up, ul), slice(sp, sl), slice(mp, ml), slice(ip, il)) };
        let Some(metadata) = decode_map(metadata) else { return status::BAD_ARGUMENT };
        done(with(Err(NO_HOST), |s| s.proxy_grpc_stream(cluster, service, method, metadata)), |token| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = token };
            status::OK
        })
    }
    fn proxy_grpc_send(token: u32, p: *const u8, l: usize, end: bool) {
        // SAFETY: the module passes a live buffer.
        let message = unsafe { slice(p, l) };
        with(NO_HOST, |s| s.proxy_grpc_send(token, message, end))
    }
    fn proxy_grpc_cancel(token: u32) {
        with(NO_HOST, |s| s.proxy_grpc_cancel(token))
    }
    fn proxy_grpc_close(token: u32) {
        with(NO_HOST, |s| s.proxy_grpc_close(token))
    }
    fn proxy_get_status(code: *mut u32, data: *mut *mut u8, size: *mut usize) {
        done(with(Err(NO_HOST), |s| s.proxy_get_status()), |(c, message)| {
            // SAFETY: valid out-pointers from the module.
            unsafe {
                *code = c;
                give(&message, data, size)
            }
        })
    }
    fn proxy_set_effective_context(context: u32) {
        with(NO_HOST, |s| s.proxy_set_effective_context(context))
    }
    fn proxy_call_foreign_function(np: *const u8, nl: usize, ap: *const u8, al: usize, data: *mut *mut u8, size: *mut usize) {
        // SAFETY: the module passes live buffers.
        let (name, args) = unsafe { (slice(np, nl), slice(ap, al)) };
        let result = with(Err(NO_HOST), |s| s.proxy_call_foreign_function(name, args));
        // SAFETY: valid out-pointers from the module.
        done(result, |value| unsafe { give(&value, data, size) })
    }
    fn proxy_done() {
        with(NO_HOST, |s| s.proxy_done())
    }
    fn proxy_define_metric(kind: u32, np: *const u8, nl: usize, out: *mut u32) {
        // SAFETY: the module passes a live buffer.
        let name = unsafe { slice(np, nl) };
        done(with(Err(NO_HOST), |s| s.proxy_define_metric(kind, name)), |id| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = id };
            status::OK
        })
    }
    fn proxy_get_metric(id: u32, out: *mut u64) {
        done(with(Err(NO_HOST), |s| s.proxy_get_metric(id)), |value| {
            // SAFETY: valid out-pointer from the module.
            unsafe { *out = value };
            status::OK
        })
    }
    fn proxy_record_metric(id: u32, value: u64) {
        with(NO_HOST, |s| s.proxy_record_metric(id, value))
    }
    fn proxy_increment_metric(id: u32, offset: i64) {
        with(NO_HOST, |s| s.proxy_increment_metric(id, offset))
    }
}
