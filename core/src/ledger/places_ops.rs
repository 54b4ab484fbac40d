//! Managing the device's villages: adding one, recording a code change, importing the national division
//! list (the `code,name,streetCode,...` CSV that the china-division package publishes).

use std::path::Path;

use serde::Serialize;

use super::Ledger;
use crate::domain::place::{Village, VillageCode};
use crate::domain::validate::{self, MAX_NAME_CHARS};
use crate::ids::VillageId;
use crate::store::places;
use crate::{RectifyError, Result};

/// A village as a person types it in.
#[derive(Debug, Clone, Default)]
pub struct NewVillage {
    pub code: String,
    pub name: String,
    pub town: Option<String>,
    pub zone: Option<String>,
    pub weak_base: bool,
    /// Where the code comes from, e.g. `nbs-2023` or `manual`.
    pub source: String,
}

/// A village with its town's and zone's names, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct VillageView {
    #[serde(flatten)]
    pub village: Village,
    pub code: String,
    pub town: Option<String>,
    pub zone: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub added: usize,
    pub updated: usize,
    /// Villages already known under an older code (another list's), now given this list's code too.
    pub linked: usize,
    pub towns: usize,
}

impl Ledger {
    /// Adds a village, or updates the name, town and zone of the village that already has this code.
    pub fn upsert_village(&self, new: &NewVillage) -> Result<Village> {
        let code = validate::village_code(&new.code)?;
        let name = validate::text("village name", &new.name, MAX_NAME_CHARS)?;
        let town = validate::optional_text("town name", new.town.as_deref(), MAX_NAME_CHARS)?;
        let zone = validate::optional_text("zone name", new.zone.as_deref(), MAX_NAME_CHARS)?;
        if zone.is_some() && town.is_none() {
            return Err(RectifyError::invalid("a zone belongs to a town: give --town as well as --zone"));
        }
        self.store.write(|tx| {
            let town_id = town.as_deref().map(|town| places::ensure_town(tx, town, None)).transpose()?;
            let zone_id = match (town_id, zone.as_deref()) {
                (Some(town_id), Some(zone)) => Some(places::ensure_zone(tx, town_id, zone)?),
                _ => None,
            };
            let mut village = places::village_by_code(tx, &code)?.unwrap_or_else(|| Village {
                id: VillageId::new(),
                name: name.clone(),
                town_id: None,
                zone_id: None,
                weak_base: false,
                codes: vec![VillageCode { code: code.clone(), source: source_or_manual(&new.source) }],
            });
            village.name = name;
            village.town_id = town_id.or(village.town_id);
            village.zone_id = zone_id.or(village.zone_id);
            village.weak_base = new.weak_base;
            places::save_village(tx, &village)?;
            Ok(village)
        })
    }

    /// Records that the village known as `old_code` is now `new_code`; its id, issues and history stay.
    pub fn recode_village(&self, old_code: &str, new_code: &str, source: &str) -> Result<Village> {
        let old_code = validate::village_code(old_code)?;
        let new_code = validate::village_code(new_code)?;
        self.store.write(|tx| {
            let mut village =
                places::village_by_code(tx, &old_code)?.ok_or_else(|| super::unknown_village(&old_code))?;
            if let Some(other) = places::village_by_code(tx, &new_code)? {
                return Err(RectifyError::invalid(format!(
                    "code {new_code} already belongs to {} ({})",
                    other.name,
                    other.code()
                )));
            }
            village.codes.push(VillageCode { code: new_code, source: source_or_manual(source) });
            places::save_village(tx, &village)?;
            Ok(village)
        })
    }

    /// Every village on the device, by code.
    pub fn villages(&self) -> Result<Vec<VillageView>> {
        self.store.read(|conn| {
            places::villages(conn)?
                .into_iter()
                .map(|village| {
                    let (town, zone) = places::town_and_zone_names(conn, &village)?;
                    Ok(VillageView { code: village.code().to_string(), village, town, zone })
                })
                .collect()
        })
    }

