//! Office users in the browser. Passwords are stored as Argon2id PHC strings; a login opens a session
//! whose random token lives in an HttpOnly, SameSite=Strict cookie and, at the office, only as a SHA-256
//! hash next to the session's CSRF token. Failed logins are counted per user name and per client address,
//! and too many in a window lock that name or address out for a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration};
use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, UserId, VillageId};
use rusqlite::{OptionalExtension, params};

use crate::credentials::{
    checked_user, hash_secret, random_bytes, random_hex, set_user_villages, user_villages, village_ids,
};
use crate::{Credential, Office, OfficeError};

/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;
/// Shortest password the office accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A logged-in office user, as every page and action sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUser {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// The villages a secretary answers for.
    pub villages: Vec<VillageId>,
    /// The device the office records this user's decisions under.
    pub device_id: DeviceId,
    /// The token every form of this session must carry.
    pub csrf: String,
}

impl WebUser {
    /// The same identity the sync API judges devices by, so a decision in the browser is checked by the
    /// same rules as one from a phone.
    pub fn credential(&self) -> Credential {
        Credential {
            device_id: self.device_id,
            user_id: self.user_id,
            user_name: self.name.clone(),
            role: self.role,
            villages: self.villages.clone(),
        }
    }
}

/// A user as `rectify-office users` lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub villages: Vec<String>,
    pub can_log_in: bool,
    /// The device the office records their browser decisions under: revoke it to shut them out.
    pub decisions_device: Option<String>,
    pub created_at: String,
}

fn hasher() -> Argon2<'static> {
    // Argon2id with the crate's defaults (19 MiB, 2 passes): about 20–40 ms here, per login.
    Argon2::default()
}

fn hash_password(password: &str) -> Result<String, OfficeError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|err| OfficeError::Internal(format!("cannot encode a salt: {err}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| OfficeError::Internal(format!("cannot hash the password: {err}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Checks a new password against the office's rules.
pub fn check_new_password(password: &str) -> Result<(), OfficeError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(OfficeError::invalid(format!(
            "the password has {chars} characters; use at least {MIN_PASSWORD_CHARS}"
        )));
    }
    if chars > 200 {
        return Err(OfficeError::invalid("the password is longer than 200 characters"));
    }
    Ok(())
}

