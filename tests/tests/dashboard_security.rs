//! The dashboard's security over real HTTP: a real `rectify-office serve` process, phones that sync real
//! issues into it, and dashboard users of every role. Every page and action must refuse a user without
//! the right role, every form without the session's CSRF token, and a visitor without a session; failed
//! logins are limited; sessions live in HttpOnly, SameSite cookies and only as hashes at the office.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use rectify_core::domain::issue::Status;
use rectify_core::ledger::{Command as Act, Ledger};
use rectify_tests::office::{
    OfficeProcess, enrolled_device, field_photo, point_in, report_with_photo, sync, village_codes, workspace_bin,
};
use rectify_tests::web::{WebClient, WebResponse};

const PASSWORD: &str = "long enough password";

fn add_user(office: &OfficeProcess, name: &str, role: &str, villages: &[&str], password: &str) -> std::process::Output {
    let mut command = Command::new(workspace_bin("rectify-office"));
    command.args(["users", "add", "--data"]).arg(&office.data).args([
        "--name",
        name,
        "--role",
        role,
        "--password-stdin",
    ]);
    for village in villages {
        command.args(["--village", village]);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn logged_in(office: &OfficeProcess, user: &str) -> WebClient {
    let mut client = WebClient::new(&office.url);
    let answer = client.log_in(user, PASSWORD);
    assert_eq!(answer.status, 303, "{user} logs in: {}", answer.text());
    client
}

fn status_at_office(office: &OfficeProcess, issue: &str) -> String {
    let out = office.admin(&["issues"], &["--json"]);
    let issues: serde_json::Value = serde_json::from_str(&out).unwrap();
    issues.as_array().unwrap().iter().find(|row| row["id"] == issue).unwrap()["status"].as_str().unwrap().to_string()
}

fn is_login_redirect(answer: &WebResponse) -> bool {
    answer.status == 303 && answer.header("location").is_some_and(|to| to.starts_with("/login"))
}

/// A strike-off waiting for acceptance in `code`: reported by the inspector, assigned by the acceptor,
/// struck off by the secretary. Returns the issue id and its before-photo hash.
struct Fixture {
    office: OfficeProcess,
    /// Strike-offs waiting in the secretary's village.
    waiting: Vec<String>,
    /// An issue in another village.
    elsewhere: String,
    /// A before-photo of the secretary's village, and one of the other village.
    photo_home: String,
    photo_elsewhere: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 2);
    let codes = village_codes(2);
    let inspector = enrolled_device(&office, dir.path(), "inspector-li", "inspector", &[]);
    let acceptor = enrolled_device(&office, dir.path(), "acceptor-zhao", "acceptor", &[]);
    let secretary = enrolled_device(&office, dir.path(), "secretary-wang", "secretary", &[&codes[0]]);
    let home: Vec<_> =
        (0..3).map(|seed| report_with_photo(&inspector, dir.path(), &codes[0], seed, (640, 480))).collect();
    let other = report_with_photo(&inspector, dir.path(), &codes[1], 9, (640, 480));
    sync(&inspector, &office).unwrap();
    sync(&acceptor, &office).unwrap();
    for issue in home.iter().chain([&other]) {
        acceptor.act(issue.id, &Act::Assign { deadline: None }).unwrap();
    }
    sync(&acceptor, &office).unwrap();
    sync(&secretary, &office).unwrap();
    strike_off_all(&secretary, dir.path(), &codes[0], &home);
    sync(&secretary, &office).unwrap();
    let hash = |state: &rectify_core::domain::issue::IssueState| state.before_photos[0].as_str().to_string();
    Fixture {
        waiting: home.iter().map(|state| state.id.to_string()).collect(),
        elsewhere: other.id.to_string(),
        photo_home: hash(&home[0]),
        photo_elsewhere: hash(&other),
        office,
        _dir: dir,
    }
}

fn strike_off_all(
    secretary: &Ledger,
    dir: &std::path::Path,
    code: &str,
    issues: &[rectify_core::domain::issue::IssueState],
) {
    let (lat, lon) = point_in(secretary, code);
    for (n, issue) in issues.iter().enumerate() {
        let after = field_photo(dir, &format!("after-{n}.jpg"), 100 + n as u32, lat, lon, (640, 480));
        let state =
            secretary.act(issue.id, &Act::StrikeOff { photos: vec![after], note: Some("fixed".into()) }).unwrap();
        assert_eq!(state.status, Status::StrikeOffRequested);
    }
}

#[test]
fn every_page_and_action_checks_the_session_the_role_and_the_csrf_token() {
    let fx = fixture();
    let office = &fx.office;
    let codes = village_codes(2);
    for (name, role, villages) in [
        ("admin", "admin", vec![]),
        ("zhao", "acceptor", vec![]),
        ("li", "inspector", vec![]),
        ("wang", "secretary", vec![codes[0].as_str()]),
    ] {
        let out = add_user(office, name, role, &villages, PASSWORD);
        assert!(out.status.success(), "users add {name}: {}", String::from_utf8_lossy(&out.stderr));
    }

    let district = ["/", "/ranking", "/bulletin", "/bulletin.csv", "/bulletin.xlsx", "/escalations", "/map"];
    let home_pages =
        [format!("/villages/{}", codes[0]), format!("/issues/{}", fx.waiting[0]), format!("/photos/{}", fx.photo_home)];
    let other_pages = [
        format!("/villages/{}", codes[1]),
        format!("/issues/{}", fx.elsewhere),
        format!("/photos/{}", fx.photo_elsewhere),
    ];
    let every: Vec<String> = district
        .iter()
        .map(|page| page.to_string())
        .chain(["/queue".to_string()])
        .chain(home_pages.iter().cloned())
        .chain(other_pages.iter().cloned())
        .collect();

    // A visitor without a session is sent to the login page, and comes back to where they were going.
    let mut visitor = WebClient::new(&office.url);
    for page in &every {
        let answer = visitor.get(page);
        assert!(
            is_login_redirect(&answer),
            "{page} without a session: {} {:?}",
            answer.status,
            answer.header("location")
        );
    }
    assert_eq!(
        visitor.get("/ranking?month=2026-10").header("location"),
        Some("/login?next=/ranking%3Fmonth%3D2026-10")
    );
    let answer = visitor.post_form(&format!("/issues/{}/accept", fx.waiting[0]), &[("csrf", "x")]);
    assert!(is_login_redirect(&answer), "accepting without a session: {}", answer.status);
    // After logging in, the visitor comes back to the issue's page, not to a replayed decision.
    assert_eq!(answer.header("location"), Some(format!("/login?next=/issues/{}", fx.waiting[0]).as_str()));
    assert_eq!(status_at_office(office, &fx.waiting[0]), "strike_off_requested");

    // What each role may open: admins and acceptors everything; inspectors all but the queue; a secretary
    // only their own village, its issues and its photos.
    let expect = |role: &str, page: &str| -> bool {
        match role {
            "admin" | "acceptor" => true,
            "inspector" => page != "/queue",
            _ => home_pages.iter().any(|home| home == page),
        }
    };
    for (user, role) in [("admin", "admin"), ("zhao", "acceptor"), ("li", "inspector"), ("wang", "secretary")] {
        let mut client = logged_in(office, user);
        for page in &every {
            let answer = client.get(page);
            if role == "secretary" && page == "/" {
                // A secretary's home is their village, not the district overview.
                assert_eq!(answer.status, 303, "{user} opens /");
                assert_eq!(answer.header("location"), Some(format!("/villages/{}", codes[0]).as_str()));
            } else if expect(role, page) {
                assert_eq!(answer.status, 200, "{user} ({role}) opens {page}: {}", answer.text());
            } else {
                // A photo outside the secretary's villages is answered as absent: its hash reveals nothing.
                let refused = if page.starts_with("/photos/") {
                    [403, 404].contains(&answer.status)
                } else {
                    answer.status == 403
                };
                assert!(refused, "{user} ({role}) must not open {page}, got {}", answer.status);
            }
        }
    }

    // A secretary gets the same answer for another village's issue, a made-up issue and a made-up village.
    let mut wang = logged_in(office, "wang");
    for page in [
        format!("/issues/{}", fx.elsewhere),
        "/issues/01900000-0000-7000-8000-000000000000".to_string(),
        format!("/villages/{}", codes[1]),
        "/villages/999999999999".to_string(),
    ] {
        assert_eq!(wang.get(&page).status, 403, "secretary on {page}");
    }

    // Decisions: roles that may not decide are refused even with a valid token, and nothing changes.
    let issue = &fx.waiting[0];
    for user in ["li", "wang"] {
        let mut client = logged_in(office, user);
        let csrf = client.csrf(&format!("/villages/{}", codes[0]));
        let answer = client.post_form(&format!("/issues/{issue}/accept"), &[("csrf", &csrf)]);
        assert_eq!(answer.status, 403, "{user} accepting");
        let answer = client.post_form(&format!("/issues/{issue}/reject"), &[("csrf", &csrf), ("reason", "no")]);
        assert_eq!(answer.status, 403, "{user} rejecting");
    }
    assert_eq!(status_at_office(office, issue), "strike_off_requested");

    // The acceptor: without a token, with a made-up one, or with another session's, the form is refused.
    let mut zhao = logged_in(office, "zhao");
    let mut admin = logged_in(office, "admin");
    let others = admin.csrf("/queue");
    let accept = format!("/issues/{issue}/accept");
    let reject_first = format!("/issues/{issue}/reject");
    let events_before = event_count(office, issue);
    for form in [&accept, &reject_first] {
        for pairs in [vec![], vec![("csrf", "0".repeat(64))], vec![("csrf", others.clone())]] {
            let mut pairs: Vec<(&str, &str)> = pairs.iter().map(|(key, value)| (*key, value.as_str())).collect();
            pairs.push(("reason", "not fixed"));
            let answer = zhao.post_form(form, &pairs);
            assert_eq!(answer.status, 403, "{form} with {pairs:?}: {}", answer.text());
        }
    }
    assert_eq!(status_at_office(office, issue), "strike_off_requested", "a refused form changed nothing");
    assert_eq!(event_count(office, issue), events_before, "a refused form recorded nothing");

    // With the session's own token the decision goes through the sequencer like a phone's.
    let csrf = zhao.csrf("/queue");
    let answer = zhao.post_form(&accept, &[("csrf", &csrf), ("note", "checked on site")]);
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some(format!("/issues/{issue}?done=accepted").as_str()));
    assert_eq!(status_at_office(office, issue), "accepted");
    let again = zhao.post_form(&accept, &[("csrf", &csrf)]);
    assert_eq!(again.status, 422, "an accepted issue cannot be accepted again: {}", again.text());
    assert_eq!(event_count(office, issue), events_before + 1, "the second click recorded nothing");

    // Rejecting needs a reason.
    let second = &fx.waiting[1];
    let reject = format!("/issues/{second}/reject");
    let answer = zhao.post_form(&reject, &[("csrf", &csrf), ("reason", "   ")]);
    assert_eq!(answer.status, 422, "{}", answer.text());
    let answer = zhao.post_form(&reject, &[("csrf", &csrf), ("reason", "the lane is still blocked")]);
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(status_at_office(office, second), "rejected");
    let page = zhao.get(&format!("/issues/{second}")).text();
    assert!(page.contains("the lane is still blocked"), "the reason shows in the history");

    // Logging out needs the token too, and ends the session at the office.
    let answer = zhao.post_form("/logout", &[]);
    assert_eq!(answer.status, 403);
    let answer = zhao.post_form("/logout", &[("csrf", &csrf)]);
    assert_eq!(answer.status, 303);
    assert!(is_login_redirect(&zhao.get("/ranking")));

    // The login form has its own token (a cookie and a field that must match).
    let mut stranger = WebClient::new(&office.url);
    let answer = stranger.post_form("/login", &[("user", "admin"), ("password", PASSWORD), ("csrf", "forged")]);
    assert_eq!(answer.status, 403, "a login post without the form's cookie");
    assert!(stranger.get("/login").hidden_input("csrf").is_some());
    for sent in ["", "0123456789abcdef0123456789abcdef"] {
        let answer = stranger.post_form("/login", &[("user", "admin"), ("password", PASSWORD), ("csrf", sent)]);
        assert_eq!(answer.status, 403, "a login post whose field ({sent:?}) does not match its cookie");
    }
    assert!(!stranger.cookies.contains_key("rectify_session"));

    // Only paths on this site are followed, however they are disguised.
    for back in ["//evil.example/", "/%09/evil.example", "/%5Cevil.example", "https://evil.example/", "/%0A/evil"] {
        let answer = stranger.get(&format!("/lang?to=en&back={back}"));
        assert_eq!(answer.status, 303, "{back}");
        assert_eq!(answer.header("location"), Some("/"), "back={back}");
    }
    let mut admin_again = WebClient::new(&office.url);
    let csrf = admin_again.get("/login").hidden_input("csrf").unwrap();
    let answer = admin_again.post_form(
        "/login",
        &[("user", "admin"), ("password", PASSWORD), ("csrf", &csrf), ("next", "/\t/evil.example")],
    );
    assert_eq!((answer.status, answer.header("location")), (303, Some("/")));

    // A new password ends the user's sessions; revoking their decisions device shuts them out.
    assert_eq!(admin.get("/ranking").status, 200);
    assert!(add_user(office, "admin", "admin", &[], "another long password").status.success());
    assert!(is_login_redirect(&admin.get("/ranking")), "the old session ended with the new password");
    let mut li = logged_in(office, "li");
    assert_eq!(li.get("/ranking").status, 200);
    let device: String =
        office.db().query_row("SELECT web_device FROM office_users WHERE name = 'li'", [], |row| row.get(0)).unwrap();
    office.admin(&["revoke"], &["--device", &device]);
    assert!(is_login_redirect(&li.get("/ranking")), "a revoked user's session no longer opens pages");
}

