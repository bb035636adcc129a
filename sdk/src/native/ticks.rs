//! Ticks on the native target. Envoy's dynamic modules have no timer, but a filter
//! configuration has a scheduler: an event committed from any thread runs
//! `envoy_dynamic_module_on_http_filter_config_scheduled` on Envoy's main thread. A
//! thread of the module's own commits one every tick period, and the plugin built while
//! Envoy loaded the configuration (the main thread's) gets `on_tick`.
//!
//! So natively `on_tick` runs once per period for the whole Envoy, not once per worker as
//! with a wasm VM per worker: state a tick must change belongs in shared data (process
//! memory here), which every worker reads.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::abi;

/// Envoy's scheduler of one configuration (null once it is deleted), and whether it is a
/// network filter's.
struct Scheduler(*mut c_void, bool);

// SAFETY: Envoy's ABI lets any thread commit to a configuration's scheduler; deleting it
// and committing are serialized by the mutex around it.
unsafe impl Send for Scheduler {}

/// The ticks of one configuration: a thread commits a scheduler event every period until
/// [`Ticker::stop`].
pub(crate) struct Ticker {
    scheduler: Arc<Mutex<Scheduler>>,
}

impl Ticker {
    /// Starts ticking every `period` for the configuration `config` (Envoy's handle; of a
    /// network filter's when `network`); `None` when Envoy gives no scheduler or no thread
    /// can start.
    pub(crate) fn start(config: *mut c_void, network: bool, period: Duration) -> Option<Ticker> {
        // SAFETY: `config` is the handle of the configuration being loaded.
        let scheduler = unsafe {
            if network {
                abi::envoy_dynamic_module_callback_network_filter_config_scheduler_new(config)
            } else {
                abi::envoy_dynamic_module_callback_http_filter_config_scheduler_new(config)
            }
        };
        if scheduler.is_null() {
            return None;
        }
        let scheduler = Arc::new(Mutex::new(Scheduler(scheduler, network)));
        let ticking = Arc::clone(&scheduler);
        let spawned = std::thread::Builder::new()
            .name("proxylet-ticks".into())
            .spawn(move || loop {
                std::thread::sleep(period);
                let Ok(scheduler) = ticking.lock() else {
                    return;
                };
                if scheduler.0.is_null() {
                    return;
                }
                // SAFETY: the scheduler is alive (not deleted: the mutex is held).
                unsafe {
                    if scheduler.1 {
                        abi::envoy_dynamic_module_callback_network_filter_config_scheduler_commit(
                            scheduler.0,
                            0,
                        );
                    } else {
                        abi::envoy_dynamic_module_callback_http_filter_config_scheduler_commit(
                            scheduler.0,
                            0,
                        );
                    }
                }
            });
        let ticker = Ticker { scheduler };
        match spawned {
            Ok(_) => Some(ticker),
            Err(_) => {
                ticker.stop();
                None
            }
        }
    }

    /// Stops the ticks and deletes the scheduler (the configuration is going away).
    pub(crate) fn stop(&self) {
        if let Ok(mut scheduler) = self.scheduler.lock() {
            if !scheduler.0.is_null() {
                // SAFETY: created by `scheduler_new`, deleted once (then null).
                unsafe {
                    if scheduler.1 {
                        abi::envoy_dynamic_module_callback_network_filter_config_scheduler_delete(
                            scheduler.0,
                        );
                    } else {
                        abi::envoy_dynamic_module_callback_http_filter_config_scheduler_delete(
                            scheduler.0,
                        );
                    }
                }
                scheduler.0 = std::ptr::null_mut();
            }
        }
    }
}
