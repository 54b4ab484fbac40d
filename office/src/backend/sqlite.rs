//! The SQLite backend: the office tables beside the core ledger's in `office.db`. One writer at a time
//! (the core store's), so server_seq is given out in commit order by construction.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};
use rectify_core::domain::category::Catalogue;
use rectify_core::domain::event::Event;
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::ids::{DeviceId, IssueId, UserId, VillageId};
use rectify_core::ledger::Ledger;
use rectify_core::store::{boundaries, events, issues, places};
use rectify_core::sync::wire::{BoundaryRecord, PhotoManifest, PushRequest, PushResponse, ReferenceData, ScopeTally};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use sha2::{Digest, Sha256};

use super::{
    CredentialKey, Judged, LoginKey, NewEnrollment, OfficeStore, PhotoRow, SequencerTx, SessionRow, StoredPage,
    UploadLock, WebUserUpdate, global_sum_after, login_wait, parse_id, push_in, trim_page, village_tally_after,
};
use crate::credentials::{set_user_villages, user_villages, village_ids};
use crate::web::auth::UserRow;
use crate::{Credential, DeviceRow, OfficeError};

#[derive(Debug)]
pub(crate) struct SqliteStore {
    ledger: Arc<Ledger>,
    epoch: String,
    reference: Mutex<Option<BuiltReference>>,
    uploads: Arc<UploadLocks>,
}

impl SqliteStore {
    pub(crate) fn new(ledger: Arc<Ledger>, epoch: String) -> Self {
        Self { ledger, epoch, reference: Mutex::new(None), uploads: Arc::default() }
    }

    fn store(&self) -> &rectify_core::store::Store {
        self.ledger.store()
    }
}

/// The reference data as last built, with the places fingerprint it was built from.
#[derive(Debug)]
struct BuiltReference {
    fingerprint: String,
    version: String,
    body: Arc<Vec<u8>>,
}

/// Photos whose upload some thread is writing, in this process.
#[derive(Debug, Default)]
pub(crate) struct UploadLocks {
    busy: Mutex<HashSet<String>>,
    freed: Condvar,
}

struct HeldUpload {
    locks: Arc<UploadLocks>,
    hash: String,
}

impl Drop for HeldUpload {
    fn drop(&mut self) {
        let mut busy = self.locks.busy.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        busy.remove(&self.hash);
        self.locks.freed.notify_all();
    }
}

