import RectifyKit
import SwiftUI

/// Strike-offs waiting for an acceptor's decision (验收), by village, oldest deadline first. The list is the
/// phone's: new requests arrive with each sync, and decisions made here go to the office the same way.
struct AcceptanceView: View {
    let services: AppServices
    let profile: Profile

    @State private var items: [IssueSummary]?
    @State private var problem: Problem?

    init(services: AppServices, profile: Profile) {
        self.services = services
        self.profile = profile
    }

    private struct VillageGroup: Identifiable {
        let code: String
        let name: String
        let items: [IssueSummary]
        var id: String { code }
    }

    private var groups: [VillageGroup] {
        let byVillage = Dictionary(grouping: items ?? [], by: \.villageCode)
        return byVillage.map { code, members in
            VillageGroup(code: code, name: members.first?.villageName ?? code,
                         items: members.sorted { $0.deadline < $1.deadline })
        }
        .sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
    }

    var body: some View {
        NavigationStack {
            List {
                if let problem {
                    Section { ProblemBanner(problem: problem) }
                } else if let items {
                    if items.isEmpty {
                        Section {
                            Label("acceptance.empty", systemImage: "checkmark.seal")
                                .frame(minHeight: 60)
                            Text("acceptance.empty.hint").font(.footnote).foregroundStyle(.secondary)
                        }
                    }
                    ForEach(groups) { group in
                        Section {
                            ForEach(group.items, id: \.id) { issue in
                                NavigationLink(value: IssueRoute(id: issue.id)) {
                                    IssueRow(issue: issue, catalogue: services.catalogue)
                                }
                                .overdueRowBackground(issue)
                            }
                        } header: {
                            Text(verbatim: "\(group.name) · \(group.items.count)")
                        }
                    }
                } else {
                    ProgressView().frame(maxWidth: .infinity, minHeight: 60)
                }
            }
            .listStyle(.insetGrouped)
            .navigationTitle("acceptance.title")
            .navigationDestination(for: IssueRoute.self) { route in
                IssueDetailView(services: services, profile: profile, issueId: route.id)
            }
        }
        .task {
            do {
                for try await current in services.ledger.awaitingAcceptance() {
                    items = current
                    problem = nil
                }
            } catch {
                problem = Problem(error)
            }
        }
    }
}
