//! How long the session has been idle, from the first source that works here:
//! GNOME Mutter's IdleMonitor, `org.freedesktop.ScreenSaver` (KDE), the X11 screensaver
//! extension, logind's IdleHint. When none works, the idle trigger says "idle detection
//! unavailable" instead of silently never firing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zbus::blocking::{Connection, Proxy};

/// One way of asking for the idle time.
pub enum IdleSource {
    Mutter(Connection),
    ScreenSaver(Connection),
    X11 {
        conn: Box<x11rb::rust_connection::RustConnection>,
        root: u32,
    },
    Logind(Connection),
}

impl IdleSource {
    /// The first source that answers, and the names of the ones tried.
    pub fn detect() -> Option<IdleSource> {
        let candidates: [fn() -> Option<IdleSource>; 4] =
            [Self::mutter, Self::screensaver, Self::x11, Self::logind];
        candidates
            .iter()
            .filter_map(|make| make())
            .find(|source| source.idle().is_ok())
    }

    pub fn name(&self) -> &'static str {
        match self {
            IdleSource::Mutter(_) => "GNOME (Mutter IdleMonitor)",
            IdleSource::ScreenSaver(_) => "org.freedesktop.ScreenSaver",
            IdleSource::X11 { .. } => "the X11 screensaver extension",
            IdleSource::Logind(_) => "logind",
        }
    }

    fn mutter() -> Option<IdleSource> {
        Connection::session().ok().map(IdleSource::Mutter)
    }

    fn screensaver() -> Option<IdleSource> {
        Connection::session().ok().map(IdleSource::ScreenSaver)
    }

    /// Only in an X11 session: under XWayland it would see X clients' input only.
    fn x11() -> Option<IdleSource> {
        if std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland") {
            return None;
        }
        Self::x11_on(None)
    }

    /// The X11 screensaver extension of this display (`None`: `$DISPLAY`).
    pub fn x11_on(display: Option<&str>) -> Option<IdleSource> {
        let (conn, screen) = x11rb::connect(display).ok()?;
        let root = x11rb::connection::Connection::setup(&conn)
            .roots
            .get(screen)?
            .root;
        Some(IdleSource::X11 {
            conn: Box::new(conn),
            root,
        })
    }

    fn logind() -> Option<IdleSource> {
        Connection::system().ok().map(IdleSource::Logind)
    }

    /// How long there has been no input.
    pub fn idle(&self) -> Result<Duration, String> {
        match self {
            IdleSource::Mutter(bus) => {
                let proxy = Proxy::new(
                    bus,
                    "org.gnome.Mutter.IdleMonitor",
                    "/org/gnome/Mutter/IdleMonitor/Core",
                    "org.gnome.Mutter.IdleMonitor",
                )
                .map_err(|e| e.to_string())?;
                let ms: u64 = proxy.call("GetIdletime", &()).map_err(|e| e.to_string())?;
                Ok(Duration::from_millis(ms))
            }
            IdleSource::ScreenSaver(bus) => {
                let proxy = Proxy::new(
                    bus,
                    "org.freedesktop.ScreenSaver",
                    "/org/freedesktop/ScreenSaver",
                    "org.freedesktop.ScreenSaver",
                )
                .map_err(|e| e.to_string())?;
                // KDE answers in milliseconds.
                let ms: u32 = proxy
                    .call("GetSessionIdleTime", &())
                    .map_err(|e| e.to_string())?;
                Ok(Duration::from_millis(ms.into()))
            }
            IdleSource::X11 { conn, root } => {
                use x11rb::protocol::screensaver::ConnectionExt;
                let info = conn
                    .screensaver_query_info(*root)
                    .map_err(|e| e.to_string())?
                    .reply()
                    .map_err(|e| e.to_string())?;
                Ok(Duration::from_millis(info.ms_since_user_input.into()))
            }
            IdleSource::Logind(bus) => {
                let proxy = Proxy::new(
                    bus,
                    "org.freedesktop.login1",
                    "/org/freedesktop/login1/session/auto",
                    "org.freedesktop.login1.Session",
                )
                .map_err(|e| e.to_string())?;
                let idle: bool = proxy.get_property("IdleHint").map_err(|e| e.to_string())?;
                if !idle {
                    return Ok(Duration::ZERO);
                }
                let since_us: u64 = proxy
                    .get_property("IdleSinceHint")
                    .map_err(|e| e.to_string())?;
                let since = UNIX_EPOCH + Duration::from_micros(since_us);
                Ok(SystemTime::now().duration_since(since).unwrap_or_default())
            }
        }
    }
}

/// The idle trigger's decision, pure: fire once per idle period that reaches `after`.
#[derive(Debug, Default)]
pub struct IdleTrigger {
    fired: bool,
}

impl IdleTrigger {
    /// Fed each idle reading; true when a run should start now.
    pub fn observe(&mut self, idle: Duration, after: Duration) -> bool {
        if idle < after {
            // The user is back (or never left): the next idle period may fire again.
            self.fired = false;
            return false;
        }
        !std::mem::replace(&mut self.fired, true)
    }
}

/// How often to read the idle time for a threshold: often enough to fire within a tenth of
/// it, never more than every 30 s nor less than every 0.5 s.
pub fn poll_every(after: Duration) -> Duration {
    (after / 10).clamp(Duration::from_millis(500), Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_fires_once_per_idle_period() {
        let after = Duration::from_secs(60);
        let s = Duration::from_secs;
        // (idle reading, fires?)
        let readings = [
            (s(0), false),
            (s(59), false),
            (s(60), true),
            (s(90), false),
            (s(600), false),
            (s(1), false), // back at the keyboard
            (s(61), true), // away again
            (s(62), false),
        ];
        let mut trigger = IdleTrigger::default();
        for (idle, fires) in readings {
            assert_eq!(trigger.observe(idle, after), fires, "{idle:?}");
        }
    }

    #[test]
    fn polling_follows_the_threshold_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(poll_every(s(2)), Duration::from_millis(500));
        assert_eq!(poll_every(s(60)), s(6));
        assert_eq!(poll_every(s(3600)), s(30));
    }
}