fn event_count(office: &OfficeProcess, issue: &str) -> i64 {
    office.db().query_row("SELECT count(*) FROM events WHERE issue_id = ?1", [issue], |row| row.get(0)).unwrap()
}

#[test]
fn sessions_are_httponly_samesite_and_stored_hashed_and_failed_logins_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let weak = add_user(&office, "shortpw", "inspector", &[], "short");
    assert!(!weak.status.success(), "a 5-character password is refused");
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10"), "{}", String::from_utf8_lossy(&weak.stderr));
    let secretary = add_user(&office, "nobody", "secretary", &[], PASSWORD);
    assert!(!secretary.status.success(), "a secretary needs villages");
    assert!(add_user(&office, "li", "inspector", &[], PASSWORD).status.success());
    let users: serde_json::Value = serde_json::from_str(&office.admin(&["users", "list"], &["--json"])).unwrap();
    let li = users.as_array().unwrap().iter().find(|user| user["name"] == "li").unwrap();
    assert_eq!((li["role"].as_str(), li["can_log_in"].as_bool()), (Some("inspector"), Some(true)));
    assert!(li["decisions_device"].is_string());

    let mut client = WebClient::new(&office.url);
    let answer = client.log_in("li", PASSWORD);
    assert_eq!(answer.status, 303);
    let cookie = answer
        .headers
        .iter()
        .find(|(name, value)| name == "set-cookie" && value.starts_with("rectify_session="))
        .unwrap();
    assert!(cookie.1.contains("HttpOnly") && cookie.1.contains("SameSite=Strict"), "{}", cookie.1);
    let token = client.cookies["rectify_session"].clone();
    let stored: Vec<String> = office
        .db()
        .prepare("SELECT token_hash FROM office_sessions")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token, "the office keeps only a hash of the session token");
    let page = client.get("/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let hashes: String = office
        .db()
        .query_row("SELECT password_hash FROM office_users WHERE name = 'li'", [], |row| row.get(0))
        .unwrap();
    assert!(hashes.starts_with("$argon2id$"), "{hashes}");

    // Five wrong passwords lock the name; then even the right one waits, with Retry-After.
    let mut attacker = WebClient::new(&office.url);
    for attempt in 0..5 {
        let answer = attacker.log_in("li", &format!("wrong password {attempt}"));
        assert_eq!(answer.status, 401, "attempt {attempt}");
        assert!(!attacker.cookies.contains_key("rectify_session"));
    }
    let locked = attacker.log_in("li", PASSWORD);
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert!(locked.header("retry-after").and_then(|value| value.parse::<u64>().ok()).is_some_and(|secs| secs > 0));
    assert!(!attacker.cookies.contains_key("rectify_session"));
    // An unknown name is answered like a wrong password.
    let answer = WebClient::new(&office.url).log_in("nosuchuser", PASSWORD);
    assert_eq!(answer.status, 401);
    // The session opened before the attack still works.
    assert_eq!(client.get("/ranking").status, 200);
}
