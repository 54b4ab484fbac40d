import RectifyKit
import SwiftUI

/// The negative list of one village: the counts the weekly bulletin prints (found, rectified, awaiting
/// acceptance, remaining, overdue, rate) and the open issues, overdue ones in red. It reads the phone's
/// ledger, so it works without a network; badges say what the office does not have yet.
struct NegativeListView: View {
    let services: AppServices
    let profile: Profile

    @StateObject private var model: NegativeListViewModel
    @AppStorage("lists.villageCode") private var selectedCode = ""
    @State private var choosingVillage = false

    init(services: AppServices, profile: Profile) {
        self.services = services
        self.profile = profile
        _model = StateObject(wrappedValue: NegativeListViewModel(services: services, profile: profile))
    }

    private var selected: VillageInfo? {
        model.villages.first { $0.code == selectedCode } ?? model.villages.first
    }

    var body: some View {
        NavigationStack {
            List {
                Section {
                    Button {
                        choosingVillage = true
                    } label: {
                        HStack {
                            Image(systemName: "house.and.flag")
                            Text(verbatim: selected?.name ?? "")
                                .font(.title3.weight(.semibold))
                            Spacer()
                            Text("lists.changeVillage").font(.subheadline)
                        }
                        .frame(minHeight: 60)
                    }
                    .disabled(model.villages.count < 2)
                }
                content
            }
            .listStyle(.insetGrouped)
            .navigationTitle("lists.title")
            .navigationDestination(for: IssueRoute.self) { route in
                IssueDetailView(services: services, profile: profile, issueId: route.id)
            }
            .refreshable { await model.loadVillages() }
            .sheet(isPresented: $choosingVillage) {
                VillagePickerView(villages: model.villages, selected: selected?.code) { selectedCode = $0.code }
            }
        }
        .task { await model.loadVillages() }
        .task(id: selected?.code) {
            guard let code = selected?.code else { return }
            await model.follow(code)
        }
    }

    @ViewBuilder
    private var content: some View {
        if model.villagesLoaded && model.villages.isEmpty {
            Section {
                Text("lists.noVillages").foregroundStyle(.secondary)
            }
        } else if let problem = model.problem {
            Section { ProblemBanner(problem: problem) }
        } else if let list = model.list {
            Section { ListHeader(list: list) }
            Section {
                if list.items.isEmpty {
                    Label("lists.empty", systemImage: "checkmark.seal")
                        .foregroundStyle(.green)
                        .frame(minHeight: 60)
                }
                ForEach(list.items, id: \.id) { issue in
                    NavigationLink(value: IssueRoute(id: issue.id)) {
                        IssueRow(issue: issue, catalogue: services.catalogue)
                    }
                    .overdueRowBackground(issue)
                }
            } header: {
                Text("lists.items \(list.items.count)")
            }
        } else {
            Section {
                ProgressView().frame(maxWidth: .infinity, minHeight: 60)
            }
        }
    }
}

/// The counts over the list, as the bulletin shows them.
private struct ListHeader: View {
    let list: NegativeList

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            if let place = [list.town, list.zone].compactMap({ $0 }).joined(separator: " · ").nilIfEmpty {
                Text(verbatim: place).font(.subheadline).foregroundStyle(.secondary)
            }
            HStack(alignment: .firstTextBaseline) {
                Text("lists.rate").font(.headline)
                Spacer()
                Text(verbatim: Format.rate(list.rectificationRate))
                    .font(.largeTitle.weight(.bold))
                    .monospacedDigit()
            }
            LazyVGrid(columns: Array(repeating: GridItem(.flexible(), spacing: 8), count: 3), spacing: 8) {
                count("lists.found", list.found)
                count("lists.rectified", list.rectified, tint: .green)
                count("lists.awaiting", list.awaitingAcceptance, tint: .purple)
                count("lists.remaining", list.remaining, tint: .blue)
                count("lists.overdue", list.overdue, tint: list.overdue > 0 ? .red : .secondary)
            }
        }
        .padding(.vertical, 6)
    }

    private func count(_ title: LocalizedStringKey, _ value: UInt32, tint: Color = .primary) -> some View {
        VStack(spacing: 2) {
            Text(verbatim: "\(value)")
                .font(.title2.weight(.bold))
                .monospacedDigit()
                .foregroundStyle(tint)
            Text(title).font(.caption).foregroundStyle(.secondary)
        }
        .frame(maxWidth: .infinity, minHeight: 60)
        .background(RoundedRectangle(cornerRadius: 10).fill(Color(.tertiarySystemFill)))
    }
}

private extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