/// A password people can type: 4 groups of 4 letters from the unambiguous alphabet (about 79 bits).
pub fn generate_password() -> Result<String, OfficeError> {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let raw = random_bytes::<16>()?;
    let letters: Vec<char> = raw.iter().map(|byte| LETTERS[*byte as usize % LETTERS.len()] as char).collect();
    Ok(letters.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

impl Office {
    /// Creates or updates an office user who logs in with `password`: their role, their villages (for a
    /// secretary) and the device their decisions are recorded under.
    pub fn set_web_user(
        &self,
        name: &str,
        role: Role,
        village_codes: &[String],
        password: &str,
    ) -> Result<(), OfficeError> {
        let name = checked_user(name, role, village_codes)?;
        check_new_password(password)?;
        let hash = hash_password(password)?;
        let now = self.now().to_rfc3339();
        // The decisions device holds a token nobody is ever given: it cannot sync, only record.
        let unusable_token = hash_secret(&random_hex(32)?);
        self.store().write(|tx| {
            let villages = village_ids(tx, village_codes)?;
            let existing: Option<(String, Option<String>)> = tx
                .query_row("SELECT id, web_device FROM office_users WHERE name = ?1", [name], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            let (user_id, device) = match existing {
                Some((id, device)) => (id, device),
                None => (UserId::new().to_string(), None),
            };
            let device = match device {
                Some(device) => device,
                None => {
                    let device = DeviceId::new().to_string();
                    tx.execute(
                        "INSERT INTO office_users (id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (id) DO NOTHING",
                        params![user_id, name, role.as_str(), now],
                    )?;
                    tx.execute(
                        "INSERT INTO office_devices (device_id, user_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4)",
                        params![device, user_id, unusable_token, now],
                    )?;
                    device
                }
            };
            tx.execute(
                "INSERT INTO office_users (id, name, role, created_at, password_hash, web_device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET role = ?3, password_hash = ?5, web_device = ?6",
                params![user_id, name, role.as_str(), now, hash, device],
            )?;
            set_user_villages(tx, &user_id, &villages)?;
            // A new password ends every session opened with the old one.
            tx.execute("DELETE FROM office_sessions WHERE user_id = ?1", [&user_id])?;
            Ok::<_, OfficeError>(())
        })
    }

    /// Checks a password and opens a session; returns the session token for the cookie. The answer for
    /// an unknown name is the same as for a wrong password, and takes as long.
    pub fn log_in(&self, name: &str, password: &str) -> Result<String, OfficeError> {
        let refused = || OfficeError::Unauthorised("the user name or the password is wrong".into());
        let stored: Option<(String, Option<String>)> = self.store().read(|conn| {
            conn.query_row("SELECT id, password_hash FROM office_users WHERE name = ?1", [name.trim()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })?;
        let Some((user_id, Some(hash))) = stored else {
            // Spend the same effort, so timing does not tell which names exist.
            let _ = password_matches(password, DUMMY_HASH);
            return Err(refused());
        };
        if !password_matches(password, &hash) {
            return Err(refused());
        }
        let token = random_hex(32)?;
        let csrf = random_hex(32)?;
        let now = self.now();
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_sessions WHERE expires_at < ?1", [now.to_rfc3339()])?;
            tx.execute(
                "INSERT INTO office_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    hash_secret(&token),
                    user_id,
                    csrf,
                    now.to_rfc3339(),
                    (now + Duration::hours(SESSION_HOURS)).to_rfc3339()
                ],
            )?;
            Ok::<_, OfficeError>(())
        })?;
        Ok(token)
    }

    /// The user a session token belongs to, unless it expired, was ended, or the user's decisions device
    /// was revoked (`rectify-office revoke`), which shuts them out of the dashboard.
    pub fn session(&self, token: &str) -> Result<Option<WebUser>, OfficeError> {
        if token.len() != 64 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let now = self.now();
        self.store().read(|conn| {
            let row: Option<(String, String, String, Option<String>, String, String)> = conn
                .prepare_cached(
                    "SELECT u.id, u.name, u.role, u.web_device, s.csrf, s.expires_at
                     FROM office_sessions s JOIN office_users u ON u.id = s.user_id
                     JOIN office_devices d ON d.device_id = u.web_device AND d.revoked_at IS NULL
                     WHERE s.token_hash = ?1",
                )?
                .query_row([hash_secret(token)], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
                })
                .optional()?;
            let Some((user, name, role, Some(device), csrf, expires_at)) = row else { return Ok(None) };
            if DateTime::parse_from_rfc3339(&expires_at).map_or(true, |at| at < now) {
                return Ok(None);
            }
            let villages = user_villages(conn, &user)?;
            let bad = |text: &str| OfficeError::Internal(format!("bad stored value {text}"));
            Ok(Some(WebUser {
                user_id: user.parse().map_err(|_| bad(&user))?,
                name,
                role: role.parse().map_err(|_| bad(&role))?,
                villages,
                device_id: device.parse().map_err(|_| bad(&device))?,
                csrf,
            }))
        })
    }

    /// Ends a session.
    pub fn log_out(&self, token: &str) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_sessions WHERE token_hash = ?1", [hash_secret(token)])?;
            Ok::<_, OfficeError>(())
        })
    }

    /// Every office user.
    pub fn users(&self) -> Result<Vec<UserRow>, OfficeError> {
        self.store().read(|conn| {
            let mut statement = conn.prepare(
                "SELECT u.name, u.role, u.password_hash IS NOT NULL, u.created_at, u.web_device,
                        (SELECT group_concat(c.code, ' ') FROM office_user_villages uv
                         JOIN village_codes c ON c.village_id = uv.village_id
                          AND c.position = (SELECT max(position) FROM village_codes WHERE village_id = uv.village_id)
                         WHERE uv.user_id = u.id)
                 FROM office_users u ORDER BY u.name",
            )?;
            let rows = statement.query_map([], |row| {
                let villages: Option<String> = row.get(5)?;
                Ok(UserRow {
                    name: row.get(0)?,
                    role: row.get(1)?,
                    can_log_in: row.get(2)?,
                    created_at: row.get(3)?,
                    decisions_device: row.get(4)?,
                    villages: villages.unwrap_or_default().split_whitespace().map(str::to_string).collect(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// A valid Argon2id hash of a password nobody has, verified when the name is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3mS7DnbvUeZ8NUrVhqpbUH5WNo4JZNYNnqaFLbWqb4E";

/// Failed logins in a sliding window: per user name from one address, per address, and per user name
/// from anywhere (a higher limit, so one person guessing cannot lock a colleague out from their own desk).
#[derive(Debug)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    window: StdDuration,
    per_name_and_address: usize,
    per_address: usize,
    per_name: usize,
}

/// Keys the limiter holds at most; past it (after forgetting old failures) new names and addresses are
/// refused for a minute rather than remembered, so a flood of made-up names cannot grow it without end.
const MAX_KEYS: usize = 10_000;

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(StdDuration::from_secs(15 * 60), 5, 20, 50)
    }
}

impl LoginLimiter {
    pub fn new(window: StdDuration, per_name_and_address: usize, per_address: usize, per_name: usize) -> Self {
        Self { failures: Mutex::new(HashMap::new()), window, per_name_and_address, per_address, per_name }
    }

    /// (key, limit) for each count an attempt belongs to. IPv6 addresses count per /64, the block one
    /// household or phone usually holds.
    fn keys(&self, name: &str, address: Option<IpAddr>) -> [(String, usize); 3] {
        let address = match address {
            Some(IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(ip) => ip.to_string(),
            None => "unknown".to_string(),
        };
        let name = name.trim().to_lowercase();
        [
            (format!("pair:{name}@{address}"), self.per_name_and_address),
            (format!("addr:{address}"), self.per_address),
            (format!("name:{name}"), self.per_name),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Instant>>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts an attempt: counted as a failure at once (so parallel attempts cannot slip past the limit)
    /// unless `succeeded` takes it back. `Err(seconds)` to wait when a limit is reached.
    pub fn begin(&self, name: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let keys = self.keys(name, address);
        let mut failures = self.lock();
        let mut wait = None;
        for (key, limit) in &keys {
            let Some(times) = failures.get_mut(key) else { continue };
            times.retain(|at| now.duration_since(*at) < self.window);
            if times.len() >= *limit
                && let Some(oldest) = times.first()
            {
                let left = self.window.saturating_sub(now.duration_since(*oldest)).as_secs().max(1);
                wait = Some(wait.map_or(left, |other: u64| other.max(left)));
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        if failures.len() + keys.len() > MAX_KEYS {
            failures.retain(|_, times| times.last().is_some_and(|at| now.duration_since(*at) < self.window));
            if failures.len() + keys.len() > MAX_KEYS && keys.iter().any(|(key, _)| !failures.contains_key(key)) {
                return Err(60);
            }
        }
        for (key, _) in keys {
            failures.entry(key).or_default().push(now);
        }
        Ok(())
    }

    /// Takes back the attempt `begin` counted, when it was not a failure of the password (the office was
    /// busy, or broke).
    pub fn forget(&self, name: &str, address: Option<IpAddr>) {
        let keys = self.keys(name, address);
        let mut failures = self.lock();
        for (key, _) in keys {
            if let Some(times) = failures.get_mut(&key) {
                times.pop();
                if times.is_empty() {
                    failures.remove(&key);
                }
            }
        }
    }

    /// A right password: this name's failures from this address are forgiven, and the attempt is not one.
    pub fn succeeded(&self, name: &str, address: Option<IpAddr>) {
        self.forget(name, address);
        let [(pair, _), _, _] = self.keys(name, address);
        self.lock().remove(&pair);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn passwords_hash_and_verify_and_the_dummy_is_well_formed() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!password_matches("anything", DUMMY_HASH));
        let generated = generate_password().unwrap();
        assert_eq!(generated.len(), 19);
        assert!(check_new_password(&generated).is_ok());
        assert!(check_new_password("short").is_err());
    }

    #[test]
    fn the_limiter_locks_a_name_at_an_address_and_forgives_a_success() {
        let limiter = LoginLimiter::new(StdDuration::from_secs(60), 3, 100, 100);
        let ip: Option<IpAddr> = "127.0.0.1".parse().ok();
        let other: Option<IpAddr> = "10.0.0.9".parse().ok();
        for _ in 0..3 {
            assert_eq!(limiter.begin("zhao", ip), Ok(()));
        }
        assert!(limiter.begin("Zhao ", ip).is_err(), "names compare without case or spaces");
        assert_eq!(limiter.begin("li", ip), Ok(()), "another name from the same address is not locked yet");
        assert_eq!(limiter.begin("zhao", other), Ok(()), "zhao from their own desk still gets in");
        limiter.succeeded("zhao", other);
        limiter.forget("li", ip);
        // A success forgives this name's failures from that address only.
        assert!(limiter.begin("zhao", ip).is_err());
        let limiter = LoginLimiter::new(StdDuration::from_secs(60), 100, 2, 100);
        assert_eq!(limiter.begin("a", ip), Ok(()));
        assert_eq!(limiter.begin("b", ip), Ok(()));
        assert!(limiter.begin("c", ip).is_err(), "an address trying many names is locked");
        let limiter = LoginLimiter::new(StdDuration::from_secs(60), 100, 100, 2);
        assert_eq!(limiter.begin("zhao", ip), Ok(()));
        assert_eq!(limiter.begin("zhao", other), Ok(()));
        assert!(
            limiter.begin("zhao", "10.0.0.10".parse().ok()).is_err(),
            "a name guessed from many addresses is locked"
        );
        let v6a: Option<IpAddr> = "2001:db8:1:2::5".parse().ok();
        let v6b: Option<IpAddr> = "2001:db8:1:2::6".parse().ok();
        let limiter = LoginLimiter::new(StdDuration::from_secs(60), 100, 1, 100);
        assert_eq!(limiter.begin("a", v6a), Ok(()));
        assert!(limiter.begin("b", v6b).is_err(), "one /64 counts as one address");
    }
}