    /// Imports the division list: every row of `villages_csv` becomes (or updates) a village, placed in
    /// the town named by `streets_csv` when given. All rows or none; `progress` hears (done, total).
    pub fn import_divisions(
        &self,
        villages_csv: &Path,
        streets_csv: Option<&Path>,
        source: &str,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        self.import_division_list(villages_csv, streets_csv, source, false, progress)
    }

    /// [`Ledger::import_divisions`] for a newer list that renumbers villages the device has from an
    /// older one (Jimo's 370282… codes became 370215… when the county became a district). A new code
    /// joins the history of the one village already known from another county of the same city with the
    /// same name (committee suffix aside), preferring one in a town of the same name; its issues stay
    /// with it. Each known village takes at most one new code; unclear matches become new villages.
    pub fn import_renumbered_divisions(
        &self,
        villages_csv: &Path,
        streets_csv: Option<&Path>,
        source: &str,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        self.import_division_list(villages_csv, streets_csv, source, true, progress)
    }

    fn import_division_list(
        &self,
        villages_csv: &Path,
        streets_csv: Option<&Path>,
        source: &str,
        link_renumbered: bool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let villages = read_csv(villages_csv, &["code", "name", "streetCode"])?;
        let streets = streets_csv.map(|path| read_csv(path, &["code", "name"])).transpose()?.unwrap_or_default();
        let street_names: std::collections::HashMap<&str, &str> =
            streets.iter().map(|row| (row[0].as_str(), row[1].as_str())).collect();
        let mut parsed = Vec::with_capacity(villages.len());
        for (index, row) in villages.iter().enumerate() {
            let line = index + 2;
            let at = |err: String| RectifyError::invalid(format!("{}, line {line}: {err}", villages_csv.display()));
            let code = validate::village_code(&row[0]).map_err(|err| at(err.to_string()))?;
            let name = validate::text("village name", &row[1], MAX_NAME_CHARS).map_err(|err| at(err.to_string()))?;
            parsed.push((code, name, row[2].trim().to_string()));
        }
        let total = parsed.len();
        let source = source_or_manual(source);
        let counties: std::collections::HashSet<String> =
            parsed.iter().map(|(code, _, _)| code[..6].to_string()).collect();
        let cities: std::collections::HashSet<&str> = counties.iter().map(|county| &county[..4]).collect();
        self.store.write(|tx| {
            let mut report = ImportReport { rows: total, ..ImportReport::default() };
            // Villages known before this import, from another county of a city in the list, by name stem.
            let mut renumberable: std::collections::HashMap<String, Vec<(VillageId, Option<String>)>> =
                std::collections::HashMap::new();
            if link_renumbered {
                for (id, name, town, codes) in places::villages_with_codes(tx)? {
                    let elsewhere = codes.iter().all(|code| !counties.contains(code.get(..6).unwrap_or("")));
                    let same_city = codes.iter().any(|code| cities.contains(code.get(..4).unwrap_or("")));
                    if elsewhere && same_city {
                        renumberable.entry(places::name_stem(&name).to_string()).or_default().push((id, town));
                    }
                }
            }
            let mut towns = std::collections::HashMap::new();
            for (done, (code, name, street_code)) in parsed.into_iter().enumerate() {
                let town_id = match street_names.get(street_code.as_str()) {
                    Some(town_name) => Some(match towns.get(&street_code) {
                        Some(id) => *id,
                        None => {
                            let id = places::ensure_town(tx, town_name, Some(&street_code))?;
                            towns.insert(street_code.clone(), id);
                            id
                        }
                    }),
                    None => None,
                };
                match places::village_by_code(tx, &code)? {
                    Some(mut village) => {
                        if village.name != name || (town_id.is_some() && village.town_id != town_id) {
                            village.name = name;
                            village.town_id = town_id.or(village.town_id);
                            places::save_village(tx, &village)?;
                            report.updated += 1;
                        }
                    }
                    None => {
                        let town_name = street_names.get(street_code.as_str()).copied();
                        let known = renumberable.get_mut(places::name_stem(&name)).and_then(|candidates| {
                            let fits = |town: &Option<String>| match (town.as_deref(), town_name) {
                                (Some(theirs), Some(ours)) => theirs == ours,
                                _ => true,
                            };
                            let matching: Vec<usize> =
                                (0..candidates.len()).filter(|index| fits(&candidates[*index].1)).collect();
                            // One in a town of the same name; or, none there (towns are merged and renamed
                            // too), the only one of that name in the city. Taken out once matched: a village
                            // takes one new code per import.
                            let chosen = match (matching.as_slice(), candidates.len()) {
                                ([only], _) => Some(*only),
                                ([], 1) => Some(0),
                                _ => None,
                            };
                            chosen.map(|index| candidates.swap_remove(index).0)
                        });
                        match known.map(|id| places::village(tx, id)).transpose()?.flatten() {
                            // The same village under an older list's code: its history gains this code,
                            // and its issues stay with it.
                            Some(mut village) => {
                                village.codes.push(VillageCode { code, source: source.clone() });
                                village.town_id = town_id.or(village.town_id);
                                places::save_village(tx, &village)?;
                                report.linked += 1;
                            }
                            None => {
                                let village = Village {
                                    id: VillageId::new(),
                                    name,
                                    town_id,
                                    zone_id: None,
                                    weak_base: false,
                                    codes: vec![VillageCode { code, source: source.clone() }],
                                };
                                places::save_village(tx, &village)?;
                                report.added += 1;
                            }
                        }
                    }
                }
                if (done + 1) % 100 == 0 || done + 1 == total {
                    progress(done + 1, total);
                }
            }
            report.towns = towns.len();
            Ok(report)
        })
    }
}

