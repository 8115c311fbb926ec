//! Child programs tied to the center: each runs in its own process group, dies with the
//! center (PR_SET_PDEATHSIG), and is killed with its whole group and reaped when done (or
//! killed at once and reaped by a thread the center waits for before it exits).
//! Used for external handlers and for rclone.

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};

/// Starts `command` in its own process group, set to be killed when the center ends
/// however it ends.
pub fn spawn_tied(mut command: Command) -> std::io::Result<Child> {
    command.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != parent
            {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    spawn_from_lasting_thread(command)
}

/// Kills the child's whole process group; the child itself must not have been reaped yet
/// (its id still names the group).
pub fn kill_group(child: &Child) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
}

/// Kills the child's process group and waits for the child.
pub fn kill_and_reap(child: &mut Child) -> Option<ExitStatus> {
    kill_group(child);
    child.wait().ok()
}

/// Reapers started by [`kill_and_reap_later`] that may still be waiting.
static REAPERS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Kills the child's process group now and reaps the child on a thread of its own: the
/// kernel takes milliseconds to tear down a large child (5 ms for an rclone rcd here, at the
/// end of every remote sync), which the caller need not wait for. The center waits for
/// these before it exits ([`wait_for_reapers`]).
pub fn kill_and_reap_later(mut child: Child) {
    kill_group(&child);
    let reaper = thread::Builder::new()
        .name("reaper".into())
        .spawn(move || {
            let _ = child.wait();
        })
        .expect("spawn a thread");
    let mut reapers = REAPERS.lock();
    reapers.retain(|r| !r.is_finished());
    reapers.push(reaper);
}

/// Waits until every child given to [`kill_and_reap_later`] is reaped.
pub fn wait_for_reapers() {
    let reapers = std::mem::take(&mut *REAPERS.lock());
    for reaper in reapers {
        let _ = reaper.join();
    }
}

/// Starts a named thread.
pub fn spawn_named(name: String, work: impl FnOnce() + Send + 'static) {
    thread::Builder::new()
        .name(name)
        .spawn(work)
        .expect("spawn a thread");
}

type SpawnJob = (Command, Sender<std::io::Result<Child>>);

/// Starts programs from one thread that lives as long as the center: PR_SET_PDEATHSIG fires
/// when the thread that forked ends, not the process, and the engine's threads come and go.
fn spawn_from_lasting_thread(command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Sender<SpawnJob>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = crossbeam_channel::unbounded::<SpawnJob>();
        spawn_named("child-spawner".into(), move || {
            for (mut command, reply) in queue {
                let _ = reply.send(command.spawn());
            }
        });
        jobs
    });
    let (reply, answer) = crossbeam_channel::bounded(1);
    spawner
        .send((command, reply))
        .map_err(|_| std::io::Error::other("the spawner thread has ended"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("the spawner thread has ended"))?
}
