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
    log::set_max_level(match host::log_level() {
        Ok(LogLevel::Trace) | Err(_) => log::LevelFilter::Trace,
        Ok(LogLevel::Debug) => log::LevelFilter::Debug,
        Ok(LogLevel::Info) => log::LevelFilter::Info,
        Ok(LogLevel::Warn) => log::LevelFilter::Warn,
        Ok(LogLevel::Error) | Ok(LogLevel::Critical) => log::LevelFilter::Error,
    });
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
        metadata.level() <= log::max_level()
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