fn source_or_manual(source: &str) -> String {
    let source = source.trim();
    if source.is_empty() { "manual".to_string() } else { source.to_string() }
}

/// Reads a small CSV file with a header, returning the `wanted` columns of each row in order.
/// The villages of one town (by its 9-digit street code) in a division-list CSV, as (code, name).
pub fn town_villages(villages_csv: &Path, town_code: &str) -> Result<Vec<(String, String)>> {
    let rows = read_csv(villages_csv, &["code", "name", "streetCode"])?;
    let found: Vec<(String, String)> =
        rows.into_iter().filter(|row| row[2].trim() == town_code).map(|row| (row[0].clone(), row[1].clone())).collect();
    if found.is_empty() {
        return Err(RectifyError::not_found(format!("no village of town {town_code} in {}", villages_csv.display())));
    }
    Ok(found)
}

fn read_csv(path: &Path, wanted: &[&str]) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| RectifyError::invalid(format!("cannot read {}: {err}", path.display())))?;
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header = split_csv_line(lines.next().unwrap_or("").trim_start_matches('\u{feff}'));
    let columns = wanted
        .iter()
        .map(|name| {
            header.iter().position(|column| column.trim() == *name).ok_or_else(|| {
                RectifyError::invalid(format!(
                    "{} has no `{name}` column (its header is: {})",
                    path.display(),
                    header.join(",")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    lines
        .enumerate()
        .map(|(index, line)| {
            let fields = split_csv_line(line);
            columns
                .iter()
                .map(|&column| {
                    fields.get(column).cloned().ok_or_else(|| {
                        RectifyError::invalid(format!("{}, line {}: too few columns", path.display(), index + 2))
                    })
                })
                .collect()
        })
        .collect()
}

/// Splits one CSV line, honouring double quotes and doubled quotes inside them.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(ch),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::split_csv_line;

    #[test]
    fn csv_lines_split_on_commas_outside_quotes() {
        assert_eq!(
            split_csv_line(r#"370215400201,"开元村村民委员会",370215400"#),
            vec!["370215400201", "开元村村民委员会", "370215400"]
        );
        assert_eq!(split_csv_line(r#"1,"a, ""b""",3"#), vec!["1", r#"a, "b""#, "3"]);
    }
}
