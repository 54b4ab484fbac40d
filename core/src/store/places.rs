//! Towns, zones and villages, and each village's code history.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::parse_id;
use crate::domain::place::{Town, Village, VillageCode, Zone};
use crate::ids::{TownId, VillageId, ZoneId};

/// Finds a town by code (when given) or by name, creating it if absent.
pub fn ensure_town(tx: &Transaction<'_>, name: &str, code: Option<&str>) -> rusqlite::Result<TownId> {
    let existing: Option<String> = match code {
        Some(code) => tx.query_row("SELECT id FROM towns WHERE code = ?1", [code], |row| row.get(0)).optional()?,
        None => tx.query_row("SELECT id FROM towns WHERE name = ?1", [name], |row| row.get(0)).optional()?,
    };
    if let Some(id) = existing {
        tx.execute("UPDATE towns SET name = ?2 WHERE id = ?1", params![id, name])?;
        return parse_id(&id, "town id");
    }
    let id = TownId::new();
    tx.execute("INSERT INTO towns (id, name, code) VALUES (?1, ?2, ?3)", params![id.to_string(), name, code])?;
    Ok(id)
}

/// Finds a zone of a town by name, creating it if absent.
pub fn ensure_zone(tx: &Transaction<'_>, town: TownId, name: &str) -> rusqlite::Result<ZoneId> {
    let existing: Option<String> = tx
        .query_row("SELECT id FROM zones WHERE town_id = ?1 AND name = ?2", params![town.to_string(), name], |row| {
            row.get(0)
        })
        .optional()?;
    if let Some(id) = existing {
        return parse_id(&id, "zone id");
    }
    let id = ZoneId::new();
    tx.execute(
        "INSERT INTO zones (id, town_id, name) VALUES (?1, ?2, ?3)",
        params![id.to_string(), town.to_string(), name],
    )?;
    Ok(id)
}

/// Stores a town under its id (reference data from the office).
pub fn save_town(tx: &Transaction<'_>, town: &Town) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO towns (id, name, code) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET name = ?2, code = ?3",
        params![town.id.to_string(), town.name, town.code],
    )?;
    Ok(())
}

/// Stores a zone under its id (reference data from the office).
pub fn save_zone(tx: &Transaction<'_>, zone: &Zone) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO zones (id, town_id, name) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET town_id = ?2, name = ?3",
        params![zone.id.to_string(), zone.town_id.to_string(), zone.name],
    )?;
    Ok(())
}

