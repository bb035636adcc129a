//! The `log` crate's macros, routed to the host's log; panics logged before the VM traps.

use crate::host::{self, LogLevel};

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

/// Installs the logger and the panic hook once per VM. Makes no host call: the host
/// forbids them during `_initialize` (Envoy answers `restricted_callback`).
pub(crate) fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
        // Natively (the test host) the hook is the whole test binary's: keep the default
        // one too, or a failing `assert!` in a test would print nothing.
        #[cfg(not(target_family = "wasm"))]
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            emit(LogLevel::Critical, &format!("panic in filter: {info}"));
            #[cfg(not(target_family = "wasm"))]
            previous(info);
        }));
    }
}

/// Reads the host's log level (from `on_configure`, where host calls are allowed).
/// Skips formatting and a host call for every record below the host's level.
pub(crate) fn sync_max_level() {
    set_level(match host::log_level() {
        Ok(LogLevel::Trace) | Err(_) => log::LevelFilter::Trace,
        Ok(LogLevel::Debug) => log::LevelFilter::Debug,
        Ok(LogLevel::Info) => log::LevelFilter::Info,
        Ok(LogLevel::Warn) => log::LevelFilter::Warn,
        Ok(LogLevel::Error) | Ok(LogLevel::Critical) => log::LevelFilter::Error,
    });
}

// In a wasm module the `log` crate's process-global max level is the VM's own (one VM,
// one thread), and it is the cheapest filter there is: the macros check it before
// formatting anything.
#[cfg(target_family = "wasm")]
fn set_level(level: log::LevelFilter) {
    log::set_max_level(level);
}

#[cfg(target_family = "wasm")]
fn level() -> log::LevelFilter {
    log::max_level()
}

// Natively (the test host) the module is the test binary, and tests run side by side on
// threads, each with its own host: a process-global level would let one test's host
// silence another's. The global max level stays at `Trace` (set by `install`) and the
// logger filters against the level of the VM running on this thread, which the native
// test host swaps per host (`swap_vm_level`).
#[cfg(not(target_family = "wasm"))]
thread_local! {
    static LEVEL: std::cell::Cell<log::LevelFilter> =
        const { std::cell::Cell::new(log::LevelFilter::Trace) };
}

#[cfg(not(target_family = "wasm"))]
fn set_level(level: log::LevelFilter) {
    LEVEL.with(|l| l.set(level));
}

#[cfg(not(target_family = "wasm"))]
fn level() -> log::LevelFilter {
    LEVEL.with(std::cell::Cell::get)
}

/// Exchanges the log level of the VM running on this thread with `level` (the native
/// test host keeps one per host and swaps it in around each call into the module).
#[cfg(all(feature = "testing", not(target_family = "wasm")))]
pub(crate) fn swap_vm_level(level: &mut log::LevelFilter) {
    LEVEL.with(|l| *level = l.replace(*level));
}

/// Logs `root_id: error` at error level (one shared, non-generic formatting path).
#[inline(never)]
pub(crate) fn error(root_id: &str, error: &dyn std::fmt::Display) {
    emit(LogLevel::Error, &format!("{root_id}: {error}"));
}

/// Writes one message to the host's log; a refusal is dropped (there is nowhere else to say it).
pub(crate) fn emit(level: LogLevel, message: &str) {
    let _ = host::log(level, message);
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        emit(level, &record.args().to_string());
    }

    fn flush(&self) {}
}
