import CoreLocation
import SwiftUI

/// Where the GPS stands, and what to do when it does not help: allow location in Settings, wait in the open,
/// or use the phone's last-known position (offered with its age and accuracy, only if under ten minutes old).
struct GPSStatusView: View {
    @ObservedObject var location: LocationModel
    @Binding var useLastKnown: Bool

    var body: some View {
        switch location.access {
        case .notDetermined:
            Banner(systemImage: "location", tint: .blue) {
                Text("gps.asking").font(.headline)
                Button("gps.allow") { location.start() }
                    .buttonStyle(.bigSecondary)
            }
        case .denied, .restricted:
            Banner(systemImage: "location.slash.fill", tint: .red) {
                Text("gps.denied.title").font(.headline)
                Text("gps.denied.required")
                if location.access == .restricted {
                    Text("gps.restricted").font(.footnote).foregroundStyle(.secondary)
                } else {
                    OpenSettingsButton()
                }
            }
        case .allowed:
            VStack(spacing: 10) {
                if let fresh = location.fresh {
                    liveFix(fresh)
                } else {
                    waiting
                }
                if !location.precise {
                    Banner(systemImage: "scope", tint: .orange) {
                        Text("gps.approximate")
                        Button("gps.askPrecise") { location.requestPrecise() }
                            .buttonStyle(.bigSecondary)
                    }
                }
            }
        }
    }

    private func liveFix(_ fix: CLLocation) -> some View {
        let accuracy = Int(fix.horizontalAccuracy.rounded())
        let weak = fix.horizontalAccuracy > 50
        return Banner(systemImage: "location.fill", tint: weak ? .orange : .green) {
            Text("gps.live \(accuracy) \(Format.relative(fix.timestamp, to: location.now))")
                .font(.headline)
                .monospacedDigit()
            if weak { Text("gps.weak").font(.footnote) }
        }
    }

    private var waiting: some View {
        Banner(systemImage: "location.magnifyingglass", tint: .orange) {
            HStack(spacing: 10) {
                ProgressView()
                Text("gps.waiting").font(.headline)
            }
            Text("gps.waiting.hint").font(.footnote)
            if let known = location.lastKnown {
                let accuracy = Int(known.horizontalAccuracy.rounded())
                let age = Format.relative(known.timestamp, to: location.now)
                Divider()
                Text("gps.lastKnown \(accuracy) \(age)")
                    .monospacedDigit()
                Toggle(isOn: $useLastKnown) {
                    Text("gps.useLastKnown")
                }
                .frame(minHeight: 60)
            } else if useLastKnown {
                Text("gps.lastKnown.expired").font(.footnote)
            }
        }
    }
}
