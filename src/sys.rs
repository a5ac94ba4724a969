//! What Rivulet asks of the operating system beyond what std and tokio offer: for now, the
//! scheduling priority of a thread.

/// Lowers the calling thread's scheduling priority by `niceness` (a nice value, 1–19), so
/// that when the cores are busy the other threads of the process run first. Only ever lowers
/// (which needs no privilege); where it is not supported or fails, the thread keeps its
/// priority: this is a preference, never a requirement.
pub fn lower_thread_priority(niceness: i32) {
    #[cfg(target_os = "linux")]
    {
        // On Linux a nice value belongs to a thread, and PRIO_PROCESS with a thread id sets
        // that thread's alone.
        let thread = rustix::thread::gettid();
        let current = rustix::process::getpriority_process(Some(thread)).unwrap_or(0);
        let wanted = (current + niceness).min(19);
        if let Err(e) = rustix::process::setpriority_process(Some(thread), wanted) {
            tracing::debug!(error = %e, "cannot lower this thread's priority; it keeps its own");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = niceness;
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_lowered_thread_runs_nicer_and_the_others_do_not() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let lowered = std::thread::spawn(|| {
            super::lower_thread_priority(5);
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 5).min(19));
        assert_eq!(rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap(), before);
    }
}
