// stop_signals.h — the signals that ask a program to stop: every one whose default action ends
// the process and that can be caught. A server that must clean up before it goes (kill the
// command it runs, remove a half-written file) takes the same path for each of them; SIGPIPE is
// not among them (a vanished reader is EPIPE, ignored), and SIGKILL cannot be caught at all.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 04_remote_cmd/stop_signals.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <signal.h>

constexpr int kStopSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};

// The set of them, e.g. to block them while a command runs and read them from a signalfd.
inline sigset_t stop_signal_set() {
    sigset_t set;
    sigemptyset(&set);
    for (const int stop : kStopSignals) sigaddset(&set, stop);
    return set;
}
