import RectifyKit

/// Where a list row (or a possible duplicate) leads: one issue's detail, in the tab's NavigationStack.
struct IssueRoute: Hashable {
    let id: IssueId
}
