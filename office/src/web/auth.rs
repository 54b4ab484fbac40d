//! Office users in the browser. Passwords are stored as Argon2id PHC strings; a login opens a session
//! whose random token lives in an HttpOnly, SameSite=Strict cookie and, at the office, only as a SHA-256
//! hash next to the session's CSRF token. Failed logins are counted per user name and per client address,
//! and too many in a window lock that name or address out for a while.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, UserId, VillageId};

use crate::backend::{LoginKey, WebUserUpdate};
use crate::credentials::{checked_user, hash_secret, random_bytes, random_hex};
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
        let password_hash = hash_password(password)?;
        // The decisions device holds a token nobody is ever given: it cannot sync, only record.
        self.backend().save_web_user(&WebUserUpdate {
            name,
            role,
            village_codes,
            password_hash,
            unusable_token_hash: hash_secret(&random_hex(32)?),
            now: self.now().to_rfc3339(),
        })
    }

    /// Checks a password and opens a session; returns the session token for the cookie. The answer for
    /// an unknown name is the same as for a wrong password, and takes as long.
    pub fn log_in(&self, name: &str, password: &str) -> Result<String, OfficeError> {
        let refused = || OfficeError::Unauthorised("the user name or the password is wrong".into());
        let stored = self.backend().password_of(name.trim())?;
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
        self.backend().open_session(
            &hash_secret(&token),
            &user_id,
            &csrf,
            &now.to_rfc3339(),
            &(now + Duration::hours(SESSION_HOURS)).to_rfc3339(),
        )?;
        Ok(token)
    }

    /// The user a session token belongs to, unless it expired, was ended, or the user's decisions device
    /// was revoked (`rectify-office revoke`), which shuts them out of the dashboard.
    pub fn session(&self, token: &str) -> Result<Option<WebUser>, OfficeError> {
        if token.len() != 64 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let now = self.now();
        let Some(row) = self.backend().session(&hash_secret(token))? else { return Ok(None) };
        let Some(device) = row.web_device else { return Ok(None) };
        if DateTime::parse_from_rfc3339(&row.expires_at).map_or(true, |at| at < now) {
            return Ok(None);
        }
        let bad = |text: &str| OfficeError::Internal(format!("bad stored value {text}"));
        Ok(Some(WebUser {
            user_id: row.user_id.parse().map_err(|_| bad(&row.user_id))?,
            name: row.name,
            role: row.role.parse().map_err(|_| bad(&row.role))?,
            villages: row.villages,
            device_id: device.parse().map_err(|_| bad(&device))?,
            csrf: row.csrf,
        }))
    }

    /// Ends a session.
    pub fn log_out(&self, token: &str) -> Result<(), OfficeError> {
        self.backend().end_session(&hash_secret(token))
    }

    /// Every office user.
    pub fn users(&self) -> Result<Vec<UserRow>, OfficeError> {
        self.backend().users()
    }
}

/// A valid Argon2id hash of a password nobody has, verified when the name is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3mS7DnbvUeZ8NUrVhqpbUH5WNo4JZNYNnqaFLbWqb4E";

/// Failed logins in a sliding window: per user name from one address, per address, and per user name
/// from anywhere (a higher limit, so one person guessing cannot lock a colleague out from their own desk).
/// The counts live in the office's database, so every office process applies the same limits.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    window: StdDuration,
    per_name_and_address: usize,
    per_address: usize,
    per_name: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(StdDuration::from_secs(15 * 60), 5, 20, 50)
    }
}

impl LoginLimiter {
    pub fn new(window: StdDuration, per_name_and_address: usize, per_address: usize, per_name: usize) -> Self {
        Self { window, per_name_and_address, per_address, per_name }
    }

