//! Villages on the map, as the ledger offers them: boundary import, point to village, and the open
//! issues near a spot (so a second inspector adds to the first report instead of filing another).

use std::path::Path;
use std::sync::Arc;

use geo::GeodesicArea;
use serde::Serialize;

use super::Ledger;
use crate::domain::issue::Status;
use crate::domain::place::{Village, VillageCode};
use crate::domain::validate::{self, MAX_NAME_CHARS};
use crate::geo::geojson::{self, ReadOptions};
use crate::geo::{Boundary, BoundaryIndex};
use crate::ids::VillageId;
use crate::store::issues::{self, IssueFilter, IssueSummary};
use crate::store::{boundaries, places};
use crate::{RectifyError, Result};

/// Largest boundary file accepted.
pub const MAX_BOUNDARY_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// How to read a boundary file.
#[derive(Debug, Clone)]
pub struct BoundaryImport {
    /// The feature property holding the 12-digit village code.
    pub code_property: String,
    /// The feature property holding the village's name (used for villages the device does not know yet).
    pub name_property: Option<String>,
    /// Accept rings against the right-hand rule (and turn them).
    pub any_winding: bool,
    /// Where the boundaries come from, recorded with them.
    pub source: String,
}

impl Default for BoundaryImport {
    fn default() -> Self {
        Self {
            code_property: "code".into(),
            name_property: Some("name".into()),
            any_winding: false,
            source: "import".into(),
        }
    }
}

/// What a boundary import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundaryImportReport {
    pub features: usize,
    pub boundaries: usize,
    pub villages_created: usize,
}

/// Where a point is, in village terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocatedVillage {
    pub village_id: VillageId,
    pub code: String,
    pub name: String,
    /// Whether the point is inside the village's boundary (otherwise it is the nearest village).
    pub inside: bool,
    /// Metres to the boundary; 0 inside.
    pub distance_m: f64,
}

/// An open issue near a spot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyIssue {
    #[serde(flatten)]
    pub issue: IssueSummary,
    pub distance_m: f64,
}

/// A boundary ready to store: code, name, shape, area in m², and where it was in the file.
type PreparedBoundary = (String, Option<String>, geo::MultiPolygon<f64>, f64, String);

/// The boundary index with the village each boundary belongs to.
#[derive(Debug)]
pub(crate) struct VillageMap {
    index: BoundaryIndex,
    villages: Vec<VillageId>,
    /// What the places tables looked like when the index was built (see [`places::fingerprint`]).
    fingerprint: String,
}

impl VillageMap {
    pub(crate) fn index(&self) -> &BoundaryIndex {
        &self.index
    }
}

impl Ledger {
    /// The boundary index, built from `conn` on first use and after each import. Takes the connection
    /// rather than opening a read, so it can run inside a transaction.
    pub(crate) fn village_map(&self, conn: &rusqlite::Connection) -> Result<Arc<VillageMap>> {
        let fingerprint = places::fingerprint(conn)?;
        let mut cached = self.village_map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(map) = cached.as_ref().filter(|map| map.fingerprint == fingerprint) {
            return Ok(map.clone());
        }
        let stored = boundaries::all(conn)?;
        let villages = stored.iter().map(|boundary| boundary.village_id).collect();
        let index = BoundaryIndex::new(
            stored.into_iter().map(|b| Boundary { code: b.code, name: b.name, shape: b.shape }).collect(),
        );
        let map = Arc::new(VillageMap { index, villages, fingerprint });
        *cached = Some(map.clone());
        Ok(map)
    }

