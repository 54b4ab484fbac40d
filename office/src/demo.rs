//! `rectify-office demo`: an office full of realistic data. Tongji New Area's villages (from the national
//! division list when `../shared/data` holds it, otherwise invented ones, labelled synthetic) on generated
//! boundaries; then inspection rounds from the first of the month before last to yesterday, in which
//! inspectors, secretaries and an acceptor act as separate phones, each with its own ledger file, and sync
//! with the running office over real HTTP. Photos are generated JPEGs that carry GPS and shutter time. Some
//! strike-offs are accepted, some rejected, some still wait, and some issues run past their deadline.
//!
//! The simulation is driven by a seeded generator and a scripted clock per phone: the same seed gives the
//! same villages, issues and decisions (dates follow today's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rectify_core::clock::ManualClock;
use rectify_core::domain::issue::Status;
use rectify_core::domain::role::Role;
use rectify_core::geo::synthetic::Grid;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{BoundaryImport, Command, Ledger, ListFilter, NewReport, NewVillage};
use rectify_core::photo::exif::{Capture, Gps, TakenAt};
use rectify_core::photo::synthetic;
use rectify_core::store::OpenMode;
use rectify_core::sync::client::{self, Quiet, SyncOptions};
use rectify_core::sync::transport::HttpTransport;
use serde::{Deserialize, Serialize};

use crate::web::auth::generate_password;
use crate::{Office, OfficeError};

/// Tongji New Area (通济新经济区) in the 2023 national division list.
pub const TONGJI_TOWN: &str = "370215400";
const TONGJI_NAME: &str = "通济新经济区";
const DIVISION_CSV: &str = "china-division-npm/v2.7.0-stats2023/villages.370215.csv";

/// Invented villages for a machine without the shared data: (code, name).
const FALLBACK_VILLAGES: [(&str, &str); 12] = [
    ("990001001001", "东岭村 (synthetic)"),
    ("990001001002", "西河村 (synthetic)"),
    ("990001001003", "南坡村 (synthetic)"),
    ("990001001004", "柳庄村 (synthetic)"),
    ("990001001005", "北泉村 (synthetic)"),
    ("990001001006", "杏花村 (synthetic)"),
    ("990001001007", "石桥村 (synthetic)"),
    ("990001001008", "枣林村 (synthetic)"),
    ("990001001009", "前洼村 (synthetic)"),
    ("990001001010", "后营村 (synthetic)"),
    ("990001001011", "槐树村 (synthetic)"),
    ("990001001012", "河口村 (synthetic)"),
];

/// Where the synthetic village cells start (near Tongji New Area), and their size.
const GRID_SOUTH: f64 = 36.405;
const GRID_WEST: f64 = 120.455;
const CELL_M: f64 = 900.0;

/// What the inspectors find, with a note each: (category, note).
const PROBLEMS: [(&str, &str); 12] = [
    ("waste.bin_overflowing", "垃圾桶满溢 Bins overflowing"),
    ("waste.bin_damaged", "垃圾桶破损无盖 Bin broken, no lid"),
    ("village.three_piles", "柴草乱堆 Firewood piled on the lane"),
    ("village.illegal_shed", "违建棚屋 Tin shed built onto the lane"),
    ("sewage.flowing", "污水横流 Grey water across the lane"),
    ("surroundings.floating_rubbish", "坑塘漂浮物 Rubbish floating in the pond"),
    ("toilets.public_dirty", "公厕保洁不到位 Public toilet not cleaned"),
    ("courtyard.outside_clutter", "房前屋后杂物 Clutter outside the house"),
    ("waste.bin_overflowing", "垃圾点清运不及时 Collection point not cleared"),
    ("village.three_piles", "粪堆未清理 Manure heap by the road"),
    ("surroundings.floating_rubbish", "沟渠垃圾 Rubbish in the ditch"),
    ("courtyard.outside_clutter", "建筑垃圾乱堆 Building rubble left out"),
];

const REJECT_REASONS: [&str; 4] = [
    "整改后照片未显示问题点位 The after-photo does not show the spot",
    "仍有垃圾残留 Rubbish is still there",
    "棚屋只拆除一半 The shed is only half removed",
    "照片拍摄位置距问题点过远 Photo taken too far from the issue",
];

