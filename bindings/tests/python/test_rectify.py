"""Rectify through its Python bindings: a whole field story against a real office on loopback, errors as
exceptions, progress callbacks, a transport written in Python, cancellation, many threads at once, and
memory that stays flat over many open/close cycles and calls.

Run by scripts/test-bindings.sh, which generates the module, starts the office (binding-fixture) and
passes its address, enrollment codes and photos in the environment. Prints "N passed, N failed".
"""

import datetime
import http.client
import os
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

import rectify as r

ENV = os.environ
WORK = tempfile.mkdtemp(prefix="rectify-python-")
URL = ENV["RECTIFY_OFFICE_URL"]
VILLAGE = ENV["RECTIFY_VILLAGE"]
LAT = float(ENV["RECTIFY_LAT"])
LON = float(ENV["RECTIFY_LON"])
BEFORE = ENV["RECTIFY_PHOTO_BEFORE"]
AFTER = ENV["RECTIFY_PHOTO_AFTER"]
THIRD = ENV["RECTIFY_PHOTO_THIRD"]
CATEGORY = "village.scattered_garbage"
FAST = r.SyncSettings(full_photos=False, max_attempts=5, first_retry_ms=20)


def db(name):
    return os.path.join(WORK, name + ".db")


def enrolled(name, code_var):
    device = r.Device.open(db(name))
    device.enroll(URL, ENV[code_var])
    device.sync(settings=FAST)
    return device