    /// Imports village boundaries from a GeoJSON file, all or nothing. Villages the device does not
    /// know are created from the name property; known ones keep their name.
    pub fn import_boundaries(&self, path: &Path, options: &BoundaryImport) -> Result<BoundaryImportReport> {
        let text = super::read_text(path, MAX_BOUNDARY_FILE_BYTES)?;
        let text = text.trim_start_matches('\u{feff}');
        let source = validate::text("source", &options.source, MAX_NAME_CHARS)?;
        let features = geojson::read_polygons(text, &ReadOptions { any_winding: options.any_winding })
            .map_err(|err| RectifyError::invalid(format!("{}: {err}", path.display())))?;
        if features.is_empty() {
            return Err(RectifyError::invalid(format!("{} holds no Polygon or MultiPolygon", path.display())));
        }
        // (code, name, shape, area in m², where in the file)
        let mut prepared: Vec<PreparedBoundary> = Vec::with_capacity(features.len());
        for feature in &features {
            let at = format!("{}: feature {}", path.display(), feature.number);
            if let Some(point) = geojson::first_off_earth(&feature.geometry) {
                return Err(RectifyError::invalid(format!(
                    "{at}: [{}, {}] is not a longitude/latitude position; boundaries must be WGS-84 (is the file projected?)",
                    point.x, point.y
                )));
            }
            let code =
                feature.properties.get(&options.code_property).and_then(geojson::Json::as_text).ok_or_else(|| {
                    RectifyError::invalid(format!(
                        "{at} has no \"{}\" property with the village code (name the property with --code-prop)",
                        options.code_property
                    ))
                })?;
            let code = validate::village_code(&code).map_err(|err| RectifyError::invalid(format!("{at}: {err}")))?;
            let name = options
                .name_property
                .as_ref()
                .and_then(|property| feature.properties.get(property))
                .and_then(geojson::Json::as_text);
            // Features sharing a code are one village's parts (an exclave): one MultiPolygon.
            match prepared.iter_mut().find(|(known, ..)| *known == code) {
                Some((_, known_name, shape, _, _)) => {
                    shape.0.extend(feature.geometry.0.iter().cloned());
                    if known_name.is_none() {
                        *known_name = name;
                    }
                }
                None => prepared.push((code, name, feature.geometry.clone(), 0.0, at)),
            }
        }
        for (_, _, shape, area_m2, _) in &mut prepared {
            *area_m2 = shape.geodesic_area_unsigned();
        }
        let now = self.now().to_rfc3339();
        let report = self.store.write(|tx| {
            let mut created = 0;
            for (code, name, shape, area_m2, at) in &prepared {
                let village = match places::village_by_code(tx, code)? {
                    Some(village) => village,
                    None => {
                        let name = name.clone().ok_or_else(|| {
                            RectifyError::invalid(format!(
                                "{at}: village {code} is new to this device and the feature has no name property \
                                 (name it with --name-prop)"
                            ))
                        })?;
                        let name = validate::text("village name", &name, MAX_NAME_CHARS)
                            .map_err(|err| RectifyError::invalid(format!("{at}: {err}")))?;
                        let village = Village {
                            id: VillageId::new(),
                            name,
                            town_id: None,
                            zone_id: None,
                            weak_base: false,
                            codes: vec![VillageCode { code: code.clone(), source: source.clone() }],
                        };
                        places::save_village(tx, &village)?;
                        created += 1;
                        village
                    }
                };
                boundaries::save(tx, village.id, shape, *area_m2, &source, &now)?;
            }
            Ok::<_, RectifyError>(BoundaryImportReport {
                features: features.len(),
                boundaries: prepared.len(),
                villages_created: created,
            })
        })?;
        Ok(report)
    }

    /// The village whose boundary contains the point, or else the nearest one; `None` when the device
    /// has no boundaries.
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Option<LocatedVillage>> {
        self.store.read(|conn| self.locate_in(conn, lat, lon))
    }

    /// [`Ledger::locate`] on a connection the caller already holds.
    pub(crate) fn locate_in(&self, conn: &rusqlite::Connection, lat: f64, lon: f64) -> Result<Option<LocatedVillage>> {
        validate::Location::new(lat, lon, None)?;
        let map = self.village_map(conn)?;
        Ok(map.index.locate(lat, lon).map(|found| LocatedVillage {
            village_id: map.villages[found.index],
            code: found.code,
            name: found.name,
            inside: found.inside,
            distance_m: found.distance_m,
        }))
    }

    /// Open issues of `category` within `radius_m` of the spot, nearest first.
    pub fn nearby_open_issues(&self, category: &str, lat: f64, lon: f64, radius_m: f64) -> Result<Vec<NearbyIssue>> {
        validate::Location::new(lat, lon, None)?;
        if !(radius_m.is_finite() && radius_m > 0.0 && radius_m <= 10_000.0) {
            return Err(RectifyError::invalid(format!("radius {radius_m} m is not between 0 and 10000 m")));
        }
        let (_, problem) = self.catalogue.problem_type(category)?;
        // A box a little larger than the circle; the distance decides.
        let dlat = radius_m / crate::geo::METRES_PER_DEGREE * 1.01;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        let filter = IssueFilter {
            statuses: Status::ALL.into_iter().filter(|status| status.on_negative_list()).collect(),
            category: Some(problem.code.clone()),
            within: Some((lat - dlat, lon - dlon, lat + dlat, lon + dlon)),
            ..IssueFilter::default()
        };
        let now = self.now();
        let found = self.store.read(|conn| Ok::<_, RectifyError>(issues::list(conn, &filter, now)?))?;
        let mut nearby: Vec<NearbyIssue> = found
            .into_iter()
            .map(|issue| {
                let distance_m = crate::domain::evidence::distance_m(lat, lon, issue.lat, issue.lon);
                NearbyIssue { issue, distance_m }
            })
            .filter(|nearby| nearby.distance_m <= radius_m)
            .collect();
        nearby.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        Ok(nearby)
    }
}
