//! Resumable photo uploads over real HTTP on loopback: connections cut in the middle of a chunk's body,
//! answers lost after a chunk landed, a damaged chunk. The office ends up with the exact bytes the phone
//! captured, the upload resumes from the office's offset rather than from zero, and the phone keeps the
//! photo until the office has confirmed it.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rectify_core::domain::photo::PhotoHash;
use rectify_core::ledger::Ledger;
use rectify_core::sync::wire::{UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, chunk_checksum};
use rectify_core::sync::{HttpRequest, HttpResponse, Method, Quiet, SyncOptions, Transport, TransportError};
use rectify_tests::SplitMix;
use rectify_tests::office::{
    OfficeProcess, enrolled_device, fast_options, raw_request, seed_note, token_of, village_codes,
};

/// Cuts uploads: sometimes the connection dies partway through a chunk's body, sometimes the chunk lands
/// and its answer is lost.
struct CuttingTransport<T> {
    inner: T,
    base: String,
    rng: Mutex<SplitMix>,
    cuts: AtomicU64,
    lost: AtomicU64,
    chunk_bytes_delivered: AtomicU64,
}

impl<T: Transport> CuttingTransport<T> {
    /// Writes the request's head and part of its body on a raw connection, then hangs up.
    fn cut(&self, request: &HttpRequest, keep: usize) {
        let address = self.base.trim_start_matches("http://");
        let Ok(mut stream) = TcpStream::connect(address) else { return };
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {address}\r\ncontent-length: {}\r\n",
            request.method.as_str(),
            request.path,
            request.body.len()
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&request.body[..keep]);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

impl<T: Transport> Transport for CuttingTransport<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.method != Method::Patch {
            return self.inner.send(request);
        }
        let roll = self.rng.lock().unwrap().below(100);
        if roll < 35 && request.body.len() > 1 {
            let keep = self.rng.lock().unwrap().below(request.body.len() as u64 - 1) as usize + 1;
            self.cuts.fetch_add(1, Ordering::Relaxed);
            self.cut(request, keep);
            return Err(TransportError::Broken(format!("cut after {keep} of {} bytes", request.body.len())));
        }
        let response = self.inner.send(request)?;
        if response.status == 200 {
            self.chunk_bytes_delivered.fetch_add(request.body.len() as u64, Ordering::Relaxed);
        }
        if roll < 50 {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return Err(TransportError::Broken("the answer was lost after the chunk landed".into()));
        }
        Ok(response)
    }
}

/// Refuses every chunk: the network is too poor for uploads.
struct NoUploads<T>(T);

impl<T: Transport> Transport for NoUploads<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.method == Method::Patch {
            return Err(TransportError::TimedOut);
        }
        self.0.send(request)
    }
}

fn report_with_photo(ledger: &Ledger, dir: &std::path::Path, seed: u32) -> PhotoHash {
    let state = rectify_tests::office::report_with_photo(ledger, dir, &village_codes(1)[0], seed, (1600, 1200));
    state.before_photos[0].clone()
}

fn office_file(office: &OfficeProcess, hash: &PhotoHash) -> Option<Vec<u8>> {
    let path: Option<String> = office
        .db()
        .query_row("SELECT path FROM office_photos WHERE hash = ?1 AND present = 1", [hash.as_str()], |row| row.get(0))
        .ok();
    path.map(|path| std::fs::read(office.data.join("photos").join(path)).unwrap())
}

#[test]
fn cut_uploads_resume_from_the_offices_offset_and_arrive_exact() {
    let seed = rectify_tests::seed_from_clock();
    seed_note(seed);
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let phone = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let hash = report_with_photo(&phone, dir.path(), 3);
    let record = phone.photo(&hash).unwrap();
    let local = std::fs::read(phone.photo_path(&record).unwrap()).unwrap();
    assert_eq!(PhotoHash::of_bytes(&local), hash);
    let length = local.len() as u64;
    assert!(length > 100_000, "the photo should take many chunks ({length} bytes)");

    let cutting = CuttingTransport {
        inner: office.transport(),
        base: office.url.clone(),
        rng: Mutex::new(SplitMix::new(seed)),
        cuts: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        chunk_bytes_delivered: AtomicU64::new(0),
    };
    let options = SyncOptions { chunk_bytes: 16 << 10, ..fast_options() };
    let mut attempts = 0;
    loop {
        match phone.sync(&cutting, options, &Quiet) {
            Ok(report) if report.photos_up == 1 || phone.photo(&hash).unwrap().office_confirmed => break,
            Ok(report) => panic!("sync finished without the photo: {report:?}"),
            Err(_) => {
                attempts += 1;
                assert!(attempts < 100, "the upload never finished (seed {seed})");
            }
        }
    }
    let cuts = cutting.cuts.load(Ordering::Relaxed);
    assert!(cuts >= 3 && cutting.lost.load(Ordering::Relaxed) >= 3, "too few faults to mean anything (seed {seed})");
    let delivered = cutting.chunk_bytes_delivered.load(Ordering::Relaxed);
    let thumbnail = record.thumbnail.as_ref().unwrap().bytes;
    assert!(
        delivered <= length + thumbnail + 16 * 1024,
        "chunks that landed add up to {delivered} bytes for {} bytes of files: the upload started over (seed {seed})",
        length + thumbnail
    );
    assert_eq!(office_file(&office, &hash).as_deref(), Some(local.as_slice()), "the office holds the captured bytes");
    let thumb = record.thumbnail.unwrap();
    assert!(office_file(&office, &thumb.hash).is_some(), "the thumbnail went up too");
    assert!(phone.photo(&hash).unwrap().office_confirmed);
    let leftovers = std::fs::read_dir(office.data.join("uploads")).unwrap().count();
    assert_eq!(leftovers, 0, "no partial files stay behind");
}