/// The login the demo prints, and where the others are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoLogin {
    pub user: String,
    pub password: String,
    pub role: String,
}

/// What the seeding did, for the closing summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSummary {
    pub villages: usize,
    pub synthetic_village_names: bool,
    pub phones: usize,
    pub syncs: usize,
    pub reported: usize,
    pub strike_offs: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub awaiting_acceptance: usize,
    pub photos: usize,
    pub logins: Vec<DemoLogin>,
}

/// The file in the data folder that marks a seeded demo and keeps its logins (readable by its owner only).
pub const LOGINS_FILE: &str = "demo-logins.json";

/// A small, fast, seeded generator (SplitMix64): the demo needs repeatable choices, not cryptography.
#[derive(Debug, Clone)]
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One simulated phone: its ledger file, its clock and who it acts for.
struct Phone {
    name: String,
    ledger: Ledger,
    clock: Arc<ManualClock>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Progress lines for a person: what stage the seeding is at, and whether to stop.
pub trait DemoProgress {
    fn say(&self, line: &str);

    /// True once the person asked to stop (Ctrl-C): the seeding ends at its next step.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Where the national division list is, if this machine has the shared data.
pub fn division_csv() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RECTIFY_DIVISION_CSV") {
        return Some(PathBuf::from(path)).filter(|path| path.exists());
    }
    let mut roots: Vec<PathBuf> = vec![PathBuf::from("../shared/data")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/rectify-office → the workspace's ../shared/data.
        roots.extend(exe.ancestors().skip(3).take(2).map(|dir| dir.join("shared/data")));
    }
    roots.into_iter().map(|root| root.join(DIVISION_CSV)).find(|path| path.exists())
}

struct Seeder<'a> {
    office: &'a Office,
    url: String,
    dir: PathBuf,
    dice: Dice,
    offset: FixedOffset,
    grid: Grid,
    villages: Vec<(String, String)>,
    progress: &'a dyn DemoProgress,
    summary: DemoSummary,
    photo_seed: u32,
}

/// Seeds `office` (served at `url`) with the demo's villages, people and two to three months of work. Phone files
/// and photos go under `dir`. Fails, saying why, if anything does; what was synced stays.
pub fn seed(
    office: &Office,
    url: &str,
    dir: &Path,
    seed: u64,
    progress: &dyn DemoProgress,
) -> Result<DemoSummary, OfficeError> {
    let offset = super::web::pages::district_offset();
    let (villages, synthetic_names) = match division_csv() {
        Some(csv) => {
            progress.say(&format!("villages: Tongji New Area ({TONGJI_TOWN}) from {}", csv.display()));
            (rectify_core::ledger::town_villages(&csv, TONGJI_TOWN)?, false)
        }
        None => {
            progress
                .say("villages: ../shared/data is absent, so the demo uses 12 invented villages (labelled synthetic)");
            (FALLBACK_VILLAGES.iter().map(|(code, name)| (code.to_string(), name.to_string())).collect(), true)
        }
    };
    let (grid, boundaries) = rectify_core::geo::synthetic::for_villages(&villages, GRID_SOUTH, GRID_WEST, CELL_M, seed);
    let mut seeder = Seeder {
        office,
        url: url.to_string(),
        dir: dir.to_path_buf(),
        dice: Dice(seed),
        offset,
        grid,
        villages,
        progress,
        summary: DemoSummary { synthetic_village_names: synthetic_names, ..DemoSummary::default() },
        photo_seed: (seed as u32).wrapping_mul(7919),
    };
    seeder.import(&boundaries)?;
    seeder.run()?;
    Ok(seeder.summary)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OfficeError + '_ {
    move |err| OfficeError::Internal(format!("{}: {err}", path.display()))
}

