import Combine
import CoreLocation
import Foundation
import RectifyKit

/// A position to record an issue at: a fresh fix, or a recent last-known one the person chose to use.
struct Position: Equatable {
    let location: CLLocation
    /// The last-known position, chosen while no fresh fix came; shown with its age.
    let isLastKnown: Bool

    var fix: Fix {
        Fix(lat: location.coordinate.latitude, lon: location.coordinate.longitude,
            accuracyM: location.horizontalAccuracy >= 0 ? location.horizontalAccuracy : nil)
    }

    static func == (lhs: Position, rhs: Position) -> Bool {
        lhs.isLastKnown == rhs.isLastKnown && lhs.location.timestamp == rhs.location.timestamp
            && lhs.location.coordinate.latitude == rhs.location.coordinate.latitude
            && lhs.location.coordinate.longitude == rhs.location.coordinate.longitude
    }
}

/// Live GPS for the walk and strike-off screens (CLLocationManager, best accuracy, while the screen shows).
/// A fix counts as fresh for a minute; after that, and for a position the phone remembered from before,
/// it is only "last known", usable for ten minutes and only when the person says so.
@MainActor
final class LocationModel: NSObject, ObservableObject, CLLocationManagerDelegate {
    enum Access: Equatable {
        case notDetermined
        case denied
        case restricted
        case allowed
    }

    static let freshFor: TimeInterval = 60
    static let lastKnownFor: TimeInterval = 10 * 60
    static let purposeKey = "IssuePlacement"

    @Published private(set) var access: Access = .notDetermined
    /// False when the person allowed only an approximate location.
    @Published private(set) var precise = true
    @Published private(set) var latest: CLLocation?
    /// Ticks every second while running, so ages on screen and what counts as fresh stay true.
    @Published private(set) var now = Date()

    private let manager = CLLocationManager()
    private var ticker: Timer?

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
        manager.distanceFilter = kCLDistanceFilterNone
        manager.activityType = .otherNavigation
        readAccess()
    }

    /// A fix from the last minute.
    var fresh: CLLocation? {
        guard let latest, age(of: latest) <= Self.freshFor else { return nil }
        return latest
    }

    /// The last-known position when there is no fresh fix, if it is less than ten minutes old.
    var lastKnown: CLLocation? {
        guard fresh == nil, let latest, age(of: latest) <= Self.lastKnownFor else { return nil }
        return latest
    }

    func age(of location: CLLocation) -> TimeInterval { max(0, now.timeIntervalSince(location.timestamp)) }

    /// The position to record at: a fresh fix always wins; the last-known one only when chosen.
    func position(allowLastKnown: Bool) -> Position? {
        if let fresh { return Position(location: fresh, isLastKnown: false) }
        if allowLastKnown, let lastKnown { return Position(location: lastKnown, isLastKnown: true) }
        return nil
    }

    func start() {
        now = Date()
        if ticker == nil {
            let timer = Timer(timeInterval: 1, repeats: true) { [weak self] _ in
                Task { @MainActor [weak self] in self?.now = Date() }
            }
            // Common modes: the ages on screen keep counting while the walk screen scrolls.
            RunLoop.main.add(timer, forMode: .common)
            ticker = timer
        }
        switch manager.authorizationStatus {
        case .notDetermined:
            manager.requestWhenInUseAuthorization()
        case .authorizedWhenInUse, .authorizedAlways:
            beginUpdates()
        default:
            break
        }
    }

    func stop() {
        ticker?.invalidate()
        ticker = nil
        manager.stopUpdatingLocation()
    }

    /// Asks for precise location for this session, when only an approximate one was allowed.
    func requestPrecise() {
        manager.requestTemporaryFullAccuracyAuthorization(withPurposeKey: Self.purposeKey)
    }

    private func beginUpdates() {
        // What the phone last knew is offered while the receiver looks for a fresh fix.
        if latest == nil, let known = manager.location, known.horizontalAccuracy >= 0,
           age(of: known) <= Self.lastKnownFor {
            latest = known
        }
        manager.startUpdatingLocation()
    }

    private func readAccess() {
        switch manager.authorizationStatus {
        case .notDetermined: access = .notDetermined
        case .restricted: access = .restricted
        case .denied: access = .denied
        case .authorizedWhenInUse, .authorizedAlways: access = .allowed
        @unknown default: access = .denied
        }
        precise = manager.accuracyAuthorization == .fullAccuracy
    }

    private func receive(_ location: CLLocation) {
        guard location.horizontalAccuracy >= 0 else { return }  // not a fix
        if let latest, latest.timestamp > location.timestamp { return }
        latest = location
        now = Date()
    }

    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        Task { @MainActor in
            let before = self.access
            self.readAccess()
            if self.access == .allowed, before != .allowed, self.ticker != nil { self.beginUpdates() }
            if self.access != .allowed { self.manager.stopUpdatingLocation() }
        }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let last = locations.last else { return }
        Task { @MainActor in self.receive(last) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        // `locationUnknown` only means "no fix yet": the manager keeps trying. A denial arrives through the
        // authorization callback as well.
        guard (error as? CLError)?.code == .denied else { return }
        Task { @MainActor in self.readAccess() }
    }
}