class Progress(r.SyncListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


class PythonTransport(r.SyncTransport):
    """The sync's HTTP carried by Python's own http.client, counting what it sends."""

    def __init__(self):
        self.lock = threading.Lock()  # the sync fetches the next pull page on a second thread
        self.requests = 0
        self.methods = set()

    def send(self, request):
        with self.lock:
            self.requests += 1
            self.methods.add(request.method)
        url = urllib.parse.urlsplit(request.url)
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            headers = {header.name: header.value for header in request.headers}
            conn.request(request.method, request.path, body=bytes(request.body), headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            out = [r.HttpHeader(name=name.lower(), value=value) for name, value in answer.getheaders()]
            conn.close()
            return r.HttpResponse(status=answer.status, headers=out, body=body)
        except ConnectionRefusedError as err:
            raise r.TransportError.Unreachable(str(err))
        except TimeoutError:
            raise r.TransportError.TimedOut()
        except OSError as err:
            raise r.TransportError.Broken(str(err))


def test_field_story():
    inspector = enrolled("inspector", "RECTIFY_CODE_INSPECTOR")
    assert inspector.profile().role == r.Role.INSPECTOR
    located = inspector.locate(LAT, LON)
    assert located is not None and located.village_code == VILLAGE and located.inside
    # The walk screen's pickers: problem types with their Chinese labels, and the villages by hand.
    categories = {item.code: item for item in inspector.categories()}
    assert categories[CATEGORY].zh == "村内散落垃圾" and categories[CATEGORY].task_code == "village"
    assert categories["village.open_burning"].veto
    assert VILLAGE in [village.code for village in inspector.villages()]

    photo = inspector.ingest_photo(BEFORE)
    assert len(photo.hash) == 64 and photo.width and os.path.exists(photo.path)
    issue = inspector.report(r.NewIssue(category=CATEGORY, at=r.Fix(lat=LAT, lon=LON, accuracy_m=5.0),
                                        photo_paths=[BEFORE], note="garbage by the pond",
                                        village_code=None, village_reason=None))
    assert issue.status == r.IssueStatus.REPORTED and issue.before_photos == [photo.hash]
    listed = inspector.list()
    assert [item.id for item in listed] == [issue.id] and listed[0].sync_state == "pending 1"
    assert inspector.outbox().pending_events == 1
    near = inspector.nearby_open_issues(CATEGORY, LAT, LON, 50.0)
    assert [item.issue.id for item in near] == [issue.id]

    progress = Progress()
    summary = inspector.sync(listener=progress, settings=FAST)
    assert summary.pushed == 1 and summary.photos_up == 1, summary
    assert progress.seen, "no progress callback arrived"
    assert progress.seen[-1].phase == r.SyncPhase.DONE
    assert any(p.events_up == 1 for p in progress.seen)
    assert inspector.list()[0].sync_state == "synced"

    secretary = enrolled("secretary", "RECTIFY_CODE_SECRETARY")
    mine = secretary.negative_list(VILLAGE)
    assert mine.found == 1 and mine.remaining == 1 and mine.items[0].id == issue.id
    struck = secretary.strike_off(issue.id, [AFTER], "cleared and swept")
    assert struck.status == r.IssueStatus.STRIKE_OFF_REQUESTED and len(struck.after_photos) == 1
    assert secretary.sync(settings=FAST).pushed == 1

    acceptor = enrolled("acceptor", "RECTIFY_CODE_ACCEPTOR")
    accepted = acceptor.accept(issue.id, "checked on site")
    assert accepted.status == r.IssueStatus.ACCEPTED and accepted.accepted_at is not None
    acceptor.sync(settings=FAST)

    inspector.sync(settings=FAST)
    detail = inspector.issue(issue.id)
    assert detail.issue.status == r.IssueStatus.ACCEPTED
    assert [h.kind for h in detail.history] == ["reported", "strike_off_requested", "accepted"]
    assert detail.history[1].text == "cleared and swept"
    assert all(h.office_seq is not None for h in detail.history)
    assert {p.role for p in detail.photos} == {r.PhotoRole.BEFORE, r.PhotoRole.AFTER}
    assert any(p.thumbnail_path and os.path.exists(p.thumbnail_path) for p in detail.photos)
    assert detail.village_code == VILLAGE
    done = inspector.negative_list(VILLAGE)
    assert done.rectified == 1 and done.remaining == 0 and done.rectification_rate == 100.0
    assert inspector.overdue() == []
    # The district's weeks and months run on its own clock (UTC+8, the rules' offset), not the machine's.
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    year, week, _ = today.isocalendar()
    bulletin = inspector.bulletin(week=f"{year}-W{week:02d}")
    assert bulletin.total.total_accepted == 1, bulletin.total
    scores = inspector.scores(month=today.strftime("%Y-%m"))
    assert any(v.village_code == VILLAGE for v in scores.villages)


def expect(kind, work):
    try:
        work()
    except kind as err:
        assert str(err), "an error without a reason"
        return err
    raise AssertionError(f"expected {kind.__name__}")


def test_errors_arrive_as_exceptions():
    device = r.Device.open(db("errors"), r.ProfileSetup(user_name="Test Inspector", role=r.Role.INSPECTOR,
                                                        village_codes=[]))
    err = expect(r.RectifyError.InvalidInput, lambda: device.report(
        r.NewIssue(category="no.such_problem", at=r.Fix(lat=LAT, lon=LON, accuracy_m=None), photo_paths=[],
                   note=None, village_code=VILLAGE, village_reason=None)))
    assert "no.such_problem" in str(err) or "problem" in str(err)
    expect(r.RectifyError.InvalidInput, lambda: device.issue("not-an-id"))
    expect(r.RectifyError.NotFound, lambda: device.issue("0190a0b0-0000-7000-8000-000000000000"))
    expect(r.RectifyError.InvalidInput, lambda: device.ingest_photo(os.path.join(WORK, "missing.jpg")))
    expect(r.RectifyError.InvalidInput, lambda: r.Device.open(""))
    expect(r.RectifyError.NotInitialised, lambda: device.sync())
    not_db = os.path.join(WORK, "not-a-ledger.db")
    with open(not_db, "w") as f:
        f.write("plain text, not SQLite\n" * 100)
    expect(r.RectifyError.IncompatibleDatabase, lambda: r.Device.open(not_db))
    expect(r.RectifyError.InvalidInput, lambda: device.set_up(
        r.ProfileSetup(user_name="Someone Else", role=r.Role.ACCEPTOR, village_codes=[])))


def test_transport_written_in_python():
    transport = PythonTransport()
    device = r.Device.open(db("host-transport"))
    device.enroll(URL, ENV["RECTIFY_CODE_HOST_TRANSPORT"], transport)
    device.sync(transport=transport, settings=FAST)
    located = device.locate(LAT, LON)
    assert located is not None and located.village_code == VILLAGE, "the villages did not come through"
    device.report(r.NewIssue(category=CATEGORY, at=r.Fix(lat=LAT, lon=LON, accuracy_m=None), photo_paths=[THIRD],
                             note="through python's http.client", village_code=None, village_reason=None))
    assert device.outbox().unconfirmed_photo_bytes > 0
    summary = device.sync(transport=transport, settings=FAST)
    assert summary.pushed == 1 and summary.photos_up == 1, summary
    assert transport.requests >= 6 and {"GET", "POST", "PATCH"} <= transport.methods, transport.methods
    outbox = device.outbox()
    assert outbox.pending_events == 0 and outbox.unconfirmed_photo_bytes == 0, outbox


def test_failing_transport_and_cancel():
    device = r.Device.open(db("cancel"))
    device.enroll(URL, ENV["RECTIFY_CODE_CANCEL"])

    class Down(r.SyncTransport):
        calls = 0

        def send(self, request):
            Down.calls += 1
            raise r.TransportError.Unreachable("no signal in the fields")

    err = expect(r.RectifyError.Sync, lambda: device.sync(transport=Down(), settings=r.SyncSettings(
        full_photos=False, max_attempts=3, first_retry_ms=1)))
    assert Down.calls == 3 and "no signal" in str(err)

    class Broken(r.SyncTransport):
        def send(self, request):
            raise ValueError("a bug in the app's transport")

    expect(r.RectifyError.Sync, lambda: device.sync(transport=Broken(), settings=r.SyncSettings(
        full_photos=False, max_attempts=2, first_retry_ms=1)))

    # Without the cancel this job would fail with Sync after ~30 s of backoff, so a broken cancel fails the
    # test (Interrupted is expected, and fast) rather than hanging it.
    job = device.sync_job(Down(), None, r.SyncSettings(full_photos=False, max_attempts=3, first_retry_ms=10_000))
    threading.Timer(0.3, job.cancel).start()
    started = time.monotonic()
    expect(r.RectifyError.Interrupted, job.run)
    assert time.monotonic() - started < 5, "cancel waited out the backoff"
    assert job.is_cancelled()
    device.sync(settings=FAST)  # and the next sync goes through

    class Clumsy(r.SyncListener):
        calls = 0

        def on_progress(self, progress):
            Clumsy.calls += 1
            raise RuntimeError("a bug in the app's progress bar")

    device.report(r.NewIssue(category=CATEGORY, at=r.Fix(lat=LAT, lon=LON, accuracy_m=None), photo_paths=[],
                             note="synced past a broken listener", village_code=VILLAGE, village_reason=None))
    summary = device.sync(listener=Clumsy(), settings=FAST)
    assert summary.pushed == 1 and Clumsy.calls == 1, (summary, Clumsy.calls)
    device.sync(listener=Clumsy(), settings=FAST)  # the ledger's sync lock was not left poisoned


def test_every_operation():
    admin = enrolled("admin", "RECTIFY_CODE_ADMIN")
    assert admin.profile().role == r.Role.ADMIN
    new = r.NewIssue(category=CATEGORY, at=r.Fix(lat=LAT, lon=LON, accuracy_m=3.0), photo_paths=[],
                     note="sewage on the lane", village_code=VILLAGE, village_reason=None)
    issue = admin.report(new)
    deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    assigned = admin.assign(issue.id, int(deadline.timestamp() * 1000))
    assert assigned.status == r.IssueStatus.ASSIGNED and abs(assigned.deadline - deadline.timestamp() * 1000) < 1000
    admin.attach_photos(issue.id, [AFTER], "a closer look")
    admin.comment(issue.id, "the drain is blocked upstream")
    edited = admin.edit(issue.id, r.IssueEdit(category=None, note="sewage and a blocked drain", at=None, deadline=None))
    assert edited.note == "sewage and a blocked drain" and edited.comment_count == 1
    admin.strike_off(issue.id, [AFTER], "drain cleared")
    rejected = admin.reject(issue.id, "still smells")
    assert rejected.status == r.IssueStatus.REJECTED and rejected.last_rejection_reason == "still smells"
    admin.strike_off(issue.id, [AFTER], "flushed again")
    admin.accept(issue.id, None)
    reopened = admin.reopen(issue.id, "came back after the rain")
    assert reopened.reopen_count == 1 and reopened.status not in (r.IssueStatus.ACCEPTED, r.IssueStatus.WITHDRAWN)
    duplicate = admin.report(new)
    withdrawn = admin.withdraw(duplicate.id, issue.id, "same drain")
    assert withdrawn.status == r.IssueStatus.WITHDRAWN
    kinds = [entry.kind for entry in admin.issue(issue.id).history]
    assert kinds == ["reported", "assigned", "photo_attached", "comment", "edited", "strike_off_requested",
                     "rejected", "strike_off_requested", "accepted", "reopened"], kinds
    assert [i.id for i in admin.list(r.ListQuery(village_code=VILLAGE, zone=None, status=r.IssueStatus.WITHDRAWN,
                                                  overdue_only=False))] == [duplicate.id]
    assert admin.sync(settings=FAST).pushed == 12

    track = admin.start_track("east lanes")
    assert track.stopped_at is None
    for n in range(5):
        admin.add_track_point(r.TrackPoint(lat=LAT + n * 1e-4, lon=LON, at=None, accuracy_m=4.0,
                                           new_segment=n == 3))
    stopped = admin.stop_track()
    assert stopped.stopped_at is not None and stopped.length_m > 0
    assert [t.id for t in admin.tracks()] == [track.id]
    expect(r.RectifyError.IllegalTransition, admin.stop_track)

    admin.interrupt()  # nothing running: a no-op, and later calls run normally
    assert admin.outbox().pending_events == 0


def test_many_threads_at_once():
    device = enrolled("threads", "RECTIFY_CODE_THREADS")
    errors = []

    def work(n):
        try:
            for k in range(10):
                device.report(r.NewIssue(category=CATEGORY, at=r.Fix(lat=LAT + n * 1e-5, lon=LON + k * 1e-5,
                                                                     accuracy_m=None),
                                         photo_paths=[], note=f"thread {n} report {k}", village_code=VILLAGE,
                                         village_reason=None))
                device.list()
                device.outbox()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    before = len(device.list())
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(device.list()) == before + 80


def rss_kib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def test_memory_is_flat():
    # The threads test's ledger: ~100 issues, so every list() call carries real rows across the FFI.
    path = db("threads")
    assert len(r.Device.open(path).list()) >= 80
    cycles = int(ENV.get("RECTIFY_MEMORY_CYCLES", "10000"))
    calls = int(ENV.get("RECTIFY_MEMORY_CALLS", "100000"))
    # Warm up allocator pools and SQLite's page cache before the baseline.
    for _ in range(200):
        r.Device.open(path).profile()
    base = rss_kib()
    for _ in range(cycles):
        device = r.Device.open(path)
        device.outbox()
        del device
    after_cycles = rss_kib()
    device = r.Device.open(path)
    for n in range(calls):
        if n % 100:
            device.outbox()
        else:
            device.list()
    after_calls = rss_kib()
    print(f"memory: rss {base} KiB at start, {after_cycles} KiB after {cycles} open/close cycles, "
          f"{after_calls} KiB after {calls} calls")
    assert after_cycles - base < 16 * 1024, f"open/close grew RSS by {after_cycles - base} KiB"
    assert after_calls - after_cycles < 16 * 1024, f"calls grew RSS by {after_calls - after_cycles} KiB"


TESTS = [
    test_field_story,
    test_errors_arrive_as_exceptions,
    test_transport_written_in_python,
    test_failing_transport_and_cancel,
    test_every_operation,
    test_many_threads_at_once,
    test_memory_is_flat,
]


def main():
    passed = failed = 0
    for test in TESTS:
        started = time.monotonic()
        try:
            test()
        except Exception:  # noqa: BLE001 - every failure is reported and counted
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {test.__name__} ({time.monotonic() - started:.1f} s)")
    print(f"python: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