    /// The counts an attempt belongs to. IPv6 addresses count per /64, the block one household or phone
    /// usually holds.
    fn keys(&self, name: &str, address: Option<IpAddr>) -> [LoginKey; 3] {
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
            LoginKey { key: format!("pair:{name}@{address}"), limit: self.per_name_and_address },
            LoginKey { key: format!("addr:{address}"), limit: self.per_address },
            LoginKey { key: format!("name:{name}"), limit: self.per_name },
        ]
    }

    /// Starts an attempt: counted as a failure at once (so parallel attempts cannot slip past the limit)
    /// unless `succeeded` takes it back. `Ok(Err(seconds))` to wait when a limit is reached.
    pub fn begin(&self, office: &Office, name: &str, address: Option<IpAddr>) -> Result<Result<(), u64>, OfficeError> {
        let now_ms = Utc::now().timestamp_millis();
        office.backend().login_attempt(&self.keys(name, address), now_ms, self.window.as_millis() as i64)
    }

    /// Takes back the attempt `begin` counted, when it was not a failure of the password (the office was
    /// busy, or broke).
    pub fn forget(&self, office: &Office, name: &str, address: Option<IpAddr>) -> Result<(), OfficeError> {
        let keys: Vec<String> = self.keys(name, address).into_iter().map(|key| key.key).collect();
        office.backend().login_forget(&keys)
    }

    /// A right password: this name's failures from this address are forgiven, and the attempt is not one.
    pub fn succeeded(&self, office: &Office, name: &str, address: Option<IpAddr>) -> Result<(), OfficeError> {
        self.forget(office, name, address)?;
        let [pair, _, _] = self.keys(name, address);
        office.backend().login_forgive(&pair.key)
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

    /// A limiter over a fresh office of its own.
    struct Limits(LoginLimiter, std::sync::Arc<Office>, tempfile::TempDir);

    impl Limits {
        fn new(per_pair: usize, per_address: usize, per_name: usize) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let office = Office::open(dir.path()).unwrap();
            Self(LoginLimiter::new(StdDuration::from_secs(60), per_pair, per_address, per_name), office, dir)
        }
        fn begin(&self, name: &str, address: Option<IpAddr>) -> Result<(), u64> {
            self.0.begin(&self.1, name, address).unwrap()
        }
        fn succeeded(&self, name: &str, address: Option<IpAddr>) {
            self.0.succeeded(&self.1, name, address).unwrap()
        }
        fn forget(&self, name: &str, address: Option<IpAddr>) {
            self.0.forget(&self.1, name, address).unwrap()
        }
    }

    #[test]
    fn the_limiter_locks_a_name_at_an_address_and_forgives_a_success() {
        let limiter = Limits::new(3, 100, 100);
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
        let wait = limiter.begin("zhao", ip).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        let limiter = Limits::new(100, 2, 100);
        assert_eq!(limiter.begin("a", ip), Ok(()));
        assert_eq!(limiter.begin("b", ip), Ok(()));
        assert!(limiter.begin("c", ip).is_err(), "an address trying many names is locked");
        let limiter = Limits::new(100, 100, 2);
        assert_eq!(limiter.begin("zhao", ip), Ok(()));
        assert_eq!(limiter.begin("zhao", other), Ok(()));
        assert!(
            limiter.begin("zhao", "10.0.0.10".parse().ok()).is_err(),
            "a name guessed from many addresses is locked"
        );
        let v6a: Option<IpAddr> = "2001:db8:1:2::5".parse().ok();
        let v6b: Option<IpAddr> = "2001:db8:1:2::6".parse().ok();
        let limiter = Limits::new(100, 1, 100);
        assert_eq!(limiter.begin("a", v6a), Ok(()));
        assert!(limiter.begin("b", v6b).is_err(), "one /64 counts as one address");
    }

    #[test]
    fn a_second_office_process_sees_the_same_failures() {
        let limiter = Limits::new(2, 100, 100);
        let ip: Option<IpAddr> = "127.0.0.1".parse().ok();
        assert_eq!(limiter.begin("zhao", ip), Ok(()));
        // Another process on the same data, with a limiter of its own: the limits hold across both.
        let other = Office::open(limiter.2.path()).unwrap();
        let other_limiter = LoginLimiter::new(StdDuration::from_secs(60), 2, 100, 100);
        assert_eq!(other_limiter.begin(&other, "zhao", ip).unwrap(), Ok(()));
        assert!(other_limiter.begin(&other, "zhao", ip).unwrap().is_err());
        assert!(limiter.begin("zhao", ip).is_err());
    }
}
