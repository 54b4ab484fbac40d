//! Who may sync: users with a role (and villages for secretaries), one-time enrollment codes, and devices
//! holding a bearer token bound to them. Codes and tokens are stored only as SHA-256 hashes.

use chrono::{DateTime, Duration, Utc};
use rectify_core::domain::role::{DeviceProfile, Role};
use rectify_core::ids::{DeviceId, UserId, VillageId};
use rectify_core::store::places;
use rusqlite::params;
use sha2::{Digest, Sha256};

use crate::backend::{CredentialKey, NewEnrollment};
use crate::{Office, OfficeError};

/// How long an enrollment code stays good.
pub const CODE_LIFETIME_DAYS: i64 = 7;
/// Letters that cannot be mistaken for one another when read aloud or typed from paper.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// An authenticated device: who it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub user_name: String,
    pub role: Role,
    pub villages: Vec<VillageId>,
}

impl Credential {
    pub fn profile(&self) -> DeviceProfile {
        DeviceProfile {
            device_id: self.device_id,
            user_id: self.user_id,
            user_name: self.user_name.clone(),
            role: self.role,
            villages: self.villages.clone(),
        }
    }

    /// The villages whose events this device receives; `None` for the whole district.
    pub fn scope(&self) -> Option<&[VillageId]> {
        (self.role == Role::Secretary).then_some(self.villages.as_slice())
    }
}

/// A device as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRow {
    pub device_id: String,
    pub user: String,
    pub role: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    pub acked_through: u64,
    pub last_seen_at: Option<String>,
}

pub(crate) fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes from the operating system's generator; without it the office cannot issue secrets at all.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], OfficeError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| OfficeError::Internal(format!("the system's random generator failed: {err}")))?;
    Ok(bytes)
}

pub fn random_hex(bytes: usize) -> Result<String, OfficeError> {
    Ok(random_bytes::<32>()?.iter().take(bytes).map(|byte| format!("{byte:02x}")).collect())
}

fn new_code() -> Result<String, OfficeError> {
    // 16 letters of 31: about 79 bits. The modulo bias (256 = 8 * 31 + 8) is too small to matter here.
    let raw = random_bytes::<16>()?;
    let letters: String = raw.iter().map(|byte| CODE_ALPHABET[*byte as usize % CODE_ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}-{}-{}", &letters[0..4], &letters[4..8], &letters[8..12], &letters[12..16]))
}

/// Codes are typed by people: case, spaces and dashes do not matter.
fn normalise_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A user's name and villages as typed, checked: the trimmed name. Secretaries need at least one village.
pub(crate) fn checked_user<'a>(name: &'a str, role: Role, village_codes: &[String]) -> Result<&'a str, OfficeError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(OfficeError::invalid("give the user's name (1 to 80 characters)"));
    }
    if role == Role::Secretary && village_codes.is_empty() {
        return Err(OfficeError::invalid("a secretary answers for villages: give at least one --village CODE"));
    }
    Ok(name)
}

/// The villages' ids by code; a code the office does not know is refused.
pub(crate) fn village_ids(tx: &rusqlite::Transaction<'_>, codes: &[String]) -> Result<Vec<VillageId>, OfficeError> {
    codes
        .iter()
        .map(|code| {
            places::village_by_code(tx, code.trim())?.map(|village| village.id).ok_or_else(|| {
                OfficeError::invalid(format!(
                    "no village with code {code} at the office: import villages first (`rectify-office villages import`)"
                ))
            })
        })
        .collect()
}

/// The villages a user answers for.
pub(crate) fn user_villages(conn: &rusqlite::Connection, user_id: &str) -> rusqlite::Result<Vec<VillageId>> {
    Ok(conn
        .prepare_cached("SELECT village_id FROM office_user_villages WHERE user_id = ?1 ORDER BY village_id")?
        .query_map([user_id], |row| row.get::<_, String>(0))?
        .filter_map(|id| id.ok().and_then(|id| id.parse().ok()))
        .collect())
}

/// Replaces the villages a user answers for.
pub(crate) fn set_user_villages(
    tx: &rusqlite::Transaction<'_>,
    user_id: &str,
    villages: &[VillageId],
) -> Result<(), OfficeError> {
    tx.execute("DELETE FROM office_user_villages WHERE user_id = ?1", [user_id])?;
    for village in villages {
        tx.execute(
            "INSERT INTO office_user_villages (user_id, village_id) VALUES (?1, ?2)",
            params![user_id, village.to_string()],
        )?;
    }
    Ok(())
}

