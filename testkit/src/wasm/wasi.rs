//! The WASI (`wasi_snapshot_preview1`) functions Envoy gives a proxy-wasm module, with
//! Envoy's answers (proxy-wasm-cpp-host `exports.cc`): stdout and stderr become the
//! plugin's log at info and error level (so a Rust panic message shows up as an error
//! log, as in Envoy), there are no arguments, environment or files, the clocks read the
//! host's clock, and `random_get` is deterministic here so that runs repeat exactly.
//!
//! A module importing any other WASI function fails to load, as it would in Envoy.

use wasmi::{Caller, Linker};

use super::guest::{read, with_state, write, write_u32, write_u64, Ctx};

type Ret = Result<i32, wasmi::Error>;

const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOENT: i32 = 44;
const ENOSYS: i32 = 52;
const ENOTSUP: i32 = 58;

/// Envoy's `PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES`.
const RANDOM_GET_MAX: u32 = 64 * 1024;

const WASI: &str = "wasi_snapshot_preview1";

fn fault_unless(written: bool) -> Ret {
    Ok(if written { SUCCESS } else { EFAULT })
}

/// Defines the WASI functions in `linker`.
pub(crate) fn link(linker: &mut Linker<Ctx>) -> Result<(), wasmi::Error> {
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut c: Caller<'_, Ctx>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> Ret {
            let level = match fd {
                1 => 2, // stdout: info
                2 => 4, // stderr: error
                _ => return Ok(EBADF),
            };
            let mut text = Vec::new();
            for i in 0..iovs_len as u32 {
                let at = (iovs as u32).wrapping_add(i.wrapping_mul(8)) as i32;
                let Some(iov) = read(&c, at, 8) else {
                    return Ok(EFAULT);
                };
                // An iovec is two little-endian words: buffer address, then length.
                let (buf, len) = iov.split_at(4);
                let word = |w: &[u8]| w.try_into().map(i32::from_le_bytes).unwrap_or(-1);
                let Some(bytes) = read(&c, word(buf), word(len)) else {
                    return Ok(EFAULT);
                };
                text.extend_from_slice(&bytes);
            }
            let written = text.len() as u32;
            if text.last() == Some(&b'\n') {
                text.pop();
            }
            if written > 0 {
                let logged = with_state(&c, 1, |s| s.proxy_log(level, &text));
                if logged != 0 {
                    return Ok(EBADF);
                }
            }
            fault_unless(write_u32(&mut c, nwritten, written))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_read",
        |_c: Caller<'_, Ctx>, _fd: i32, _iovs: i32, _len: i32, _nread: i32| -> Ret { Ok(ENOSYS) },
    )?;
    linker.func_wrap(
        WASI,
        "fd_seek",
        |_c: Caller<'_, Ctx>, _fd: i32, _offset: i64, _whence: i32, _out: i32| -> Ret {
            Ok(SUCCESS)
        },
    )?;
    linker.func_wrap(WASI, "fd_close", |_c: Caller<'_, Ctx>, _fd: i32| -> Ret {
        Ok(SUCCESS)
    })?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_get",
        |mut c: Caller<'_, Ctx>, fd: i32, out: i32| -> Ret {
            if fd != 1 && fd != 2 {
                return Ok(EBADF);
            }
            // filetype 0, flags 0; rights: FD_WRITE only.
            let mut stat = [0u8; 24];
            stat[8] = 64;
            fault_unless(write(&mut c, out, &stat))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_prestat_get",
        |_c: Caller<'_, Ctx>, _fd: i32, _out: i32| -> Ret { Ok(EBADF) },
    )?;
    linker.func_wrap(
        WASI,
        "fd_prestat_dir_name",
        |_c: Caller<'_, Ctx>, _fd: i32, _path: i32, _len: i32| -> Ret { Ok(ENOSYS) },
    )?;
    linker.func_wrap(
        WASI,
        "path_open",
        |_c: Caller<'_, Ctx>,
         _fd: i32,
         _dirflags: i32,
         _path: i32,
         _path_len: i32,
         _oflags: i32,
         _base: i64,
         _inheriting: i64,
         _fdflags: i32,
         _out: i32|
         -> Ret { Ok(ENOENT) },
    )?;
    linker.func_wrap(
        WASI,
        "environ_get",
        |_c: Caller<'_, Ctx>, _environ: i32, _buf: i32| -> Ret { Ok(SUCCESS) },
    )?;
    linker.func_wrap(
        WASI,
        "environ_sizes_get",
        |mut c: Caller<'_, Ctx>, count: i32, size: i32| -> Ret {
            fault_unless(write_u32(&mut c, count, 0) && write_u32(&mut c, size, 0))
        },
    )?;
    linker.func_wrap(
        WASI,
        "args_get",
        |_c: Caller<'_, Ctx>, _argv: i32, _buf: i32| -> Ret { Ok(SUCCESS) },
    )?;
    linker.func_wrap(
        WASI,
        "args_sizes_get",
        |mut c: Caller<'_, Ctx>, count: i32, size: i32| -> Ret {
            fault_unless(write_u32(&mut c, count, 0) && write_u32(&mut c, size, 0))
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: Caller<'_, Ctx>, clock: i32, _precision: i64, out: i32| -> Ret {
            // Realtime and monotonic both read the host's clock, which only moves forward.
            if clock != 0 && clock != 1 {
                return Ok(ENOTSUP);
            }
            let now = with_state(&c, 0, |s| s.now_nanos());
            fault_unless(write_u64(&mut c, out, now))
        },
    )?;
    linker.func_wrap(
        WASI,
        "random_get",
        |mut c: Caller<'_, Ctx>, buf: i32, len: i32| -> Ret {
            let len = len as u32;
            if len > RANDOM_GET_MAX {
                return Ok(EINVAL);
            }
            let mut bytes = Vec::with_capacity(len as usize + 8);
            while bytes.len() < len as usize {
                let next = c.data_mut().next_random();
                bytes.extend_from_slice(&next.to_le_bytes());
            }
            bytes.truncate(len as usize);
            fault_unless(write(&mut c, buf, &bytes))
        },
    )?;
    linker.func_wrap(
        WASI,
        "proc_exit",
        |_c: Caller<'_, Ctx>, code: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::new(format!(
                "the module called proc_exit({code})"
            )))
        },
    )?;
    Ok(())
}