impl UploadLocks {
    pub(crate) fn hold(self: &Arc<Self>, hash: &str) -> UploadLock {
        let mut busy = self.busy.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while busy.contains(hash) {
            busy = self.freed.wait(busy).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        busy.insert(hash.to_string());
        Box::new(HeldUpload { locks: self.clone(), hash: hash.to_string() })
    }
}

impl OfficeStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn set_epoch(&self, epoch: &str) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            tx.execute("UPDATE office_meta SET epoch = ?1", [epoch])?;
            Ok(())
        })
    }

    fn publish_reference(&self, _version: &str, _body: &[u8]) -> Result<(), OfficeError> {
        Ok(())
    }

    fn add_enrollment(&self, new: &NewEnrollment<'_>) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            let villages = village_ids(tx, new.village_codes)?;
            let existing: Option<String> =
                tx.query_row("SELECT id FROM office_users WHERE name = ?1", [new.user], |row| row.get(0)).optional()?;
            let user_id = existing.unwrap_or_else(|| UserId::new().to_string());
            tx.execute(
                "INSERT INTO office_users (id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET role = ?3",
                params![user_id, new.user, new.role.as_str(), new.now.to_rfc3339()],
            )?;
            set_user_villages(tx, &user_id, &villages)?;
            tx.execute(
                "INSERT INTO office_enrollments (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![new.code_hash, user_id, new.now.to_rfc3339(), new.expires.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn redeem_enrollment(
        &self,
        code_hash: &str,
        device: DeviceId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            let found: Option<(String, String, Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT user_id, expires_at, used_at, device_id FROM office_enrollments WHERE code_hash = ?1",
                    [code_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()?;
            let bound: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT user_id, revoked_at FROM office_devices WHERE device_id = ?1",
                    [device.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let user_id = crate::credentials::check_redeem(found, bound, device, now)?;
            tx.execute(
                "UPDATE office_enrollments SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                params![code_hash, now.to_rfc3339(), device.to_string()],
            )?;
            tx.execute(
                "INSERT INTO office_devices (device_id, user_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device_id) DO UPDATE SET user_id = ?2, token_hash = ?3, enrolled_at = ?4, revoked_at = NULL",
                params![device.to_string(), user_id, token_hash, now.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn credential(&self, key: CredentialKey<'_>) -> Result<Option<Credential>, OfficeError> {
        let (condition, value) = match key {
            CredentialKey::Device(device) => ("d.device_id = ?1", device.to_string()),
            CredentialKey::TokenHash(hash) => ("d.token_hash = ?1 AND d.revoked_at IS NULL", hash.to_string()),
        };
        self.store().read(|conn| {
            let sql = format!(
                "SELECT d.device_id, u.id, u.name, u.role FROM office_devices d JOIN office_users u ON u.id = d.user_id
                 WHERE {condition}"
            );
            let row: Option<(String, String, String, String)> = conn
                .prepare_cached(&sql)?
                .query_row([value], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                .optional()?;
            let Some((device, user, name, role)) = row else { return Ok(None) };
            Ok(Some(Credential {
                device_id: parse_id(&device)?,
                villages: user_villages(conn, &user)?,
                user_id: parse_id(&user)?,
                user_name: name,
                role: parse_id(&role)?,
            }))
        })
    }

    fn revoke(&self, device: &str, now: &str) -> Result<bool, OfficeError> {
        self.store().write(|tx| {
            Ok(tx.execute(
                "UPDATE office_devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
                params![device, now],
            )? > 0)
        })
    }

    fn devices(&self) -> Result<Vec<DeviceRow>, OfficeError> {
        self.store().read(|conn| {
            let mut statement = conn.prepare(
                "SELECT d.device_id, u.name, u.role, d.enrolled_at, d.revoked_at, d.acked_through, d.last_seen_at
                 FROM office_devices d JOIN office_users u ON u.id = d.user_id ORDER BY d.enrolled_at",
            )?;
            let rows = statement.query_map([], |row| {
                Ok(DeviceRow {
                    device_id: row.get(0)?,
                    user: row.get(1)?,
                    role: row.get(2)?,
                    enrolled_at: row.get(3)?,
                    revoked_at: row.get(4)?,
                    acked_through: row.get::<_, i64>(5)? as u64,
                    last_seen_at: row.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn commit_pushes(
        &self,
        group: Vec<(Credential, PushRequest)>,
        now: &str,
    ) -> Result<Vec<Result<PushResponse, OfficeError>>, OfficeError> {
        self.store().write(|tx| {
            let mut answers = Vec::with_capacity(group.len());
            for (credential, request) in group {
                tx.execute_batch("SAVEPOINT push")?;
                let answer = push_in(&mut SqliteTx(tx), &credential, request, now);
                let end = if answer.is_ok() { "RELEASE push" } else { "ROLLBACK TO push; RELEASE push" };
                tx.execute_batch(end)?;
                answers.push(answer);
            }
            Ok(answers)
        })
    }

    fn pull(&self, scope: Option<&[VillageId]>, after: u64, limit: usize) -> Result<StoredPage, OfficeError> {
        self.store().read(|conn| {
            let head = head(conn)?;
            if after > head {
                return Err(ahead(after, head));
            }
            let mut events = page_events(conn, scope, after, limit + 1)?;
            let (through, more) = trim_page(&mut events, limit, head);
            let scope_tally = tally(conn, scope, through)?;
            let photos = manifests(conn, events.iter().flat_map(|event| event.photos.iter()))?;
            Ok(StoredPage { head, events, scope: scope_tally, through, more, photos })
        })
    }

    fn head(&self) -> Result<u64, OfficeError> {
        Ok(self.store().read(head)?)
    }

    fn position(&self, device: DeviceId) -> Result<(u64, u64), OfficeError> {
        self.store().read(|conn| {
            let acked: i64 = conn.query_row(
                "SELECT acked_through FROM office_devices WHERE device_id = ?1",
                [device.to_string()],
                |row| row.get(0),
            )?;
            Ok((acked as u64, head(conn)?))
        })
    }

    fn reference(&self) -> Result<(String, Arc<Vec<u8>>), OfficeError> {
        let fingerprint = self.store().read(places::fingerprint)?;
        let mut cache = self.reference.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(built) = cache.as_ref().filter(|built| built.fingerprint == fingerprint) {
            return Ok((built.version.clone(), built.body.clone()));
        }
        let (towns, zones, villages, shapes) = self.store().read(|conn| {
            let (towns, zones) = places::towns_and_zones(conn)?;
            Ok::<_, rusqlite::Error>((towns, zones, places::villages(conn)?, boundaries::all(conn)?))
        })?;
        let catalogue = serde_json::to_value(Catalogue::builtin())
            .map_err(|err| OfficeError::Internal(format!("cannot encode the category table: {err}")))?;
        let boundaries = shapes
            .iter()
            .map(|shape| BoundaryRecord {
                village_id: shape.village_id,
                geometry: boundaries::to_geojson(&shape.shape),
                area_m2: shape.area_m2,
                source: "office".to_string(),
            })
            .collect();
        let mut data = ReferenceData { version: String::new(), towns, zones, villages, boundaries, catalogue };
        let encode =
            |data: &ReferenceData| serde_json::to_vec(data).map_err(|err| OfficeError::Internal(err.to_string()));
        let version: String = Sha256::digest(encode(&data)?).iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        data.version = version.clone();
        let body = Arc::new(encode(&data)?);
        *cache = Some(BuiltReference { fingerprint, version: version.clone(), body: body.clone() });
        Ok((version, body))
    }

    fn photo(&self, hash: &PhotoHash) -> Result<Option<PhotoRow>, OfficeError> {
        self.store().read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT length, received, present, path, photo, manifest FROM office_photos WHERE hash = ?1",
                )?
                .query_row([hash.as_str()], |row| {
                    Ok(PhotoRow {
                        length: row.get::<_, i64>(0)? as u64,
                        received: row.get::<_, i64>(1)? as u64,
                        present: row.get(2)?,
                        path: row.get(3)?,
                        photo: row.get(4)?,
                        manifest: row.get(5)?,
                    })
                })
                .optional()?)
        })
    }

    fn set_photo_progress(
        &self,
        hash: &PhotoHash,
        received: u64,
        present_at: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            match present_at {
                Some(path) => tx.execute(
                    "UPDATE office_photos SET received = ?2, present = 1, path = ?3, updated_at = ?4 WHERE hash = ?1",
                    params![hash.as_str(), received as i64, path, now],
                )?,
                None => tx.execute(
                    "UPDATE office_photos SET received = ?2, updated_at = ?3 WHERE hash = ?1",
                    params![hash.as_str(), received as i64, now],
                )?,
            };
            Ok(())
        })
    }

    fn photo_in_scope(&self, photo: &str, villages: &[VillageId]) -> Result<bool, OfficeError> {
        if villages.is_empty() {
            return Ok(false);
        }
        self.store().read(|conn| {
            let marks = vec!["?"; villages.len()].join(", ");
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM event_photos ep JOIN office_sequence s ON s.event_id = ep.event_id
                                WHERE ep.hash = ? AND s.village_id IN ({marks}))"
            );
            let mut values = vec![photo.to_string()];
            values.extend(villages.iter().map(ToString::to_string));
            Ok(conn.prepare(&sql)?.query_row(params_from_iter(values), |row| row.get(0))?)
        })
    }

    fn lock_upload(&self, hash: &PhotoHash) -> Result<UploadLock, OfficeError> {
        Ok(self.uploads.hold(hash.as_str()))
    }

    fn thumbnail_of(&self, photo: &str) -> Result<Option<String>, OfficeError> {
        self.store().read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT hash FROM office_photos WHERE photo = ?1 AND kind = 'thumbnail' AND present = 1 LIMIT 1",
                )?
                .query_row([photo], |row| row.get(0))
                .optional()?)
        })
    }

    fn views_version(&self) -> Result<i64, OfficeError> {
        self.store().read(|conn| {
            Ok(conn.query_row("SELECT views_version FROM office_meta WHERE singleton = 1", [], |row| row.get(0))?)
        })
    }

    fn save_web_user(&self, user: &WebUserUpdate<'_>) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            let villages = village_ids(tx, user.village_codes)?;
            let existing: Option<(String, Option<String>)> = tx
                .query_row("SELECT id, web_device FROM office_users WHERE name = ?1", [user.name], |row| {
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
                        params![user_id, user.name, user.role.as_str(), user.now],
                    )?;
                    tx.execute(
                        "INSERT INTO office_devices (device_id, user_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4)",
                        params![device, user_id, user.unusable_token_hash, user.now],
                    )?;
                    device
                }
            };
            tx.execute(
                "INSERT INTO office_users (id, name, role, created_at, password_hash, web_device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET role = ?3, password_hash = ?5, web_device = ?6",
                params![user_id, user.name, user.role.as_str(), user.now, user.password_hash, device],
            )?;
            set_user_villages(tx, &user_id, &villages)?;
            // A new password ends every session opened with the old one.
            tx.execute("DELETE FROM office_sessions WHERE user_id = ?1", [&user_id])?;
            Ok(())
        })
    }

    fn password_of(&self, name: &str) -> Result<Option<(String, Option<String>)>, OfficeError> {
        self.store().read(|conn| {
            Ok(conn
                .query_row("SELECT id, password_hash FROM office_users WHERE name = ?1", [name], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?)
        })
    }

    fn open_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_sessions WHERE expires_at < ?1", [now])?;
            tx.execute(
                "INSERT INTO office_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, user_id, csrf, now, expires_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, OfficeError> {
        self.store().read(|conn| {
            let row: Option<(String, String, String, Option<String>, String, String)> = conn
                .prepare_cached(
                    "SELECT u.id, u.name, u.role, u.web_device, s.csrf, s.expires_at
                     FROM office_sessions s JOIN office_users u ON u.id = s.user_id
                     JOIN office_devices d ON d.device_id = u.web_device AND d.revoked_at IS NULL
                     WHERE s.token_hash = ?1",
                )?
                .query_row([token_hash], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
                })
                .optional()?;
            let Some((user_id, name, role, web_device, csrf, expires_at)) = row else { return Ok(None) };
            let villages = user_villages(conn, &user_id)?;
            Ok(Some(SessionRow { user_id, name, role, web_device, csrf, expires_at, villages }))
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
    }

    fn users(&self) -> Result<Vec<UserRow>, OfficeError> {
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

    fn user_names(&self) -> Result<Vec<(String, String)>, OfficeError> {
        self.store().read(|conn| {
            Ok(conn
                .prepare_cached("SELECT id, name FROM office_users")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn login_attempt(&self, keys: &[LoginKey], now_ms: i64, window_ms: i64) -> Result<Result<(), u64>, OfficeError> {
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_login_failures WHERE at_ms <= ?1", [now_ms - window_ms])?;
            let mut wait: Option<u64> = None;
            for key in keys {
                let (count, oldest): (i64, Option<i64>) = tx
                    .prepare_cached("SELECT count(*), min(at_ms) FROM office_login_failures WHERE key = ?1")?
                    .query_row([&key.key], |row| Ok((row.get(0)?, row.get(1)?)))?;
                if let Some(left) = login_wait(count as usize, key.limit, oldest.unwrap_or(now_ms), now_ms, window_ms) {
                    wait = Some(wait.map_or(left, |other| other.max(left)));
                }
            }
            if let Some(wait) = wait {
                return Ok(Err(wait));
            }
            for key in keys {
                tx.prepare_cached("INSERT INTO office_login_failures (key, at_ms) VALUES (?1, ?2)")?
                    .execute(params![key.key, now_ms])?;
            }
            Ok(Ok(()))
        })
    }

    fn login_forget(&self, keys: &[String]) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            for key in keys {
                tx.execute(
                    "DELETE FROM office_login_failures
                     WHERE id = (SELECT max(id) FROM office_login_failures WHERE key = ?1)",
                    [key],
                )?;
            }
            Ok(())
        })
    }

    fn login_forgive(&self, key: &str) -> Result<(), OfficeError> {
        self.store().write(|tx| {
            tx.execute("DELETE FROM office_login_failures WHERE key = ?1", [key])?;
            Ok(())
        })
    }
}

pub(crate) fn ahead(after: u64, head: u64) -> OfficeError {
    OfficeError::Conflict(format!(
        "the cursor is ahead of the office's ledger ({after} > {head}); pull again from the start"
    ))
}

/// The newest server_seq.
pub(crate) fn head(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT coalesce(max(server_seq), 0) FROM office_sequence", [], |row| row.get::<_, i64>(0))
        .map(|seq| seq as u64)
}

/// The sequencer's reads and writes on the group's SQLite transaction.
struct SqliteTx<'a, 'b>(&'a Transaction<'b>);

impl SequencerTx for SqliteTx<'_, '_> {
    fn acked_through(&mut self, device: DeviceId) -> Result<u64, OfficeError> {
        Ok(self.0.query_row(
            "SELECT acked_through FROM office_devices WHERE device_id = ?1",
            [device.to_string()],
            |row| row.get::<_, i64>(0),
        )? as u64)
    }

    fn head(&mut self) -> Result<u64, OfficeError> {
        Ok(head(self.0)?)
    }

    fn announce_photo(
        &mut self,
        hash: &str,
        kind: &str,
        photo: &str,
        length: u64,
        manifest: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError> {
        self.0
            .prepare_cached(
                "INSERT OR IGNORE INTO office_photos (hash, kind, photo, length, manifest, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![hash, kind, photo, length as i64, manifest, now])?;
        Ok(())
    }

    fn event_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<Judged>, OfficeError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT event_id, server_seq, verdict FROM events WHERE device_id = ?1 AND device_seq = ?2",
            )?
            .query_row(params![device.to_string(), device_seq as i64], |row| {
                Ok(Judged {
                    event_id: row.get(0)?,
                    server_seq: row.get::<_, Option<i64>>(1)?.map(|seq| seq as u64),
                    verdict: row.get(2)?,
                })
            })
            .optional()?)
    }

    fn refusal_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<String>, OfficeError> {
        Ok(self
            .0
            .prepare_cached("SELECT reason FROM office_refusals WHERE device_id = ?1 AND device_seq = ?2")?
            .query_row(params![device.to_string(), device_seq as i64], |row| row.get(0))
            .optional()?)
    }

    fn stored_seq(&mut self, event: &Event) -> Result<Option<u64>, OfficeError> {
        Ok(self
            .0
            .prepare_cached("SELECT server_seq FROM events WHERE event_id = ?1")?
            .query_row([event.event_id.to_string()], |row| row.get::<_, Option<i64>>(0))
            .optional()?
            .map(|seq| seq.unwrap_or(0) as u64))
    }

    fn record_refusal(&mut self, event: &Event, reason: &str) -> Result<(), OfficeError> {
        self.0.execute(
            "INSERT INTO office_refusals (device_id, device_seq, event_id, reason) VALUES (?1, ?2, ?3, ?4)",
            params![event.device_id.to_string(), event.device_seq as i64, event.event_id.to_string(), reason],
        )?;
        Ok(())
    }

    fn issue_state(&mut self, issue: IssueId) -> Result<Option<IssueState>, OfficeError> {
        Ok(issues::load_state(self.0, issue)?)
    }

    fn village_label(&mut self, village: VillageId) -> Result<Option<String>, OfficeError> {
        Ok(places::village(self.0, village)?.map(|place| place.code().to_string()))
    }

    fn store_event(&mut self, event: &Event, seq: u64, village: Option<VillageId>) -> Result<(), OfficeError> {
        events::insert(self.0, event)?;
        let last_global: i64 = self
            .0
            .prepare_cached("SELECT global_sum FROM office_sequence ORDER BY server_seq DESC LIMIT 1")?
            .query_row([], |row| row.get(0))
            .optional()?
            .unwrap_or(0);
        let mut village_tally = ScopeTally::default();
        if let Some(village) = village {
            let last: Option<(i64, i64)> = self
                .0
                .prepare_cached(
                    "SELECT village_count, village_sum FROM office_sequence WHERE village_id = ?1
                     ORDER BY server_seq DESC LIMIT 1",
                )?
                .query_row([village.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let before = last.map(|(count, sum)| ScopeTally { count: count as u64, sum: sum as u64 });
            village_tally = village_tally_after(before.unwrap_or_default(), event, seq);
        }
        self.0
            .prepare_cached(
                "INSERT INTO office_sequence (server_seq, event_id, village_id, village_count, village_sum, global_sum)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                seq as i64,
                event.event_id.to_string(),
                village.map(|village| village.to_string()),
                village_tally.count as i64,
                village_tally.sum as i64,
                global_sum_after(last_global as u64, event, seq) as i64,
            ])?;
        Ok(())
    }

    fn save_state(&mut self, state: &IssueState) -> Result<(), OfficeError> {
        Ok(issues::save_state(self.0, state)?)
    }

    fn set_acked(&mut self, device: DeviceId, acked: u64, now: &str) -> Result<(), OfficeError> {
        self.0.execute(
            "UPDATE office_devices SET acked_through = ?2, last_seen_at = ?3 WHERE device_id = ?1",
            params![device.to_string(), acked as i64, now],
        )?;
        Ok(())
    }
}

fn page_events(
    conn: &Connection,
    scope: Option<&[VillageId]>,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<Event>> {
    let columns = events::COLUMNS;
    match scope {
        None => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM events WHERE server_seq > ?1 ORDER BY server_seq LIMIT ?2"
            ))?
            .query_map([after as i64, limit as i64], events::from_row)?
            .collect(),
        Some([]) => Ok(Vec::new()),
        Some(villages) => {
            let marks = vec!["?"; villages.len()].join(", ");
            let sql = format!(
                "SELECT {columns} FROM events WHERE server_seq IN (
                     SELECT server_seq FROM office_sequence WHERE village_id IN ({marks}) AND server_seq > ?
                     ORDER BY server_seq LIMIT ?)
                 ORDER BY server_seq"
            );
            use rusqlite::types::Value;
            let mut values: Vec<Value> = villages.iter().map(|village| Value::Text(village.to_string())).collect();
            values.push(Value::Integer(after as i64));
            values.push(Value::Integer(limit as i64));
            conn.prepare(&sql)?.query_map(params_from_iter(values), events::from_row)?.collect()
        }
    }
}

