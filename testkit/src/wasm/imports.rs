//! The proxy-wasm ABI 0.2.1 host functions (import module `env`), mirroring the native
//! backend's `extern "C"` definitions (`native.rs`): each reads its arguments out of the
//! module's memory, calls the [`HostState`](crate::HostState) method of the same name and
//! writes the results back.
//!
//! Where the two hosts could differ, this one does what Envoy (proxy-wasm-cpp-host) does:
//! a pointer outside the module's memory is answered with `InvalidMemoryAccess` (6), and an
//! empty returned value is pointer 0 with size 0, without calling the module's allocator.

use crate::state::{decode_map, encode_map, status};
use wasmi::{Caller, Linker};

use super::guest::{give, read, with_state, write_u32, write_u64, Ctx, INVALID_MEMORY_ACCESS};

type Ret = Result<i32, wasmi::Error>;

/// The host state is in use (a hostcall from inside the module's allocator while the host
/// is answering another one): answered like the native backend does.
const BUSY: u32 = status::INTERNAL_FAILURE;

fn ok(status: u32) -> Ret {
    Ok(status as i32)
}

/// Reads a module buffer or answers `InvalidMemoryAccess`.
macro_rules! arg {
    ($caller:expr, $ptr:expr, $len:expr) => {
        match read(&$caller, $ptr, $len) {
            Some(bytes) => bytes,
            None => return ok(INVALID_MEMORY_ACCESS),
        }
    };
}

/// A decoded proxy-wasm map argument, or `BadArgument` when malformed (as the native
/// backend answers).
macro_rules! map_arg {
    ($caller:expr, $ptr:expr, $len:expr) => {
        match decode_map(&arg!($caller, $ptr, $len)) {
            Some(pairs) => pairs,
            None => return ok(status::BAD_ARGUMENT),
        }
    };
}

