//! The map page: village boundaries and issues drawn as SVG from the geometry the office stores. No tile
//! server and no script: it works offline, prints, and reads the same in any browser. Coordinates are
//! WGS-84 projected equirectangularly around the district's middle latitude, which over a district's few
//! tens of kilometres distorts less than a pixel at this size.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use rectify_core::domain::issue::Status;
use rectify_core::store::boundaries::{self, StoredBoundary};

use super::i18n::Tr;
use super::pages::{Chrome, office_issues, with_scorer};
use super::{Need, PageError, Shared, blocking, here, lang_of, render, require};
use crate::{Office, OfficeError};

/// The drawing's width in SVG units; the height follows the district's shape.
const WIDTH: f64 = 1000.0;
const MARGIN: f64 = 20.0;

#[derive(Debug, Clone)]
pub(crate) struct Outline {
    pub code: String,
    pub name: String,
    pub path: String,
    pub label_x: f64,
    pub label_y: f64,
    pub synthetic: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Dot {
    pub id: String,
    pub x: f64,
    pub y: f64,
    /// `open`, `overdue`, `awaiting` or `accepted`: the dot's colour.
    pub class: &'static str,
    pub title: String,
}

#[derive(Debug, Clone)]
pub(crate) struct MapView {
    pub width: f64,
    pub height: f64,
    pub outlines: Vec<Outline>,
    pub dots: Vec<Dot>,
    pub open: usize,
    pub overdue: usize,
    pub awaiting: usize,
    pub accepted: usize,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    chrome: Chrome,
    tr: Tr,
    view: MapView,
}

/// Lon/lat to drawing units.
#[derive(Debug, Clone, Copy)]
struct Projection {
    west: f64,
    north: f64,
    scale: f64,
    squash: f64,
}

impl Projection {
    fn fit(points: impl Iterator<Item = (f64, f64)>) -> Option<(Self, f64)> {
        let (mut west, mut east, mut south, mut north) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (lon, lat) in points {
            west = west.min(lon);
            east = east.max(lon);
            south = south.min(lat);
            north = north.max(lat);
        }
        if west > east {
            return None;
        }
        let squash = ((south + north) / 2.0).to_radians().cos().max(0.1);
        let span_x = ((east - west) * squash).max(1e-6);
        let span_y = (north - south).max(1e-6);
        let scale = (WIDTH - 2.0 * MARGIN) / span_x;
        let height = (span_y * scale + 2.0 * MARGIN).clamp(200.0, 1600.0);
        let scale = scale.min((height - 2.0 * MARGIN) / span_y);
        Some((Self { west, north, scale, squash }, height))
    }

    fn at(self, lon: f64, lat: f64) -> (f64, f64) {
        (MARGIN + (lon - self.west) * self.squash * self.scale, MARGIN + (self.north - lat) * self.scale)
    }
}

fn outline(boundary: &StoredBoundary, projection: Projection, synthetic: bool) -> Outline {
    let mut path = String::new();
    let (mut sum_x, mut sum_y, mut count, mut biggest) = (0.0, 0.0, 0.0, 0usize);
    for polygon in &boundary.shape.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for (index, point) in ring.0.iter().enumerate() {
                let (x, y) = projection.at(point.x, point.y);
                path.push_str(&format!("{}{x:.1},{y:.1} ", if index == 0 { "M" } else { "L" }));
            }
            path.push_str("Z ");
        }
        // The label sits at the middle of the village's largest part.
        let exterior = &polygon.exterior().0;
        if exterior.len() > biggest {
            biggest = exterior.len();
            (sum_x, sum_y, count) = (0.0, 0.0, 0.0);
            for point in exterior.iter().skip(1) {
                let (x, y) = projection.at(point.x, point.y);
                sum_x += x;
                sum_y += y;
                count += 1.0;
            }
        }
    }
    let count = f64::max(count, 1.0);
    Outline {
        code: boundary.code.clone(),
        name: boundary.name.clone(),
        path: path.trim_end().to_string(),
        label_x: sum_x / count,
        label_y: sum_y / count,
        synthetic,
    }
}

