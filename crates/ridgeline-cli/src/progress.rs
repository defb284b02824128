//! Progress of long work on stderr: a bar with rate and ETA on a terminal, plain lines in a
//! batch job's log (where the bar would be hidden), so that a long run that is stopped still
//! says how far it got.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Least time between two log lines.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Progress of one long step: `what` names it (the line's first word), `unit` is what it counts.
/// Shared by reference across threads (`inc` takes `&self`).
pub struct Progress {
    bar: indicatif::ProgressBar,
    done: AtomicU64,
    total: u64,
    /// `None` on a terminal: the bar shows the progress there.
    log: Option<Mutex<LogState>>,
}

/// What the log lines need between calls.
struct LogState {
    what: &'static str,
    unit: &'static str,
    started: Instant,
    last_line: Option<Instant>,
    /// The count when the log started (a resumed run counts its rate from there).
    first_done: Option<u64>,
}

impl Progress {
    /// A progress of `total` `unit`s from zero, started now, with a first line when logging.
    pub fn started(what: &'static str, unit: &'static str, total: u64) -> Progress {
        let progress = Progress::new(what, unit, total);
        progress.set(0);
        progress
    }

    /// A progress of `total` `unit`s whose first [`Progress::set`] says where it starts (a
    /// resumed job), and prints the first line when logging.
    pub fn new(what: &'static str, unit: &'static str, total: u64) -> Progress {
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(&format!(
            "{what:>8} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{per_sec}}, ETA {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        let log = (!std::io::stderr().is_terminal()).then(|| {
            Mutex::new(LogState {
                what,
                unit,
                started: Instant::now(),
                last_line: None,
                first_done: None,
            })
        });
        if log.is_none() {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Progress { bar, done: AtomicU64::new(0), total, log }
    }

    /// Sets the count done so far (a resumed run starts above zero).
    pub fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.bar.set_position(done);
        self.maybe_log(done, done);
    }

    /// Adds `n` to the count done.
    pub fn inc(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.bar.inc(n);
        self.maybe_log(done - n, done);
    }

    /// Clears the bar; the log has had its last line when the count reached the total.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Prints a line when one is due; `before` is the count before this update (where the run
    /// started, if this is its first update).
    fn maybe_log(&self, before: u64, done: u64) {
        let Some(log) = &self.log else { return };
        // A poisoned lock only means another thread panicked while printing; keep logging.
        let mut state = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let first = *state.first_done.get_or_insert(before);
        let due = state.last_line.map_or(true, |t| now - t >= LOG_INTERVAL) || done >= self.total;
        if !due {
            return;
        }
        state.last_line = Some(now);
        let elapsed = now - state.started;
        eprintln!("{}", log_line(state.what, state.unit, first, done, self.total, elapsed));
    }
}

/// One log line: `what: done/total unit (share), elapsed, rate, ETA`. The rate counts from
/// `first`, where this run started.
fn log_line(
    what: &str,
    unit: &str,
    first: u64,
    done: u64,
    total: u64,
    elapsed: Duration,
) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = done.saturating_sub(first) as f64 / seconds.max(1e-9);
    let eta = if rate > 0.0 {
        format!("{:.0} s", total.saturating_sub(done) as f64 / rate)
    } else {
        "unknown".to_string()
    };
    format!(
        "{what}: {done}/{total} {unit} ({:.1} %), {seconds:.0} s, {rate:.1} {unit}/s, ETA {eta}",
        100.0 * done as f64 / total.max(1) as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_line_gives_share_rate_and_eta_from_where_the_run_started() {
        let line = log_line("dedup", "records", 100, 400, 1000, Duration::from_secs(60));
        assert_eq!(line, "dedup: 400/1000 records (40.0 %), 60 s, 5.0 records/s, ETA 120 s");
        let start = log_line("enrol", "records", 0, 0, 10, Duration::ZERO);
        assert_eq!(start, "enrol: 0/10 records (0.0 %), 0 s, 0.0 records/s, ETA unknown");
        // An empty job does not divide by zero.
        assert!(log_line("enrol", "records", 0, 0, 0, Duration::ZERO).contains("(0.0 %)"));
    }
}
