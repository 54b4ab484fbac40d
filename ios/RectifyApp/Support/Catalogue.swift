import Foundation
import RectifyKit

/// The problem types an inspector can record, grouped under the campaign's key tasks (任务) in the order the
/// core gives them. Chinese labels come first everywhere: they are the campaign's own words.
struct Catalogue: Sendable {
    struct KeyTask: Identifiable, Sendable {
        let code: String
        let zh: String
        let en: String
        let categories: [ProblemCategory]
        var id: String { code }
    }

    let tasks: [KeyTask]
    private let byCode: [String: ProblemCategory]

    init(_ categories: [ProblemCategory]) {
        var order: [String] = []
        var grouped: [String: [ProblemCategory]] = [:]
        for category in categories {
            if grouped[category.taskCode] == nil { order.append(category.taskCode) }
            grouped[category.taskCode, default: []].append(category)
        }
        tasks = order.compactMap { code in
            guard let members = grouped[code], let first = members.first else { return nil }
            return KeyTask(code: code, zh: first.taskZh, en: first.taskEn, categories: members)
        }
        byCode = Dictionary(categories.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func category(_ code: String) -> ProblemCategory? { byCode[code] }

    /// The Chinese name of a problem type; the code itself for a type this app version does not know.
    func title(_ code: String) -> String { byCode[code]?.zh ?? code }

    /// The English name under the Chinese one, for people using the app in English.
    func subtitle(_ code: String) -> String? {
        guard !Catalogue.interfaceIsChinese else { return nil }
        return byCode[code]?.en
    }

    static var interfaceIsChinese: Bool {
        Bundle.main.preferredLocalizations.first?.hasPrefix("zh") == true
    }
}
