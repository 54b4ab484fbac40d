import RectifyKit
import SwiftUI

/// Opens the ledger, then shows enrollment until the phone acts for someone, and the tabs of their role after.
struct RootView: View {
    @ObservedObject var app: AppModel

    var body: some View {
        Group {
            switch app.ledgerState {
            case .opening:
                ProgressView("app.opening")
                    .controlSize(.large)
            case .failed(let problem):
                OpenFailedView(problem: problem) { Task { await app.start() } }
            case .ready(let services):
                if let profile = app.profile {
                    // A new enrollment (or the office changing this phone's role or villages) starts the
                    // tabs afresh: their view models were made for the previous profile.
                    MainTabView(app: app, services: services, profile: profile)
                        .id(profile)
                        .sheet(item: $app.enrollmentInvitation) { link in
                            EnrollmentView(services: services, app: app, link: link, isSheet: true)
                        }
                } else {
                    EnrollmentView(services: services, app: app, link: app.enrollmentInvitation)
                }
            }
        }
        .task { await app.start() }
    }
}

/// The tabs each role works with: inspectors walk and record; secretaries work their villages' lists;
/// acceptors decide strike-offs. Everyone sees the lists and the sync status.
struct MainTabView: View {
    @ObservedObject var app: AppModel
    let services: AppServices
    let profile: Profile

    var body: some View {
        TabView {
            switch profile.role {
            case .inspector:
                WalkView(services: services, profile: profile)
                    .tabItem { Label("tab.walk", systemImage: "camera.viewfinder") }
                listsTab
                syncTab
            case .secretary:
                listsTab
                syncTab
            case .acceptor, .admin:
                AcceptanceView(services: services, profile: profile)
                    .tabItem { Label("tab.acceptance", systemImage: "checkmark.seal") }
                listsTab
                syncTab
            }
        }
    }

    private var listsTab: some View {
        NegativeListView(services: services, profile: profile)
            .tabItem { Label("tab.lists", systemImage: "list.bullet.rectangle") }
    }

    private var syncTab: some View {
        SyncStatusView(app: app, services: services, profile: profile)
            .tabItem { Label("tab.sync", systemImage: "arrow.triangle.2.circlepath") }
    }
}

/// The ledger could not be opened: a full disk, or a database from a newer app.
private struct OpenFailedView: View {
    let problem: Problem
    let retry: () -> Void

    var body: some View {
        VStack(spacing: 20) {
            ProblemBanner(problem: problem)
            Button("common.tryAgain", action: retry)
                .buttonStyle(.big)
        }
        .padding()
    }
}
