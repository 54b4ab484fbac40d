import SwiftUI
import UIKit

/// A photo from the ledger's store (`IssuePhoto.path` or `thumbnailPath`), decoded off the main thread. A
/// photo whose file is not on the phone (not fetched yet, or pruned once the office confirmed it) shows as
/// "photo pending".
struct StoredPhotoView: View {
    let path: String?
    let contentMode: ContentMode

    @State private var image: UIImage?
    @State private var loading = true

    init(path: String?, contentMode: ContentMode = .fit) {
        self.path = path
        self.contentMode = contentMode
    }

    var body: some View {
        ZStack {
            if let image {
                Image(uiImage: image)
                    .resizable()
                    .aspectRatio(contentMode: contentMode)
            } else if loading && path != nil {
                ProgressView()
                    .frame(maxWidth: .infinity, minHeight: 120)
            } else {
                PhotoPendingView()
            }
        }
        .task(id: path) {
            loading = true
            image = await Self.load(path)
            loading = false
        }
    }

    static func load(_ path: String?) async -> UIImage? {
        guard let path else { return nil }
        return await Task.detached(priority: .userInitiated) {
            UIImage(contentsOfFile: path)?.preparingForDisplay()
        }.value
    }
}

struct PhotoPendingView: View {
    var body: some View {
        VStack(spacing: 6) {
            Image(systemName: "photo.badge.arrow.down")
                .font(.largeTitle)
            Text("photo.pending")
                .font(.footnote)
                .multilineTextAlignment(.center)
        }
        .foregroundStyle(.secondary)
        .frame(maxWidth: .infinity, minHeight: 120)
        .background(RoundedRectangle(cornerRadius: 8).fill(Color(.secondarySystemBackground)))
    }
}

/// One photo over the whole screen, for a closer look at the evidence.
struct FullPhotoView: View {
    let path: String?
    @Environment(\.dismiss) private var dismiss
    @State private var scale: CGFloat = 1

    init(path: String?) {
        self.path = path
    }

    var body: some View {
        NavigationStack {
            StoredPhotoView(path: path)
                .scaleEffect(scale)
                .gesture(MagnificationGesture().onChanged { scale = max(1, min($0, 5)) })
                .onTapGesture(count: 2) { scale = scale > 1 ? 1 : 2.5 }
                .frame(maxWidth: .infinity, maxHeight: .infinity)
                .background(Color.black)
                .toolbar {
                    ToolbarItem(placement: .confirmationAction) {
                        Button("common.done") { dismiss() }
                    }
                }
        }
    }
}