impl Seeder<'_> {
    fn import(&mut self, boundaries: &[rectify_core::geo::index::Boundary]) -> Result<(), OfficeError> {
        let ledger = self.office.ledger();
        let half = self.villages.len().div_ceil(2);
        for (index, (code, name)) in self.villages.iter().enumerate() {
            ledger.upsert_village(&NewVillage {
                code: code.clone(),
                name: name.clone(),
                town: Some(if self.summary.synthetic_village_names {
                    "示范新区 (synthetic)".into()
                } else {
                    TONGJI_NAME.into()
                }),
                zone: Some(if index < half {
                    "北管区 North zone (synthetic)".into()
                } else {
                    "南管区 South zone (synthetic)".into()
                }),
                weak_base: false,
                source: if self.summary.synthetic_village_names { "synthetic-demo".into() } else { "nbs-2023".into() },
            })?;
        }
        let file = self.dir.join("demo-boundaries-synthetic.geojson");
        std::fs::write(&file, rectify_core::geo::synthetic::labelled_feature_collection(boundaries).to_string())
            .map_err(io(&file))?;
        ledger.import_boundaries(
            &file,
            &BoundaryImport { source: "synthetic-demo".into(), ..BoundaryImport::default() },
        )?;
        self.summary.villages = self.villages.len();
        self.progress.say(&format!(
            "  {} villages with generated boundaries (SYNTHETIC, not the real extents)",
            self.villages.len()
        ));
        Ok(())
    }

    /// A phone enrolled with the office over HTTP, its clock at `at`.
    fn phone(
        &mut self,
        name: &str,
        role: Role,
        villages: &[String],
        at: DateTime<FixedOffset>,
    ) -> Result<Phone, OfficeError> {
        let dir = self.dir.join("phones");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let file = dir.join(format!("phone-{:02}-{}.db", self.summary.phones + 1, role.as_str()));
        let clock = Arc::new(ManualClock::new(at));
        let ledger = Ledger::open(&file, OpenMode::CreateIfMissing, clock.clone())?;
        let code = self.office.issue_enrollment(name, role, villages)?;
        client::enroll(&ledger, &HttpTransport::new(&self.url), &self.url, &code)?;
        self.summary.phones += 1;
        let phone = Phone { name: name.to_string(), ledger, clock };
        // The first sync brings the villages and their boundaries, so reports are placed by GPS.
        self.sync(&phone)?;
        Ok(phone)
    }

    fn sync(&mut self, phone: &Phone) -> Result<(), OfficeError> {
        if self.progress.cancelled() {
            return Err(OfficeError::Internal("stopped by request".into()));
        }
        client::run(&phone.ledger, &HttpTransport::new(&self.url), SyncOptions::default(), &Quiet)
            .map_err(|err| OfficeError::Internal(format!("{} could not sync: {err}", phone.name)))?;
        self.summary.syncs += 1;
        Ok(())
    }

    /// A generated phone photo of the scene, with its GPS fix and shutter time.
    fn photo(&mut self, lat: f64, lon: f64, at: DateTime<FixedOffset>) -> Result<PathBuf, OfficeError> {
        self.photo_seed = self.photo_seed.wrapping_add(1);
        let capture = Capture {
            orientation: 1,
            gps: Some(Gps { lat, lon, alt: Some(24.0), error_m: Some(5.0) }),
            taken_at: Some(TakenAt { local: at.naive_local(), offset: Some(*at.offset()) }),
            make: Some("Demo".into()),
            model: Some("Field phone (synthetic)".into()),
            ..Capture::default()
        };
        let dir = self.dir.join("camera");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("IMG_{:05}.jpg", self.photo_seed % 100_000));
        std::fs::write(&path, synthetic::jpeg(1280, 960, self.photo_seed, 85, Some(&capture))).map_err(io(&path))?;
        self.summary.photos += 1;
        Ok(path)
    }

    fn local(&self, day: NaiveDate, hour: u32, minute: u32) -> DateTime<FixedOffset> {
        let naive = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
        self.offset.from_local_datetime(&naive).single().unwrap_or_else(|| Utc.from_utc_datetime(&naive).fixed_offset())
    }

    fn run(&mut self) -> Result<(), OfficeError> {
        let today = Utc::now().with_timezone(&self.offset).date_naive();
        // From the first of the month before last to yesterday: last month is complete for its ranking and
        // lists, the month before it too (two black months in a row make an escalation), and this month is
        // under way.
        let first = rectify_core::score::Month::of(today).previous().previous().first_day();
        let start = self.local(first, 8, 0);
        let codes: Vec<String> = self.villages.iter().map(|(code, _)| code.clone()).collect();

        self.progress.say(&format!("phones: enrolling inspectors, secretaries and an acceptor with {}", self.url));
        let inspectors = [
            self.phone("李明 Li Ming (inspector, synthetic)", Role::Inspector, &[], start)?,
            self.phone("王芳 Wang Fang (inspector, synthetic)", Role::Inspector, &[], start)?,
        ];
        let acceptor = self.phone("zhao", Role::Acceptor, &[], start)?;
        let mut secretaries = Vec::new();
        for (code, name) in self.villages.clone() {
            let phone = self.phone(
                &format!("{name} 书记 secretary (synthetic)"),
                Role::Secretary,
                std::slice::from_ref(&code),
                start,
            )?;
            secretaries.push(phone);
        }
        // How diligent each village is: the chance a secretary fixes an open issue on a visit.
        let diligence: Vec<f64> = (0..codes.len()).map(|_| 0.15 + 0.75 * self.dice.unit()).collect();
        let messiness: Vec<f64> = (0..codes.len()).map(|_| 0.4 + 1.6 * self.dice.unit()).collect();

        let days = (today - first).num_days();
        let mut day = first;
        let mut walked = 0;
        while day < today {
            let left = (today - day).num_days();
            // Inspection rounds: the 2nd, 9th, 16th and 23rd of each month, the two inspectors sharing
            // the villages.
            if matches!(day.day(), 2 | 9 | 16 | 23) {
                walked += 1;
                let mut found = 0;
                for (index, inspector) in inspectors.iter().enumerate() {
                    let mut at = self.local(day, 8, 30);
                    for village in (0..codes.len()).filter(|village| village % inspectors.len() == index) {
                        let count = (messiness[village] * self.dice.unit() * 3.0) as usize;
                        for _ in 0..count {
                            at += Duration::minutes(6 + self.dice.below(20) as i64);
                            inspector.clock.set(at);
                            let (category, note) = PROBLEMS[self.dice.below(PROBLEMS.len())];
                            let (fx, fy) = (0.2 + 0.6 * self.dice.unit(), 0.2 + 0.6 * self.dice.unit());
                            let (lat, lon) = self.grid.point_in_cell(
                                village % self.grid.columns,
                                village / self.grid.columns,
                                fx,
                                fy,
                            );
                            let before = self.photo(lat, lon, at)?;
                            inspector.ledger.report(&NewReport {
                                category: category.into(),
                                village_code: None,
                                lat,
                                lon,
                                accuracy_m: Some(5.0),
                                note: Some(note.into()),
                                photos: vec![before],
                                village_reason: None,
                            })?;
                            found += 1;
                        }
                    }
                    self.sync(inspector)?;
                }
                self.summary.reported += found;
                // The office hands the new issues to the villages that afternoon.
                acceptor.clock.set(self.local(day, 15, 0));
                self.sync(&acceptor)?;
                let fresh =
                    acceptor.ledger.list(&ListFilter { status: Some(Status::Reported), ..ListFilter::default() })?;
                acceptor.ledger.batch(|batch| {
                    for issue in &fresh {
                        batch.act(issue.id, &Command::Assign { deadline: None })?;
                    }
                    Ok(())
                })?;
                self.sync(&acceptor)?;
                self.progress.say(&format!(
                    "round {walked} on {day}: {found} issues found and assigned ({} days to go)",
                    left.max(0)
                ));
            }
            // Secretaries look at their lists every other day and fix what they get round to.
            if (day - first).num_days() % 2 == 1 {
                for (village, secretary) in secretaries.iter().enumerate() {
                    secretary.clock.set(self.local(day, 9, 0));
                    self.sync(secretary)?;
                    let open: Vec<IssueId> = secretary
                        .ledger
                        .list(&ListFilter::default())?
                        .into_iter()
                        .filter(|issue| matches!(issue.status, Status::Assigned | Status::Rejected))
                        .map(|issue| issue.id)
                        .collect();
                    let mut fixed = 0;
                    for (n, issue) in open.iter().enumerate() {
                        if !self.dice.chance(diligence[village]) {
                            continue;
                        }
                        let at = self.local(day, 10, 0) + Duration::minutes(25 * n as i64);
                        secretary.clock.set(at);
                        let state = secretary.ledger.issue(*issue)?.state;
                        // Now and then the after-photo is taken somewhere else: its evidence check flags it.
                        let drift = if self.dice.chance(0.08) { 0.0025 } else { 0.00002 };
                        let after = self.photo(state.location.lat + drift, state.location.lon, at)?;
                        secretary.ledger.act(
                            *issue,
                            &Command::StrikeOff {
                                photos: vec![after],
                                note: Some("已整改 Fixed, see the after-photo".into()),
                            },
                        )?;
                        fixed += 1;
                    }
                    if fixed > 0 {
                        self.summary.strike_offs += fixed;
                        self.sync(secretary)?;
                    }
                }
            }
            // The acceptor checks strike-offs every third day, but not in the last four: those wait in
            // the queue for someone to open the dashboard.
            if (day - first).num_days() % 3 == 2 && left > 4 {
                acceptor.clock.set(self.local(day, 16, 0));
                self.sync(&acceptor)?;
                let waiting = acceptor
                    .ledger
                    .list(&ListFilter { status: Some(Status::StrikeOffRequested), ..ListFilter::default() })?;
                for issue in waiting {
                    if self.dice.chance(0.78) {
                        acceptor.ledger.act(issue.id, &Command::Accept { note: None })?;
                        self.summary.accepted += 1;
                    } else {
                        let reason = REJECT_REASONS[self.dice.below(REJECT_REASONS.len())];
                        acceptor.ledger.act(issue.id, &Command::Reject { reason: reason.into() })?;
                        self.summary.rejected += 1;
                    }
                }
                self.sync(&acceptor)?;
            }
            day += Duration::days(1);
        }
        // Everyone syncs once more, so each phone holds what the office holds.
        for phone in inspectors.iter().chain(std::iter::once(&acceptor)).chain(&secretaries) {
            phone.clock.set(self.local(today, 7, 30).min(Utc::now().fixed_offset()));
            self.sync(phone)?;
        }
        self.summary.awaiting_acceptance = self
            .office
            .ledger()
            .list(&ListFilter { status: Some(Status::StrikeOffRequested), ..ListFilter::default() })?
            .len();
        self.progress.say(&format!(
            "simulated {days} days: {} issues, {} strike-offs ({} accepted, {} rejected, {} waiting), {} syncs",
            self.summary.reported,
            self.summary.strike_offs,
            self.summary.accepted,
            self.summary.rejected,
            self.summary.awaiting_acceptance,
            self.summary.syncs
        ));
        self.logins(&codes)
    }

    /// Office users for the browser: the acceptor (the printed login), an admin, an inspector and one
    /// village's secretary, each with a fresh random password.
    fn logins(&mut self, codes: &[String]) -> Result<(), OfficeError> {
        let first_village = codes.first().cloned().into_iter().collect::<Vec<_>>();
        let people: [(&str, Role, Vec<String>); 4] = [
            ("zhao", Role::Acceptor, Vec::new()),
            ("admin", Role::Admin, Vec::new()),
            ("li", Role::Inspector, Vec::new()),
            ("secretary", Role::Secretary, first_village),
        ];
        for (name, role, villages) in people {
            let password = generate_password()?;
            self.office.set_web_user(name, role, &villages, &password)?;
            self.summary.logins.push(DemoLogin { user: name.to_string(), password, role: role.as_str().to_string() });
        }
        let file = self.dir.join(LOGINS_FILE);
        write_private(&file, &serde_json::to_vec_pretty(&self.summary).unwrap_or_default())?;
        Ok(())
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), OfficeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(path))
}

/// The summary of a demo seeded earlier in `dir`, if there is one.
pub fn seeded(dir: &Path) -> Result<Option<DemoSummary>, OfficeError> {
    let file = dir.join(LOGINS_FILE);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
            OfficeError::invalid(format!("{} is damaged ({err}); start the demo in an empty folder", file.display()))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io(&file)(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dice_repeat_for_a_seed_and_stay_in_range() {
        let (mut a, mut b) = (Dice(7), Dice(7));
        let first: Vec<u64> = (0..5).map(|_| a.next()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(first, second);
        let mut dice = Dice(1);
        for _ in 0..1000 {
            let unit = dice.unit();
            assert!((0.0..1.0).contains(&unit));
            assert!(dice.below(3) < 3);
        }
    }
}