/// Every town and zone.
pub fn towns_and_zones(conn: &Connection) -> rusqlite::Result<(Vec<Town>, Vec<Zone>)> {
    let towns = conn
        .prepare_cached("SELECT id, name, code FROM towns ORDER BY id")?
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?)))?
        .map(|row| row.and_then(|(id, name, code)| Ok(Town { id: parse_id(&id, "town id")?, name, code })))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let zones = conn
        .prepare_cached("SELECT id, town_id, name FROM zones ORDER BY id")?
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get(2)?)))?
        .map(|row| {
            row.and_then(|(id, town, name)| {
                Ok(Zone { id: parse_id(&id, "zone id")?, town_id: parse_id(&town, "town id")?, name })
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((towns, zones))
}

/// Stores a village and its code history, replacing what was stored under its id.
pub fn save_village(tx: &Transaction<'_>, village: &Village) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO villages (id, name, town_id, zone_id, weak_base) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = ?2, town_id = ?3, zone_id = ?4, weak_base = ?5",
        params![
            village.id.to_string(),
            village.name,
            village.town_id.map(|id| id.to_string()),
            village.zone_id.map(|id| id.to_string()),
            village.weak_base
        ],
    )?;
    tx.execute("DELETE FROM village_codes WHERE village_id = ?1", [village.id.to_string()])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO village_codes (code, village_id, source, position) VALUES (?1, ?2, ?3, ?4)")?;
    for (position, code) in village.codes.iter().enumerate() {
        insert.execute(params![code.code, village.id.to_string(), code.source, position as i64])?;
    }
    Ok(())
}

fn village_from_row(
    conn: &Connection,
    row: (String, String, Option<String>, Option<String>, bool),
) -> rusqlite::Result<Village> {
    let (id, name, town_id, zone_id, weak_base) = row;
    let mut codes =
        conn.prepare_cached("SELECT code, source FROM village_codes WHERE village_id = ?1 ORDER BY position")?;
    let codes = codes
        .query_map([&id], |row| Ok(VillageCode { code: row.get(0)?, source: row.get(1)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Village {
        id: parse_id(&id, "village id")?,
        name,
        town_id: town_id.map(|id| parse_id(&id, "town id")).transpose()?,
        zone_id: zone_id.map(|id| parse_id(&id, "zone id")).transpose()?,
        weak_base,
        codes,
    })
}

const VILLAGE_COLUMNS: &str = "v.id, v.name, v.town_id, v.zone_id, v.weak_base";

fn village_where(conn: &Connection, clause: &str, param: &str) -> rusqlite::Result<Option<Village>> {
    let sql = format!("SELECT {VILLAGE_COLUMNS} FROM villages v {clause}");
    let row = conn
        .prepare_cached(&sql)?
        .query_row([param], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
        .optional()?;
    row.map(|row| village_from_row(conn, row)).transpose()
}

/// The village that has, or once had, this code.
pub fn village_by_code(conn: &Connection, code: &str) -> rusqlite::Result<Option<Village>> {
    village_where(conn, "JOIN village_codes c ON c.village_id = v.id WHERE c.code = ?1", code)
}

pub fn village(conn: &Connection, id: VillageId) -> rusqlite::Result<Option<Village>> {
    village_where(conn, "WHERE v.id = ?1", &id.to_string())
}

/// Every village, by current code.
pub fn villages(conn: &Connection) -> rusqlite::Result<Vec<Village>> {
    let sql = format!("SELECT {VILLAGE_COLUMNS} FROM villages v");
    let rows = conn
        .prepare_cached(&sql)?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut villages = rows.into_iter().map(|row| village_from_row(conn, row)).collect::<rusqlite::Result<Vec<_>>>()?;
    villages.sort_by(|a, b| a.code().cmp(b.code()));
    Ok(villages)
}

pub fn town(conn: &Connection, id: TownId) -> rusqlite::Result<Option<Town>> {
    conn.prepare_cached("SELECT name, code FROM towns WHERE id = ?1")?
        .query_row([id.to_string()], |row| Ok(Town { id, name: row.get(0)?, code: row.get(1)? }))
        .optional()
}

pub fn zone(conn: &Connection, id: ZoneId) -> rusqlite::Result<Option<Zone>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT town_id, name FROM zones WHERE id = ?1")?
        .query_row([id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(town_id, name)| Ok(Zone { id, town_id: parse_id(&town_id, "town id")?, name })).transpose()
}

/// The names of a village's town and zone, when it has them.
pub fn town_and_zone_names(conn: &Connection, village: &Village) -> rusqlite::Result<(Option<String>, Option<String>)> {
    let town = village.town_id.map(|id| town(conn, id)).transpose()?.flatten().map(|town| town.name);
    let zone = village.zone_id.map(|id| zone(conn, id)).transpose()?.flatten().map(|zone| zone.name);
    Ok((town, zone))
}

/// Zones whose name matches, across towns.
pub fn zones_named(conn: &Connection, name: &str) -> rusqlite::Result<Vec<Zone>> {
    conn.prepare_cached("SELECT id, town_id, name FROM zones WHERE name = ?1 ORDER BY id")?
        .query_map([name], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))?
        .map(|row| {
            let (id, town_id, name) = row?;
            Ok(Zone { id: parse_id(&id, "zone id")?, town_id: parse_id(&town_id, "town id")?, name })
        })
        .collect()
}

/// A village name without its committee suffix (村民委员会, 村委会, 社区居民委员会, ...): lists of different
/// years write the same village's committee differently.
pub fn name_stem(name: &str) -> &str {
    const SUFFIXES: [&str; 7] =
        ["社区居民委员会", "社区居委会", "村民委员会", "居民委员会", "村委会", "居委会", "委员会"];
    let name = name.trim();
    SUFFIXES.iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(name)
}

/// A village as renumbering matches it: id, name, its town's name, its codes.
pub type CodedVillage = (VillageId, String, Option<String>, Vec<String>);

/// Every village with its name, its town's name and its codes: what renumbering is matched against.
pub fn villages_with_codes(conn: &Connection) -> rusqlite::Result<Vec<CodedVillage>> {
    let mut statement = conn.prepare(
        "SELECT v.id, v.name, t.name, group_concat(c.code) FROM villages v LEFT JOIN towns t ON t.id = v.town_id
         JOIN village_codes c ON c.village_id = v.id GROUP BY v.id",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (id, name, town, codes) = row?;
        found.push((parse_id(&id, "village id")?, name, town, codes.split(',').map(str::to_string).collect()));
    }
    Ok(found)
}

/// A cheap summary that changes whenever a boundary is imported or a village is added, renamed or recoded,
/// in this process or another: boundaries' count and latest import, towns', zones', villages' and codes'
/// counts (and highest rowids), and the total length of the names. A rename to a name of the same length
/// goes unseen. Caches of places compare against it.
pub fn fingerprint(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT (SELECT count(*) || '/' || coalesce(max(imported_at), '') FROM village_boundaries) || '|' ||
                (SELECT count(*) || '/' || coalesce(sum(length(name)), 0) FROM towns) || '|' ||
                (SELECT count(*) || '/' || coalesce(sum(length(name)), 0) FROM zones) || '|' ||
                (SELECT count(*) || '/' || coalesce(max(rowid), 0) || '/' || coalesce(sum(length(name)), 0) FROM villages) || '|' ||
                (SELECT count(*) || '/' || coalesce(max(rowid), 0) FROM village_codes)",
        [],
        |row| row.get(0),
    )
}