/// Everything in scope with server_seq up to `through`.
fn tally(conn: &Connection, scope: Option<&[VillageId]>, through: u64) -> rusqlite::Result<ScopeTally> {
    match scope {
        None => {
            let sum: Option<i64> = conn
                .prepare_cached(
                    "SELECT global_sum FROM office_sequence WHERE server_seq <= ?1 ORDER BY server_seq DESC LIMIT 1",
                )?
                .query_row([through as i64], |row| row.get(0))
                .optional()?;
            Ok(ScopeTally { count: through, sum: sum.unwrap_or(0) as u64 })
        }
        Some(villages) => {
            let mut total = ScopeTally::default();
            let mut statement = conn.prepare_cached(
                "SELECT village_count, village_sum FROM office_sequence WHERE village_id = ?1 AND server_seq <= ?2
                 ORDER BY server_seq DESC LIMIT 1",
            )?;
            for village in villages {
                let found: Option<(i64, i64)> = statement
                    .query_row(params![village.to_string(), through as i64], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                if let Some((count, sum)) = found {
                    total.merge(ScopeTally { count: count as u64, sum: sum as u64 });
                }
            }
            Ok(total)
        }
    }
}

fn manifests<'a>(
    conn: &Connection,
    hashes: impl Iterator<Item = &'a PhotoHash>,
) -> rusqlite::Result<Vec<PhotoManifest>> {
    let mut statement =
        conn.prepare_cached("SELECT manifest FROM office_photos WHERE hash = ?1 AND kind = 'evidence'")?;
    let mut found: Vec<PhotoManifest> = Vec::new();
    for hash in hashes {
        if found.iter().any(|known| &known.hash == hash) {
            continue;
        }
        let text: Option<Option<String>> = statement.query_row([hash.as_str()], |row| row.get(0)).optional()?;
        if let Some(manifest) = text.flatten().and_then(|text| serde_json::from_str(&text).ok()) {
            found.push(manifest);
        }
    }
    Ok(found)
}
