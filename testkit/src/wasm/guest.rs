//! The module's side of every call: its linear memory and its allocator, reached through
//! the [`Caller`] of a host function. The module is untrusted: every pointer it passes is
//! bounds-checked, and a bad one becomes a status for the module (as Envoy answers), never
//! a panic of the host.

use std::cell::RefCell;
use std::rc::Rc;

use crate::state::HostState;
use wasmi::{Caller, Memory, TypedFunc};

/// proxy-wasm `WasmResult::InvalidMemoryAccess`: what Envoy answers when a pointer the
/// module passed is outside its memory.
pub(crate) const INVALID_MEMORY_ACCESS: u32 = 6;

/// What a host function sees of the instance (the store's data).
pub(crate) struct Ctx {
    pub(crate) state: Rc<RefCell<HostState>>,
    pub(crate) memory: Option<Memory>,
    /// `proxy_on_memory_allocate`.
    pub(crate) malloc: Option<TypedFunc<i32, i32>>,
    /// State of the deterministic generator behind WASI `random_get`.
    pub(crate) random: u64,
}

/// The seed of `random_get`: every instance sees the same "random" bytes, so runs (and
/// fuel counts) repeat exactly.
pub(crate) const RANDOM_SEED: u64 = 0x7072_6f78_796c_6574; // "proxylet"

impl Ctx {
    pub(crate) fn new(state: Rc<RefCell<HostState>>) -> Ctx {
        Ctx {
            state,
            memory: None,
            malloc: None,
            random: RANDOM_SEED,
        }
    }

    /// splitmix64: small, fast and good enough for hash seeds.
    pub(crate) fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Runs `f` on the host state; `busy` when the state is already borrowed (a hostcall made
/// while the host itself is inside the module, e.g. from the module's allocator).
pub(crate) fn with_state<R>(
    caller: &Caller<'_, Ctx>,
    busy: R,
    f: impl FnOnce(&mut HostState) -> R,
) -> R {
    let state = Rc::clone(&caller.data().state);
    let result = match state.try_borrow_mut() {
        Ok(mut state) => f(&mut state),
        Err(_) => busy,
    };
    result
}

fn range(ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    // wasm32 pointers are unsigned.
    let start = ptr as u32 as usize;
    Some(start..start.checked_add(len)?)
}

/// Copies `len` bytes at `ptr` out of the module's memory; `None` when out of bounds.
pub(crate) fn read(caller: &Caller<'_, Ctx>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let memory = caller.data().memory?;
    let range = range(ptr, len as u32 as usize)?;
    memory.data(caller).get(range).map(<[u8]>::to_vec)
}

/// Writes `bytes` at `ptr` into the module's memory; `false` when out of bounds.
pub(crate) fn write(caller: &mut Caller<'_, Ctx>, ptr: i32, bytes: &[u8]) -> bool {
    let Some(memory) = caller.data().memory else {
        return false;
    };
    let Some(range) = range(ptr, bytes.len()) else {
        return false;
    };
    match memory.data_mut(caller).get_mut(range) {
        Some(target) => {
            target.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// Writes a little-endian `u32` (a wasm32 word) at `ptr`.
pub(crate) fn write_u32(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u32) -> bool {
    write(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr`.
pub(crate) fn write_u64(caller: &mut Caller<'_, Ctx>, ptr: i32, value: u64) -> bool {
    write(caller, ptr, &value.to_le_bytes())
}

/// Hands `bytes` to the module as the ABI's "pointer and size" out-parameters, as Envoy's
/// `copyToPointerSize` does: the buffer comes from the module's `proxy_on_memory_allocate`,
/// and an empty value is pointer 0 with size 0 (no allocation). `Err` when the allocator
/// trapped; `Ok(status)` otherwise.
pub(crate) fn give(
    caller: &mut Caller<'_, Ctx>,
    bytes: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> Result<u32, wasmi::Error> {
    let Ok(size) = i32::try_from(bytes.len()) else {
        return Ok(INVALID_MEMORY_ACCESS);
    };
    let mut address = 0;
    if size > 0 {
        let Some(malloc) = caller.data().malloc else {
            return Ok(INVALID_MEMORY_ACCESS);
        };
        address = malloc.call(&mut *caller, size)?;
        if address == 0 || !write(caller, address, bytes) {
            return Ok(INVALID_MEMORY_ACCESS);
        }
    }
    if write_u32(caller, ptr_ptr, address as u32) && write_u32(caller, size_ptr, size as u32) {
        Ok(crate::state::status::OK)
    } else {
        Ok(INVALID_MEMORY_ACCESS)
    }
}
