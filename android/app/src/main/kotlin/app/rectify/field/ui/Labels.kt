package app.rectify.field.ui

import androidx.annotation.StringRes
import androidx.compose.runtime.Composable
import androidx.compose.ui.res.stringResource
import app.rectify.core.IssueStatus
import app.rectify.core.Role
import app.rectify.core.SyncPhase
import app.rectify.field.R

@StringRes
fun IssueStatus.labelRes(): Int = when (this) {
    IssueStatus.REPORTED -> R.string.status_reported
    IssueStatus.ASSIGNED -> R.string.status_assigned
    IssueStatus.STRIKE_OFF_REQUESTED -> R.string.status_strike_off_requested
    IssueStatus.REJECTED -> R.string.status_rejected
    IssueStatus.ACCEPTED -> R.string.status_accepted
    IssueStatus.WITHDRAWN -> R.string.status_withdrawn
}

@StringRes
fun Role.labelRes(): Int = when (this) {
    Role.INSPECTOR -> R.string.role_inspector
    Role.SECRETARY -> R.string.role_secretary
    Role.ACCEPTOR -> R.string.role_acceptor
    Role.ADMIN -> R.string.role_admin
}

@StringRes
fun SyncPhase.labelRes(): Int = when (this) {
    SyncPhase.STARTING -> R.string.phase_starting
    SyncPhase.HELLO -> R.string.phase_hello
    SyncPhase.REFERENCE -> R.string.phase_reference
    SyncPhase.PUSH -> R.string.phase_push
    SyncPhase.PHOTOS_UP -> R.string.phase_photos_up
    SyncPhase.PULL -> R.string.phase_pull
    SyncPhase.PHOTOS_DOWN -> R.string.phase_photos_down
    SyncPhase.DONE -> R.string.phase_done
}

/** An event kind of an issue's history; a kind this app does not know yet (from a newer office) shows as is. */
@Composable
fun historyKindLabel(kind: String): String = when (kind) {
    "reported" -> stringResource(R.string.history_reported)
    "photo_attached" -> stringResource(R.string.history_photo_attached)
    "edited" -> stringResource(R.string.history_edited)
    "assigned" -> stringResource(R.string.history_assigned)
    "strike_off_requested" -> stringResource(R.string.history_strike_off_requested)
    "accepted" -> stringResource(R.string.history_accepted)
    "rejected" -> stringResource(R.string.history_rejected)
    "reopened" -> stringResource(R.string.history_reopened)
    "withdrawn" -> stringResource(R.string.history_withdrawn)
    "comment" -> stringResource(R.string.history_comment)
    else -> kind
}

/** A reason to doubt a photo, by the name the core gives it. */
@Composable
fun evidenceFlagLabel(name: String): String = when (name) {
    "no_gps" -> stringResource(R.string.evidence_no_gps)
    "implausible_gps" -> stringResource(R.string.evidence_implausible_gps)
    "no_capture_time" -> stringResource(R.string.evidence_no_capture_time)
    "far_from_issue" -> stringResource(R.string.evidence_far_from_issue)
    "taken_before_report" -> stringResource(R.string.evidence_taken_before_report)
    "reused" -> stringResource(R.string.evidence_reused)
    else -> name
}