pub(crate) fn map_view(office: &Office, tr: Tr) -> Result<MapView, OfficeError> {
    let stored: Vec<(StoredBoundary, bool)> = office.ledger().store().read(|conn| {
        let synthetic: HashSet<String> = conn
            .prepare_cached("SELECT village_id FROM village_boundaries WHERE source LIKE '%synthetic%'")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let all = boundaries::all(conn)?;
        Ok::<_, rusqlite::Error>(
            all.into_iter()
                .map(|boundary| {
                    let marked = synthetic.contains(&boundary.village_id.to_string());
                    (boundary, marked)
                })
                .collect(),
        )
    })?;
    with_scorer(office, |scorer, now| {
        let at = now.timestamp_millis();
        let mut issues = office_issues(scorer);
        issues.retain(|issue| issue.status != Status::Withdrawn);
        let points = stored
            .iter()
            .flat_map(|(boundary, _)| boundary.shape.0.iter().flat_map(|polygon| polygon.exterior().0.iter()))
            .map(|point| (point.x, point.y))
            .chain(issues.iter().map(|issue| (issue.lon, issue.lat)));
        let Some((projection, height)) = Projection::fit(points) else {
            return MapView {
                width: WIDTH,
                height: 200.0,
                outlines: Vec::new(),
                dots: Vec::new(),
                open: 0,
                overdue: 0,
                awaiting: 0,
                accepted: 0,
            };
        };
        let outlines = stored.iter().map(|(boundary, synthetic)| outline(boundary, projection, *synthetic)).collect();
        let mut dots: Vec<Dot> = issues
            .iter()
            .map(|issue| {
                let (x, y) = projection.at(issue.lon, issue.lat);
                let class = match issue.status {
                    Status::Accepted => "accepted",
                    Status::StrikeOffRequested => "awaiting",
                    _ if issue.overdue_at(at) => "overdue",
                    _ => "open",
                };
                Dot {
                    id: issue.id.to_string(),
                    x,
                    y,
                    class,
                    title: format!(
                        "{} · {} · {}",
                        tr.problem(office.ledger().catalogue(), &issue.category),
                        tr.status(&issue.status),
                        issue.note.clone().unwrap_or_default()
                    ),
                }
            })
            .collect();
        // Accepted dots underneath, overdue ones on top.
        let order = |class: &str| match class {
            "accepted" => 0,
            "awaiting" => 1,
            "open" => 2,
            _ => 3,
        };
        dots.sort_by_key(|dot| order(dot.class));
        let count = |class: &str| dots.iter().filter(|dot| dot.class == class).count();
        MapView {
            width: WIDTH,
            height,
            outlines,
            open: count("open"),
            overdue: count("overdue"),
            awaiting: count("awaiting"),
            accepted: count("accepted"),
            dots,
        }
    })
}

pub(crate) async fn page(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response, PageError> {
    let user = require(&state, &headers, &here(&uri), Need::District).await?;
    let tr = lang_of(&headers);
    let office = state.office.clone();
    let page = blocking(tr, move || {
        let key = format!("map:{}", tr.lang.code());
        let view = office.cached(&key, || map_view(&office, tr))?;
        Ok(MapPage { chrome: Chrome::new(tr, &user, "map", &uri, &office), tr, view: (*view).clone() })
    })
    .await?;
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_keeps_north_up_and_fits_the_width() {
        let (projection, height) = Projection::fit([(120.0, 36.0), (120.1, 36.1)].into_iter()).expect("points");
        let (x0, y0) = projection.at(120.0, 36.0);
        let (x1, y1) = projection.at(120.1, 36.1);
        assert!((x0 - MARGIN).abs() < 1e-9 && (x1 - (WIDTH - MARGIN)).abs() < 1e-6, "{x0} {x1}");
        assert!(y1 < y0, "north is up");
        assert!(height > 200.0 && height < 1600.0, "{height}");
        assert!(Projection::fit(std::iter::empty()).is_none());
    }
}
