//! The wasmi [`Backend`]: instantiation, calls into the module, traps and fuel.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::state::HostState;
use crate::{Backend, Trap};
use wasmi::{Config, Engine, Extern, Instance, Linker, Module, Store, Val, ValType};

use super::guest::Ctx;
use super::{imports, wasi, Error};

/// Fuel handed to a call when no limit is set: far more than any test can burn, and far
/// from `u64::MAX` so that sums never overflow.
const UNLIMITED: u64 = u64::MAX / 4;

/// Shared between the backend and [`Fuel`](super::Fuel) handles.
#[derive(Default)]
pub(crate) struct Meter {
    pub(crate) consumed: Cell<u64>,
    pub(crate) limit: Cell<Option<u64>>,
}

impl Meter {
    fn budget(&self) -> u64 {
        match self.limit.get() {
            Some(limit) => limit.saturating_sub(self.consumed.get()),
            None => UNLIMITED,
        }
    }
}

pub(crate) struct WasmBackend {
    store: Store<Ctx>,
    instance: Instance,
    meter: Rc<Meter>,
    trapped: bool,
}

/// What Envoy assumes for a callback the module does not export: hooks continue, and
/// `on_vm_start`, `on_configure` and `on_done` succeed.
fn missing_export(export: &str) -> u64 {
    match export {
        "proxy_on_vm_start" | "proxy_on_configure" | "proxy_on_done" => 1,
        _ => 0,
    }
}

impl WasmBackend {
    /// Compiles and instantiates `wasm`, links the host functions to `state` and runs
    /// `_initialize`.
    pub(crate) fn new(
        wasm: &[u8],
        state: Rc<RefCell<HostState>>,
        meter: Rc<Meter>,
    ) -> Result<WasmBackend, Error> {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).map_err(|e| Error::Invalid(e.to_string()))?;
        if module.get_export("proxy_abi_version_0_2_1").is_none() {
            return Err(Error::Abi(
                "the module does not export `proxy_abi_version_0_2_1`; is it a proxy-wasm \
                 0.2.1 module (proxy-wasm crate 0.2.x, target wasm32-wasip1)?"
                    .to_owned(),
            ));
        }
        let mut linker = Linker::new(&engine);
        imports::link(&mut linker).map_err(|e| Error::Invalid(e.to_string()))?;
        wasi::link(&mut linker).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut store = Store::new(&engine, Ctx::new(state));
        let budget = meter.budget();
        store
            .set_fuel(budget)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        // A `start` function (Rust cdylibs have none) runs here, metered like any call.
        let instance = linker.instantiate_and_start(&mut store, &module);
        let left = store.get_fuel().unwrap_or(0);
        meter.consumed.set(budget.saturating_sub(left));
        let instance = instance.map_err(|e| Error::Link(e.to_string()))?;
        let memory = match instance.get_export(&store, "memory") {
            Some(Extern::Memory(memory)) => memory,
            _ => return Err(Error::Abi("the module exports no `memory`".to_owned())),
        };
        let malloc = instance
            .get_typed_func::<i32, i32>(&store, "proxy_on_memory_allocate")
            .map_err(|e| {
                Error::Abi(format!(
                    "the module has no usable `proxy_on_memory_allocate(i32) -> i32` ({e})"
                ))
            })?;
        store.data_mut().memory = Some(memory);
        store.data_mut().malloc = Some(malloc);
        let mut backend = WasmBackend {
            store,
            instance,
            meter,
            trapped: false,
        };
        if backend
            .instance
            .get_func(&backend.store, "_initialize")
            .is_some()
        {
            backend
                .call("_initialize", &[])
                .map_err(|Trap(message)| Error::Trap(message))?;
        }
        Ok(backend)
    }

    fn run(&mut self, export: &str, args: &[u64]) -> Result<u64, Trap> {
        let Some(func) = self.instance.get_func(&self.store, export) else {
            return Ok(missing_export(export));
        };
        let ty = func.ty(&self.store);
        if ty.params().len() != args.len() || ty.results().len() > 1 {
            return Err(Trap(format!(
                "export `{export}` has type {ty:?}, which is not its proxy-wasm 0.2.1 signature \
                 ({} arguments)",
                args.len()
            )));
        }
        let mut inputs = Vec::with_capacity(args.len());
        for (arg, ty) in args.iter().zip(ty.params()) {
            inputs.push(match ty {
                // ABI integers are unsigned; wasm passes them as the same bits.
                ValType::I32 => Val::I32(*arg as u32 as i32),
                ValType::I64 => Val::I64(*arg as i64),
                other => {
                    return Err(Trap(format!(
                        "export `{export}` takes a {other:?}, which proxy-wasm never passes"
                    )))
                }
            });
        }
        let mut outputs: Vec<Val> = ty
            .results()
            .iter()
            .map(|ty| Val::default_for_ty(*ty))
            .collect();
        let budget = self.meter.budget();
        // Setting fuel only fails when metering is off, and it is always on here.
        let _ = self.store.set_fuel(budget);
        let result = func.call(&mut self.store, &inputs, &mut outputs);
        let left = self.store.get_fuel().unwrap_or(0);
        let meter = &self.meter;
        meter.consumed.set(
            meter
                .consumed
                .get()
                .saturating_add(budget.saturating_sub(left)),
        );
        result.map_err(|e| Trap(e.to_string()))?;
        Ok(match outputs.first() {
            Some(Val::I32(value)) => u64::from(*value as u32),
            Some(Val::I64(value)) => *value as u64,
            _ => 0,
        })
    }
}

/// What every call answers once the module has trapped.
pub(crate) const TRAPPED_EARLIER: &str = "the VM trapped earlier";

impl Backend for WasmBackend {
    fn call(&mut self, export: &str, args: &[u64]) -> Result<u64, Trap> {
        // Envoy's default `FAIL_CLOSED`: a VM that trapped never runs again.
        if self.trapped {
            return Err(Trap(TRAPPED_EARLIER.to_owned()));
        }
        let result = self.run(export, args);
        self.trapped = result.is_err();
        result
    }
}
