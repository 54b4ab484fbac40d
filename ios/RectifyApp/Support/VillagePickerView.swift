import RectifyKit
import SwiftUI

/// A searchable list of villages (by name, code, town or zone), each row big enough for a gloved finger.
struct VillagePickerView: View {
    let villages: [VillageInfo]
    let selected: String?
    let onPick: (VillageInfo) -> Void

    @State private var query = ""
    @Environment(\.dismiss) private var dismiss

    init(villages: [VillageInfo], selected: String?, onPick: @escaping (VillageInfo) -> Void) {
        self.villages = villages
        self.selected = selected
        self.onPick = onPick
    }

    private var shown: [VillageInfo] {
        let text = query.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return villages }
        return villages.filter { village in
            [village.name, village.code, village.town ?? "", village.zone ?? ""]
                .contains { $0.localizedCaseInsensitiveContains(text) }
        }
    }

    var body: some View {
        NavigationStack {
            List(shown, id: \.code) { village in
                Button {
                    onPick(village)
                    dismiss()
                } label: {
                    HStack {
                        VStack(alignment: .leading, spacing: 2) {
                            Text(village.name).font(.title3)
                            Text(Self.place(of: village)).font(.caption).foregroundStyle(.secondary)
                        }
                        Spacer()
                        if village.weakBase {
                            Text("village.weakBase")
                                .font(.caption)
                                .padding(.horizontal, 6)
                                .background(Capsule().fill(Color.orange.opacity(0.2)))
                        }
                        if village.code == selected {
                            Image(systemName: "checkmark").foregroundStyle(Color.accentColor)
                        }
                    }
                    .frame(minHeight: 60)
                    .contentShape(Rectangle())
                }
                .foregroundStyle(.primary)
            }
            .overlay {
                if villages.isEmpty {
                    Text("village.noneOnPhone")
                        .multilineTextAlignment(.center)
                        .foregroundStyle(.secondary)
                        .padding()
                }
            }
            .searchable(text: $query, prompt: Text("village.search"))
            .navigationTitle("village.choose")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("common.cancel") { dismiss() }
                }
            }
        }
    }

    private static func place(of village: VillageInfo) -> String {
        [village.town, village.zone, village.code].compactMap { $0 }.joined(separator: " · ")
    }
}