#[test]
fn a_damaged_chunk_is_refused_and_nothing_of_it_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let phone = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let hash = report_with_photo(&phone, dir.path(), 4);
    // Push the event (so the office expects the photo) without uploading it.
    let _ = phone.sync(&NoUploads(office.transport()), fast_options(), &Quiet);
    let bytes = std::fs::read(phone.photo_path(&phone.photo(&hash).unwrap()).unwrap()).unwrap();
    let token = token_of(&phone);
    let path = format!("/v1/photos/{hash}");
    let chunk = |offset: usize, body: &[u8], checksum: String| {
        raw_request(&token, Method::Patch, &path, body.to_vec())
            .header("content-type", "application/octet-stream")
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_LENGTH, bytes.len().to_string())
            .header(UPLOAD_CHECKSUM, checksum)
    };
    let good = office.transport().send(&chunk(0, &bytes[..4096], chunk_checksum(&bytes[..4096]))).unwrap();
    assert_eq!(good.status, 200);
    assert_eq!(good.header(UPLOAD_OFFSET), Some("4096"));
    let mut damaged = bytes[4096..8192].to_vec();
    damaged[100] ^= 0x40;
    let refused = office.transport().send(&chunk(4096, &damaged, chunk_checksum(&bytes[4096..8192]))).unwrap();
    assert_eq!(refused.status, 460, "{}", String::from_utf8_lossy(&refused.body));
    let error: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(error["error"], "checksum_mismatch");
    let head = office.transport().send(&raw_request(&token, Method::Head, &path, Vec::new())).unwrap();
    assert_eq!(head.header(UPLOAD_OFFSET), Some("4096"), "the damaged chunk left nothing behind");
    // A chunk at a stale offset is answered with a conflict, not appended.
    let stale = office.transport().send(&chunk(0, &bytes[..4096], chunk_checksum(&bytes[..4096]))).unwrap();
    assert_eq!(stale.status, 409);
    // The phone's own sync resumes from 4096 and the office ends with the exact file.
    rectify_tests::office::sync(&phone, &office).unwrap();
    assert_eq!(office_file(&office, &hash).as_deref(), Some(bytes.as_slice()));
}

#[test]
fn a_photo_leaves_the_phone_only_after_the_office_confirms_it() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let phone = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let hash = report_with_photo(&phone, dir.path(), 5);
    let evidence = phone.photo_path(&phone.photo(&hash).unwrap()).unwrap();

    assert_eq!(phone.prune_photos().unwrap().photos, 0, "nothing is confirmed before any sync");
    let failed = phone.sync(&NoUploads(office.transport()), fast_options(), &Quiet);
    assert!(failed.is_err(), "uploads cannot get through");
    assert_eq!(phone.outbox().unwrap().pending_events, 0, "the event itself went up");
    assert!(!phone.photo(&hash).unwrap().office_confirmed);
    assert_eq!(phone.prune_photos().unwrap().photos, 0, "an unconfirmed photo is never pruned");
    assert!(evidence.exists());

    let report = rectify_tests::office::sync(&phone, &office).unwrap();
    assert_eq!(report.photos_up, 1);
    assert!(phone.photo(&hash).unwrap().office_confirmed);
    let pruned = phone.prune_photos().unwrap();
    assert_eq!(pruned.photos, 1);
    assert!(!evidence.exists(), "once confirmed, the evidence file can go");
    assert!(office_file(&office, &hash).is_some());
}
