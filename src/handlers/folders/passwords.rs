//! Passwords of remote folder pairs in the desktop keyring (the Secret Service: GNOME
//! Keyring, KWallet), through the `keyring` crate: service `synccenter`, one entry per server
//! account. Never in a file of ours, never on a command line.
//!
//! A locked keyring is told apart from a missing password without a prompt (a search
//! returns locked and unlocked items separately): locked means "ask the user", never "logged
//! out". Reading a locked entry may show the desktop's unlock dialog and block until it is
//! answered, so every call here runs on a worker thread, and the unlocking read only under
//! the UI permit of a run that may bother the user.

use parking_lot::Mutex;
use std::collections::HashMap;

/// Passwords the servers accepted in this process while no keyring could keep them, by
/// account: kept until the process ends, so the window and the background instance ask
/// once rather than for every run (a preview and the sync after it, each Sync now). A
/// terminal `sync` ends with its run. (With a keyring, "Remember my password" unticked
/// means asked again next run.)
static ACCEPTED: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// The password accepted for `account` earlier in this process, without a keyring.
pub fn accepted_without_keyring(account: &str) -> Option<String> {
    ACCEPTED.lock().as_ref()?.get(account).cloned()
}

/// Keeps a password the server accepted, with no keyring to keep it in, until the process
/// ends.
pub fn accepted_without_keyring_now(account: &str, password: &str) {
    ACCEPTED
        .lock()
        .get_or_insert_default()
        .insert(account.to_string(), password.to_string());
}

/// The keyring's service name for every entry of Sync Center.
pub const SERVICE: &str = "synccenter";

/// What the keyring has for an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Found(String),
    Missing,
    /// There is an entry, but the keyring is locked.
    Locked,
    /// No keyring could be reached (no session bus, no Secret Service), and why.
    NoKeyring(String),
}

/// Looks the password up without ever prompting.
pub fn look_up(account: &str) -> Stored {
    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;
    let service = match SecretService::connect(EncryptionType::Dh) {
        Ok(service) => service,
        Err(e) => return Stored::NoKeyring(e.to_string()),
    };
    let attributes = HashMap::from([("service", SERVICE), ("username", account)]);
    let found = match service.search_items(attributes) {
        Ok(found) => found,
        Err(e) => return Stored::NoKeyring(e.to_string()),
    };
    if let Some(item) = found.unlocked.first() {
        return match item.get_secret() {
            Ok(secret) => match String::from_utf8(secret) {
                Ok(password) => Stored::Found(password),
                Err(_) => Stored::Missing,
            },
            Err(secret_service::Error::Locked) => Stored::Locked,
            Err(e) => Stored::NoKeyring(e.to_string()),
        };
    }
    if found.locked.is_empty() {
        Stored::Missing
    } else {
        Stored::Locked
    }
}

/// Whether a keyring (a Secret Service) answers in this session.
pub fn keyring_answers() -> bool {
    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;
    SecretService::connect(EncryptionType::Dh).is_ok()
}

/// Reads the password, letting the keyring ask the user to unlock it (the desktop's own
/// dialog, which may block until answered).
pub fn look_up_unlocking(account: &str) -> Stored {
    let entry = match keyring::Entry::new(SERVICE, account) {
        Ok(entry) => entry,
        Err(e) => return Stored::NoKeyring(e.to_string()),
    };
    match entry.get_password() {
        Ok(password) => Stored::Found(password),
        Err(keyring::Error::NoEntry) => Stored::Missing,
        Err(keyring::Error::NoStorageAccess(_)) => Stored::Locked,
        Err(e) => Stored::NoKeyring(e.to_string()),
    }
}

/// Remembers the password ("Remember my password").
pub fn store(account: &str, password: &str) -> Result<(), String> {
    keyring::Entry::new(SERVICE, account)
        .and_then(|entry| entry.set_password(password))
        .map_err(|e| e.to_string())
}

/// Forgets a password kept without a keyring that the server refused.
pub fn refused_without_keyring(account: &str) {
    if let Some(accepted) = ACCEPTED.lock().as_mut() {
        accepted.remove(account);
    }
}

/// Forgets the password, in the keyring and in this process (on request).
pub fn forget(account: &str) -> Result<(), String> {
    refused_without_keyring(account);
    match keyring::Entry::new(SERVICE, account).and_then(|entry| entry.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
