import SwiftUI
import UIKit

/// A full-width button at least 60 points tall: inspectors work outdoors, often in gloves.
struct BigButtonStyle: ButtonStyle {
    var tint: Color = .accentColor
    var prominent = true

    func makeBody(configuration: Configuration) -> some View {
        BigButtonBody(configuration: configuration, tint: tint, prominent: prominent)
    }

    private struct BigButtonBody: View {
        let configuration: ButtonStyleConfiguration
        let tint: Color
        let prominent: Bool
        @Environment(\.isEnabled) private var isEnabled

        init(configuration: ButtonStyleConfiguration, tint: Color, prominent: Bool) {
            self.configuration = configuration
            self.tint = tint
            self.prominent = prominent
        }

        var body: some View {
            configuration.label
                .font(.title3.weight(.semibold))
                .multilineTextAlignment(.center)
                .frame(maxWidth: .infinity, minHeight: 60)
                .padding(.horizontal, 12)
                .foregroundStyle(prominent ? Color.white : tint)
                .background(
                    RoundedRectangle(cornerRadius: 14, style: .continuous)
                        .fill(prominent ? tint : tint.opacity(0.14))
                )
                .contentShape(Rectangle())
                .opacity(isEnabled ? (configuration.isPressed ? 0.75 : 1) : 0.4)
        }
    }
}

extension ButtonStyle where Self == BigButtonStyle {
    static var big: BigButtonStyle { BigButtonStyle() }
    static var bigSecondary: BigButtonStyle { BigButtonStyle(prominent: false) }
    static func bigTinted(_ tint: Color, prominent: Bool = true) -> BigButtonStyle {
        BigButtonStyle(tint: tint, prominent: prominent)
    }
}

/// A coloured box with an icon and a few lines: notices, warnings and explanations inside a screen.
struct Banner<Content: View>: View {
    let systemImage: String
    let tint: Color
    @ViewBuilder let content: Content

    var body: some View {
        HStack(alignment: .top, spacing: 12) {
            Image(systemName: systemImage)
                .font(.title2)
                .foregroundStyle(tint)
                .accessibilityHidden(true)
            VStack(alignment: .leading, spacing: 6) { content }
                .frame(maxWidth: .infinity, alignment: .leading)
        }
        .padding(14)
        .background(RoundedRectangle(cornerRadius: 12, style: .continuous).fill(tint.opacity(0.12)))
    }
}

/// A problem shown in place: what happened, what to do, and the core's own words in small print.
struct ProblemBanner: View {
    let problem: Problem

    var body: some View {
        Banner(systemImage: problem.storageFull ? "externaldrive.badge.exclamationmark" : "exclamationmark.triangle.fill",
               tint: .red) {
            Text(problem.title).font(.headline)
            Text(problem.message)
            if let detail = problem.detail {
                Text(detail).font(.footnote).foregroundStyle(.secondary)
            }
        }
    }
}

/// Opens this app's page in Settings, where a denied permission can be given again.
struct OpenSettingsButton: View {
    var body: some View {
        Button {
            if let url = URL(string: UIApplication.openSettingsURLString) {
                UIApplication.shared.open(url)
            }
        } label: {
            Label("common.openSettings", systemImage: "gear")
        }
        .buttonStyle(.big)
    }
}

extension View {
    /// A text field's box, tall enough to hit with a gloved finger.
    func fieldBox() -> some View {
        padding(.horizontal, 14)
            .frame(minHeight: 60)
            .background(RoundedRectangle(cornerRadius: 12, style: .continuous).fill(Color(.secondarySystemBackground)))
    }

    /// Shows `problem` as an alert while it is set.
    func problemAlert(_ problem: Binding<Problem?>) -> some View {
        alert(
            Text(verbatim: problem.wrappedValue?.title ?? ""),
            isPresented: Binding(
                get: { problem.wrappedValue != nil },
                set: { if !$0 { problem.wrappedValue = nil } }
            ),
            presenting: problem.wrappedValue
        ) { _ in
            Button("common.ok", role: .cancel) {}
        } message: { shown in
            if let detail = shown.detail {
                Text(verbatim: shown.message + "\n\n" + detail)
            } else {
                Text(verbatim: shown.message)
            }
        }
    }
}
