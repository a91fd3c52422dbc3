//! Log lines the way redis-server writes them (`server.c`, `serverLogRaw`):
//!
//! ```text
//! 4242:M 26 Nov 2026 09:14:52.944 * Ready to accept connections tcp
//! ```
//!
//! pid, role (`M`: this node does not yet report its role to the driver),
//! the wall-clock time in UTC with milliseconds, then a level mark: `.`
//! debug, `-` verbose, `*` notice, `#` warning. `loglevel` chooses what is
//! written (`RUST_LOG` overrides it), `logfile` where (stdout when empty).

use std::fmt;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};
use tandem_core::Config;
use tracing::{Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Set up `tracing` from `loglevel` and `logfile`.
pub fn init(config: &Config) {
    let level = match config.loglevel.as_str() {
        "debug" | "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "error",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("tandem={level},tandem_native={level}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(RedisFormat {
            pid: std::process::id(),
        });
    if !config.logfile.is_empty() {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
        {
            Ok(f) => {
                builder.with_writer(std::sync::Mutex::new(f)).init();
                return;
            }
            Err(e) => eprintln!("Can't open the log file: {e}"),
        }
    }
    builder.with_writer(io::stdout).init();
}

struct RedisFormat {
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mark = match *event.metadata().level() {
            Level::ERROR | Level::WARN => '#',
            Level::INFO => '*',
            Level::DEBUG => '-',
            Level::TRACE => '.',
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        write!(writer, "{}:M {} {mark} ", self.pid, Timestamp(now))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Unix milliseconds shown as `26 Nov 2026 09:14:52.944` (UTC).
struct Timestamp(u64);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, tod) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        write!(
            f,
            "{d:02} {} {y} {:02}:{:02}:{:02}.{ms:03}",
            MONTHS[(m - 1) as usize],
            tod / 3600,
            tod / 60 % 60,
            tod % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic
/// Gregorian (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_like_redis() {
        assert_eq!(Timestamp(0).to_string(), "01 Jan 1970 00:00:00.000");
        // 2026-11-26T09:14:52.944Z
        assert_eq!(
            Timestamp(1_795_684_492_944).to_string(),
            "26 Nov 2026 09:14:52.944"
        );
        // A leap day.
        assert_eq!(
            Timestamp(1_709_164_800_000).to_string(),
            "29 Feb 2024 00:00:00.000"
        );
    }
}