/// The user an unused (or this device's own) unexpired code belongs to. `found` is the code's row (user,
/// expiry, used at, used by); `bound` is the device's current enrollment (user, revoked at), if any.
pub(crate) fn check_redeem(
    found: Option<(String, String, Option<String>, Option<String>)>,
    bound: Option<(String, Option<String>)>,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<String, OfficeError> {
    let Some((user_id, expires_at, used_at, used_by)) = found else {
        return Err(OfficeError::Unauthorised("this enrollment code is not known to the office".into()));
    };
    // The same device may use its code again (its first answer was lost); nobody else may.
    if used_at.is_some() && used_by.as_deref() != Some(device.to_string().as_str()) {
        return Err(OfficeError::Unauthorised("this enrollment code was already used; ask for a new one".into()));
    }
    if let Some((owner, revoked)) = bound
        && owner != user_id
        && revoked.is_none()
    {
        return Err(OfficeError::Unauthorised(format!(
            "device {device} is enrolled for another user; revoke it first (`rectify-office revoke`)"
        )));
    }
    if DateTime::parse_from_rfc3339(&expires_at).is_ok_and(|at| at < now) {
        return Err(OfficeError::Unauthorised("this enrollment code has expired; ask for a new one".into()));
    }
    Ok(user_id)
}

impl Office {
    /// Creates (or updates) the user `name` with `role` and villages, and issues a one-time code for one
    /// device. Returns the code.
    pub fn issue_enrollment(&self, name: &str, role: Role, village_codes: &[String]) -> Result<String, OfficeError> {
        let name = checked_user(name, role, village_codes)?;
        let now = self.now();
        let code = new_code()?;
        self.backend().add_enrollment(&NewEnrollment {
            user: name,
            role,
            village_codes,
            code_hash: hash_secret(&normalise_code(&code)),
            now,
            expires: now + Duration::days(CODE_LIFETIME_DAYS),
        })?;
        Ok(code)
    }

    /// Swaps a one-time code for a token bound to `device`. A code works once; enrolling a device again
    /// (after its token was revoked) replaces its token.
    pub fn enroll(&self, code: &str, device: DeviceId) -> Result<(String, Credential), OfficeError> {
        let token = random_hex(32)?;
        self.backend().redeem_enrollment(
            &hash_secret(&normalise_code(code)),
            device,
            &hash_secret(&token),
            self.now(),
        )?;
        let credential = self
            .backend()
            .credential(CredentialKey::Device(device))?
            .ok_or_else(|| OfficeError::Internal(format!("device {device} vanished right after enrolling")))?;
        Ok((token, credential))
    }

    /// The device a bearer token belongs to, unless it was revoked.
    pub fn authenticate(&self, token: &str) -> Result<Credential, OfficeError> {
        if token.len() != 64 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(OfficeError::Unauthorised("the token is malformed".into()));
        }
        self.backend()
            .credential(CredentialKey::TokenHash(&hash_secret(token)))?
            .ok_or_else(|| OfficeError::Unauthorised("the token is unknown or was revoked".into()))
    }

    /// Revokes a device's token: its next request is refused. Its events stay.
    pub fn revoke(&self, device: &str) -> Result<(), OfficeError> {
        if !self.backend().revoke(device.trim(), &self.now().to_rfc3339())? {
            return Err(OfficeError::NotFound(format!("no enrolled, unrevoked device {device}")));
        }
        Ok(())
    }

    /// Every enrolled device.
    pub fn devices(&self) -> Result<Vec<DeviceRow>, OfficeError> {
        self.backend().devices()
    }
}

/// The link a phone reads from an enrollment QR code: `rectify://enroll?server=<office URL>&code=<code>`,
/// both values percent-encoded. `server` is the office's address as phones reach it.
pub fn enrollment_link(server: &str, code: &str) -> Result<String, OfficeError> {
    let server = server.trim().trim_end_matches('/');
    let scheme_ok = server.starts_with("http://") || server.starts_with("https://");
    if !scheme_ok || server.len() <= "https://".len() || server.chars().any(char::is_whitespace) {
        return Err(OfficeError::Invalid(format!(
            "--server must be the office's address as phones reach it, e.g. https://office.example.org (got `{server}`)"
        )));
    }
    Ok(format!("rectify://enroll?server={}&code={}", percent_encode(server), percent_encode(code)))
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_enrollment_link_carries_the_server_and_code_encoded() {
        assert_eq!(
            enrollment_link("https://office.example.org:8443/rectify/", "ABCD-EFGH").unwrap(),
            "rectify://enroll?server=https%3A%2F%2Foffice.example.org%3A8443%2Frectify&code=ABCD-EFGH"
        );
        for bad in ["office.example.org", "ftp://x", "https://", "http://a b"] {
            assert!(matches!(enrollment_link(bad, "C"), Err(OfficeError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn codes_are_readable_and_forgiving_to_type() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), 19);
        assert!(code.chars().all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8))), "{code}");
        assert_eq!(normalise_code(&code.to_lowercase().replace('-', " ")), normalise_code(&code));
        assert_ne!(new_code().unwrap(), new_code().unwrap());
    }
}