/// Answers a hostcall that returns a value: the host's error status, or what `then`
/// makes of the value.
fn answer<T>(
    caller: &mut Caller<'_, Ctx>,
    result: Result<T, u32>,
    then: impl FnOnce(&mut Caller<'_, Ctx>, T) -> Result<u32, wasmi::Error>,
) -> Ret {
    match result {
        Ok(value) => then(caller, value).map(|s| s as i32),
        Err(status) => ok(status),
    }
}

fn put_u32(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u32) -> Result<u32, wasmi::Error> {
    Ok(if write_u32(caller, ptr, value) {
        status::OK
    } else {
        INVALID_MEMORY_ACCESS
    })
}

fn put_u64(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u64) -> Result<u32, wasmi::Error> {
    Ok(if write_u64(caller, ptr, value) {
        status::OK
    } else {
        INVALID_MEMORY_ACCESS
    })
}

const ENV: &str = "env";

/// Defines every proxy-wasm 0.2.1 import in `linker`.
pub(crate) fn link(linker: &mut Linker<Ctx>) -> Result<(), wasmi::Error> {
    linker.func_wrap(
        ENV,
        "proxy_log",
        |c: Caller<'_, Ctx>, level: i32, ptr: i32, len: i32| -> Ret {
            let message = arg!(c, ptr, len);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_log(level as u32, &message)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_log_level",
        |mut c: Caller<'_, Ctx>, out: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_log_level());
            answer(&mut c, result, |c, level| put_u32(c, out, level))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, Ctx>, out: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_current_time_nanoseconds());
            answer(&mut c, result, |c, now| put_u64(c, out, now))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_tick_period_milliseconds",
        |c: Caller<'_, Ctx>, period: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_tick_period_milliseconds(period as u32)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, Ctx>, buffer: i32, start: i32, max: i32, data: i32, size: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_get_buffer_bytes(buffer as u32, start as u32 as usize, max as u32 as usize)
            });
            answer(&mut c, result, |c, bytes| give(c, &bytes, data, size))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_buffer_bytes",
        |c: Caller<'_, Ctx>, buffer: i32, start: i32, len: i32, ptr: i32, size: i32| -> Ret {
            let bytes = arg!(c, ptr, size);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_buffer_bytes(
                    buffer as u32,
                    start as u32 as usize,
                    len as u32 as usize,
                    &bytes,
                )
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, Ctx>, map: i32, data: i32, size: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_header_map_pairs(map as u32));
            answer(&mut c, result, |c, pairs| {
                let bytes = if pairs.is_empty() {
                    Vec::new()
                } else {
                    encode_map(&pairs)
                };
                give(c, &bytes, data, size)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_header_map_pairs",
        |c: Caller<'_, Ctx>, map: i32, ptr: i32, len: i32| -> Ret {
            let pairs = map_arg!(c, ptr, len);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_header_map_pairs(map as u32, pairs)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_value",
        |mut c: Caller<'_, Ctx>, map: i32, kp: i32, kl: i32, data: i32, size: i32| -> Ret {
            let key = arg!(c, kp, kl);
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_get_header_map_value(map as u32, &key)
            });
            answer(&mut c, result, |c, value| give(c, &value, data, size))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_replace_header_map_value",
        |c: Caller<'_, Ctx>, map: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> Ret {
            let (key, value) = (arg!(c, kp, kl), arg!(c, vp, vl));
            ok(with_state(&c, BUSY, |s| {
                s.proxy_replace_header_map_value(map as u32, &key, &value)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_add_header_map_value",
        |c: Caller<'_, Ctx>, map: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> Ret {
            let (key, value) = (arg!(c, kp, kl), arg!(c, vp, vl));
            ok(with_state(&c, BUSY, |s| {
                s.proxy_add_header_map_value(map as u32, &key, &value)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_remove_header_map_value",
        |c: Caller<'_, Ctx>, map: i32, kp: i32, kl: i32| -> Ret {
            let key = arg!(c, kp, kl);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_remove_header_map_value(map as u32, &key)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_property",
        |mut c: Caller<'_, Ctx>, pp: i32, pl: i32, data: i32, size: i32| -> Ret {
            let path = arg!(c, pp, pl);
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_property(&path));
            answer(&mut c, result, |c, value| give(c, &value, data, size))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_property",
        |c: Caller<'_, Ctx>, pp: i32, pl: i32, vp: i32, vl: i32| -> Ret {
            let (path, value) = (arg!(c, pp, pl), arg!(c, vp, vl));
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_property(&path, &value)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_shared_data",
        |mut c: Caller<'_, Ctx>, kp: i32, kl: i32, data: i32, size: i32, cas: i32| -> Ret {
            let key = arg!(c, kp, kl);
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_shared_data(&key));
            answer(&mut c, result, |c, (value, version)| {
                match give(c, &value, data, size)? {
                    status::OK => put_u32(c, cas, version),
                    failed => Ok(failed),
                }
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_shared_data",
        |c: Caller<'_, Ctx>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| -> Ret {
            let (key, value) = (arg!(c, kp, kl), arg!(c, vp, vl));
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_shared_data(&key, &value, cas as u32)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_register_shared_queue",
        |mut c: Caller<'_, Ctx>, np: i32, nl: i32, out: i32| -> Ret {
            let name = arg!(c, np, nl);
            let result = with_state(&c, Err(BUSY), |s| s.proxy_register_shared_queue(&name));
            answer(&mut c, result, |c, id| put_u32(c, out, id))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_resolve_shared_queue",
        |mut c: Caller<'_, Ctx>, vp: i32, vl: i32, np: i32, nl: i32, out: i32| -> Ret {
            let (vm, name) = (arg!(c, vp, vl), arg!(c, np, nl));
            let result = with_state(&c, Err(BUSY), |s| s.proxy_resolve_shared_queue(&vm, &name));
            answer(&mut c, result, |c, id| put_u32(c, out, id))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_dequeue_shared_queue",
        |mut c: Caller<'_, Ctx>, queue: i32, data: i32, size: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_dequeue_shared_queue(queue as u32)
            });
            answer(&mut c, result, |c, value| give(c, &value, data, size))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_enqueue_shared_queue",
        |c: Caller<'_, Ctx>, queue: i32, vp: i32, vl: i32| -> Ret {
            let value = arg!(c, vp, vl);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_enqueue_shared_queue(queue as u32, &value)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_continue_stream",
        |c: Caller<'_, Ctx>, stream: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_continue_stream(stream as u32)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_close_stream",
        |c: Caller<'_, Ctx>, stream: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_close_stream(stream as u32)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_send_local_response",
        |c: Caller<'_, Ctx>,
         code: i32,
         dp: i32,
         dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         grpc: i32|
         -> Ret {
            let (details, body) = (arg!(c, dp, dl), arg!(c, bp, bl));
            let headers = map_arg!(c, hp, hl);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_send_local_response(code as u32, &details, &body, headers, grpc)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_http_call",
        |mut c: Caller<'_, Ctx>,
         up: i32,
         ul: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32,
         tp: i32,
         tl: i32,
         timeout: i32,
         out: i32|
         -> Ret {
            let (cluster, body) = (arg!(c, up, ul), arg!(c, bp, bl));
            let headers = map_arg!(c, hp, hl);
            let _trailers = arg!(c, tp, tl);
            // Envoy checks the token pointer before starting the call.
            if !write_u32(&mut c, out, 0) {
                return ok(INVALID_MEMORY_ACCESS);
            }
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_http_call(&cluster, headers, &body, timeout as u32)
            });
            answer(&mut c, result, |c, token| put_u32(c, out, token))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_call",
        |mut c: Caller<'_, Ctx>,
         up: i32,
         ul: i32,
         sp: i32,
         sl: i32,
         mp: i32,
         ml: i32,
         ip: i32,
         il: i32,
         msgp: i32,
         msgl: i32,
         timeout: i32,
         out: i32|
         -> Ret {
            let (cluster, service, method) = (arg!(c, up, ul), arg!(c, sp, sl), arg!(c, mp, ml));
            let metadata = map_arg!(c, ip, il);
            let message = arg!(c, msgp, msgl);
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_grpc_call(
                    &cluster,
                    &service,
                    &method,
                    metadata,
                    &message,
                    timeout as u32,
                )
            });
            answer(&mut c, result, |c, token| put_u32(c, out, token))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_stream",
        |mut c: Caller<'_, Ctx>,
         up: i32,
         ul: i32,
         sp: i32,
         sl: i32,
         mp: i32,
         ml: i32,
         ip: i32,
         il: i32,
         out: i32|
         -> Ret {
            let (cluster, service, method) = (arg!(c, up, ul), arg!(c, sp, sl), arg!(c, mp, ml));
            let metadata = map_arg!(c, ip, il);
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_grpc_stream(&cluster, &service, &method, metadata)
            });
            answer(&mut c, result, |c, token| put_u32(c, out, token))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_send",
        |c: Caller<'_, Ctx>, token: i32, p: i32, l: i32, end: i32| -> Ret {
            let message = arg!(c, p, l);
            ok(with_state(&c, BUSY, |s| {
                s.proxy_grpc_send(token as u32, &message, end != 0)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_cancel",
        |c: Caller<'_, Ctx>, token: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| s.proxy_grpc_cancel(token as u32)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_close",
        |c: Caller<'_, Ctx>, token: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| s.proxy_grpc_close(token as u32)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_status",
        |mut c: Caller<'_, Ctx>, code: i32, data: i32, size: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_status());
            answer(&mut c, result, |c, (value, message)| {
                match put_u32(c, code, value)? {
                    status::OK => give(c, &message, data, size),
                    failed => Ok(failed),
                }
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_effective_context",
        |c: Caller<'_, Ctx>, context: i32| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_set_effective_context(context as u32)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_call_foreign_function",
        |mut c: Caller<'_, Ctx>, np: i32, nl: i32, ap: i32, al: i32, data: i32, size: i32| -> Ret {
            let (name, args) = (arg!(c, np, nl), arg!(c, ap, al));
            let result = with_state(&c, Err(BUSY), |s| {
                s.proxy_call_foreign_function(&name, &args)
            });
            answer(&mut c, result, |c, value| give(c, &value, data, size))
        },
    )?;
    linker.func_wrap(ENV, "proxy_done", |c: Caller<'_, Ctx>| -> Ret {
        ok(with_state(&c, BUSY, |s| s.proxy_done()))
    })?;
    linker.func_wrap(
        ENV,
        "proxy_define_metric",
        |mut c: Caller<'_, Ctx>, kind: i32, np: i32, nl: i32, out: i32| -> Ret {
            let name = arg!(c, np, nl);
            let result = with_state(&c, Err(BUSY), |s| s.proxy_define_metric(kind as u32, &name));
            answer(&mut c, result, |c, id| put_u32(c, out, id))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_metric",
        |mut c: Caller<'_, Ctx>, id: i32, out: i32| -> Ret {
            let result = with_state(&c, Err(BUSY), |s| s.proxy_get_metric(id as u32));
            answer(&mut c, result, |c, value| put_u64(c, out, value))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_record_metric",
        |c: Caller<'_, Ctx>, id: i32, value: i64| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_record_metric(id as u32, value as u64)
            }))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_increment_metric",
        |c: Caller<'_, Ctx>, id: i32, offset: i64| -> Ret {
            ok(with_state(&c, BUSY, |s| {
                s.proxy_increment_metric(id as u32, offset)
            }))
        },
    )?;
    Ok(())
}
