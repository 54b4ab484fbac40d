import RectifyKit
import SwiftUI

/// The problem types under their key tasks, Chinese names first (the campaign's own words), with the
/// English name beneath, the deadline the village gets, and the veto items marked.
struct CategoryPickerView: View {
    let catalogue: Catalogue
    let selected: String?
    let onPick: (ProblemCategory) -> Void

    @State private var query = ""
    @Environment(\.dismiss) private var dismiss

    init(catalogue: Catalogue, selected: String?, onPick: @escaping (ProblemCategory) -> Void) {
        self.catalogue = catalogue
        self.selected = selected
        self.onPick = onPick
    }

    private func shown(_ task: Catalogue.KeyTask) -> [ProblemCategory] {
        let text = query.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return task.categories }
        return task.categories.filter {
            $0.zh.localizedCaseInsensitiveContains(text) || $0.en.localizedCaseInsensitiveContains(text)
                || task.zh.localizedCaseInsensitiveContains(text)
        }
    }

    var body: some View {
        NavigationStack {
            List {
                ForEach(catalogue.tasks) { task in
                    let categories = shown(task)
                    if !categories.isEmpty {
                        Section {
                            ForEach(categories, id: \.code) { category in
                                row(category)
                            }
                        } header: {
                            VStack(alignment: .leading, spacing: 2) {
                                Text(task.zh).font(.headline)
                                if !Catalogue.interfaceIsChinese {
                                    Text(task.en).font(.caption)
                                }
                            }
                            .textCase(nil)
                        }
                    }
                }
            }
            .searchable(text: $query, prompt: Text("category.search"))
            .navigationTitle("category.choose")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("common.cancel") { dismiss() }
                }
            }
        }
    }

    private func row(_ category: ProblemCategory) -> some View {
        Button {
            onPick(category)
            dismiss()
        } label: {
            HStack(spacing: 12) {
                VStack(alignment: .leading, spacing: 2) {
                    Text(category.zh).font(.title3)
                    Text(category.en).font(.caption).foregroundStyle(.secondary)
                    deadline(category)
                }
                Spacer()
                if category.veto {
                    Text("category.veto")
                        .font(.caption.weight(.bold))
                        .foregroundStyle(.white)
                        .padding(.horizontal, 8)
                        .padding(.vertical, 2)
                        .background(Capsule().fill(Color.red))
                }
                if category.code == selected {
                    Image(systemName: "checkmark").foregroundStyle(Color.accentColor)
                }
            }
            .frame(minHeight: 60)
            .contentShape(Rectangle())
        }
        .foregroundStyle(.primary)
    }

    @ViewBuilder
    private func deadline(_ category: ProblemCategory) -> some View {
        if category.deadlineDays == 0 {
            Text("category.deadline.sameDay").font(.caption2).foregroundStyle(.secondary)
        } else {
            Text("category.deadline.days \(Int(category.deadlineDays))").font(.caption2).foregroundStyle(.secondary)
        }
    }
}
