//! The simulated devices of the ingest benchmarks (`sync` and `office-pg`): enrolled in-process, their
//! events built beforehand as gzip push bodies, then all pushing at once over HTTP, one thread each.

use std::sync::Mutex;
use std::time::Instant;

use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, VillageId};
use rectify_core::sync::wire::{PROTOCOL_HEADER, PushRequest, gzip};
use rectify_core::sync::{HttpRequest, HttpTransport, Method, Transport};
use rectify_office::Office;

type Failure = Box<dyn std::error::Error>;

/// One device: its token, its pushes, and the office process it talks to.
pub(crate) struct Device {
    token: String,
    bodies: Vec<Vec<u8>>,
    url: String,
}

/// `devices` inspectors named `field-N`, each with `per_device` events in `village` (issues of five
/// events) in pushes of `batch`; device N talks to `urls[N % urls.len()]`.
pub(crate) fn enroll(
    office: &Office,
    urls: &[String],
    devices: usize,
    per_device: usize,
    batch: usize,
    village: VillageId,
) -> Result<Vec<Device>, Failure> {
    let mut fleet = Vec::with_capacity(devices);
    for n in 0..devices {
        let code = office.issue_enrollment(&format!("field-{n}"), Role::Inspector, &[])?;
        let device = DeviceId::new();
        let (token, credential) = office.enroll(&code, device)?;
        let now = chrono::Utc::now().fixed_offset();
        let mut events = Vec::with_capacity(per_device);
        while events.len() < per_device {
            let count = (per_device - events.len()).min(5) as u64;
            events.extend(crate::issue_events(
                device,
                credential.user_id,
                village,
                events.len() as u64 + 1,
                count,
                now,
            ));
        }
        let bodies = events
            .chunks(batch)
            .map(|chunk| {
                let request = PushRequest { events: chunk.to_vec(), photos: Vec::new() };
                gzip(&serde_json::to_vec(&request).unwrap_or_default())
            })
            .collect();
        fleet.push(Device { token, bodies, url: urls[n % urls.len()].clone() });
    }
    Ok(fleet)
}

/// Every device sends all its pushes at once. Returns each push's latency in ms (sorted) and the wall
/// time in seconds; any push not answered 200 is an error.
pub(crate) fn push_all(fleet: &[Device]) -> Result<(Vec<f64>, f64), Failure> {
    let latencies = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for device in fleet {
            let (latencies, failures) = (&latencies, &failures);
            scope.spawn(move || {
                let transport = HttpTransport::new(&device.url);
                for body in &device.bodies {
                    let request = HttpRequest::new(Method::Post, "/v1/push")
                        .header(PROTOCOL_HEADER, "1")
                        .header("authorization", format!("Bearer {}", device.token))
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body.clone());
                    let sent = Instant::now();
                    let failed = match transport.send(&request) {
                        Ok(response) if response.status == 200 => {
                            let ms = sent.elapsed().as_secs_f64() * 1e3;
                            latencies.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
                            continue;
                        }
                        Ok(response) => format!("{}: {}", response.status, String::from_utf8_lossy(&response.body)),
                        Err(err) => err.to_string(),
                    };
                    failures.lock().unwrap_or_else(|p| p.into_inner()).push(failed);
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let failures = failures.into_inner().unwrap_or_default();
    if let Some(first) = failures.first() {
        return Err(format!("{} pushes failed, e.g. {first}", failures.len()).into());
    }
    let mut latencies = latencies.into_inner().unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, wall))
}
