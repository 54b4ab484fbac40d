package app.rectify.field.sync

import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Close
import androidx.compose.material.icons.filled.CloudOff
import androidx.compose.material.icons.filled.Person
import androidx.compose.material.icons.filled.Sync
import androidx.compose.material.icons.filled.VerifiedUser
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.Profile
import app.rectify.core.SyncProgress
import app.rectify.field.R
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.Fact
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.NoticeTone
import app.rectify.field.ui.ScrollingColumn
import app.rectify.field.ui.SectionCard
import app.rectify.field.ui.formatAgo
import app.rectify.field.ui.formatBytes
import app.rectify.field.ui.formatDateTime
import app.rectify.field.ui.formatDuration
import app.rectify.field.ui.labelRes
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.text
import app.rectify.kit.SyncStatus
import java.time.Instant

/**
 * What is still on this phone and how syncing has gone. Sync errors live here and only here: recording
 * never waits for them.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SyncStatusScreen(onEnroll: () -> Unit) {
    val viewModel = rectifyViewModel { runtime, _ -> SyncStatusViewModel(runtime.ledger, runtime.backgroundSync) }
    val status by viewModel.status.collectAsStateWithLifecycle()
    val progress by viewModel.progress.collectAsStateWithLifecycle()
    val run by viewModel.run.collectAsStateWithLifecycle()
    val profile by viewModel.profile.collectAsStateWithLifecycle()

    Scaffold(topBar = { TopAppBar(title = { Text(stringResource(R.string.sync_title)) }) }) { padding ->
        ScrollingColumn(Modifier.padding(padding).fillMaxSize()) {
            val loaded = status as? StatusState.Loaded
            val needsEnrollment = loaded?.status?.needsEnrollment == true ||
                (run as? RunState.GaveUp)?.needsEnrollment == true
            if (needsEnrollment) {
                NoticeCard(
                    icon = Icons.Filled.CloudOff,
                    title = stringResource(R.string.sync_needs_enrollment_title),
                    text = stringResource(R.string.sync_needs_enrollment),
                    tone = NoticeTone.Error,
                ) {
                    BigButton(
                        text = stringResource(R.string.sync_enroll_again),
                        onClick = onEnroll,
                        icon = Icons.Filled.VerifiedUser,
                        modifier = Modifier.fillMaxWidth(),
                    )
                }
            }

            SyncNowCard(
                run = run,
                progress = progress,
                onSync = viewModel::syncNow,
                onCancel = viewModel::cancel,
            )

            when (val current = status) {
                StatusState.Loading -> LinearProgressIndicator(Modifier.fillMaxWidth())
                is StatusState.Failed -> NoticeCard(
                    icon = Icons.Filled.CloudOff,
                    text = current.message.text(),
                    tone = NoticeTone.Error,
                )
                is StatusState.Loaded -> StatusCard(current.status, current.readAt)
            }

            profile?.let { ProfileCard(it) }

            Text(
                stringResource(R.string.sync_offline_note),
                style = MaterialTheme.typography.bodyMedium,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
    }
}

@Composable
private fun SyncNowCard(run: RunState, progress: SyncProgress?, onSync: () -> Unit, onCancel: () -> Unit) {
    SectionCard(title = stringResource(R.string.sync_now_section)) {
        val ours = run == RunState.Running
        if (progress != null) {
            ProgressLines(progress)
        } else if (ours) {
            Text(stringResource(R.string.sync_connecting), style = MaterialTheme.typography.bodyLarge)
            LinearProgressIndicator(Modifier.fillMaxWidth())
        }
        when {
            ours -> BigOutlinedButton(
                text = stringResource(R.string.sync_cancel),
                onClick = onCancel,
                icon = Icons.Filled.Close,
                modifier = Modifier.fillMaxWidth(),
            )
            progress != null -> Text(
                stringResource(R.string.sync_running_in_background),
                style = MaterialTheme.typography.bodyMedium,
            )
            else -> BigButton(
                text = stringResource(R.string.sync_now),
                onClick = onSync,
                icon = Icons.Filled.Sync,
                modifier = Modifier.fillMaxWidth(),
            )
        }
        RunResult(run)
    }
}

@Composable
private fun ProgressLines(progress: SyncProgress) {
    Text(stringResource(progress.phase.labelRes()), style = MaterialTheme.typography.titleMedium)
    LinearProgressIndicator(Modifier.fillMaxWidth())
    Text(
        stringResource(R.string.sync_progress_events, progress.eventsUp.toLong(), progress.eventsDown.toLong()),
        style = MaterialTheme.typography.bodyLarge,
    )
    Text(
        stringResource(R.string.sync_progress_photos, progress.photosUp.toLong(), progress.photosDown.toLong()),
        style = MaterialTheme.typography.bodyLarge,
    )
    Text(
        stringResource(
            R.string.sync_progress_bytes,
            formatBytes(progress.bytesUp.toLong()),
            formatBytes(progress.bytesDown.toLong()),
        ),
        style = MaterialTheme.typography.bodyMedium,
    )
    if (progress.pending > 0u) {
        Text(stringResource(R.string.sync_progress_pending, progress.pending.toLong()), style = MaterialTheme.typography.bodyMedium)
    }
}

@Composable
private fun RunResult(run: RunState) {
    val error = MaterialTheme.colorScheme.error
    when (run) {
        RunState.Idle, RunState.Running -> Unit
        is RunState.Synced -> {
            val summary = run.summary
            Text(
                stringResource(
                    R.string.sync_result_ok,
                    summary.pushed.toLong(),
                    summary.pulled.toLong(),
                    summary.photosUp.toLong(),
                    summary.photosDown.toLong(),
                ),
                style = MaterialTheme.typography.bodyLarge,
            )
            if (summary.refused.isNotEmpty()) {
                Text(
                    stringResource(R.string.sync_result_refused, summary.refused.size),
                    style = MaterialTheme.typography.bodyMedium,
                    color = error,
                )
                summary.refused.forEach { refused ->
                    Text("• ${refused.reason}", style = MaterialTheme.typography.bodySmall, color = error)
                }
            }
            if (summary.pending > 0u) {
                Text(stringResource(R.string.sync_result_pending, summary.pending.toLong()), style = MaterialTheme.typography.bodyMedium)
            }
            summary.photoProblems.forEach { problem ->
                Text("• $problem", style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.tertiary)
            }
        }
        is RunState.RetryLater -> Text(
            stringResource(R.string.sync_result_retry, run.error, formatDuration(run.after)),
            style = MaterialTheme.typography.bodyMedium,
            color = error,
        )
        is RunState.GaveUp -> Text(
            stringResource(R.string.sync_result_gave_up, run.error),
            style = MaterialTheme.typography.bodyMedium,
            color = error,
        )
        RunState.Cancelled -> Text(stringResource(R.string.sync_result_cancelled), style = MaterialTheme.typography.bodyMedium)
        is RunState.Failed -> Text(run.message.text(), style = MaterialTheme.typography.bodyMedium, color = error)
    }
}

@Composable
private fun StatusCard(status: SyncStatus, readAt: Instant) {
    SectionCard(title = stringResource(R.string.sync_waiting_section)) {
        if (status.pendingEvents == 0L && status.unconfirmedPhotoBytes == 0L) {
            Text(stringResource(R.string.sync_all_sent), style = MaterialTheme.typography.titleMedium)
        } else {
            Fact(stringResource(R.string.sync_pending_events), status.pendingEvents.toString())
            status.oldestUnsentAge?.let { Fact(stringResource(R.string.sync_oldest_unsent), formatDuration(it)) }
            Fact(
                stringResource(R.string.sync_photos_waiting),
                formatBytes(status.unconfirmedPhotoBytes),
            )
        }
    }
    SectionCard(title = stringResource(R.string.sync_history_section)) {
        Fact(
            stringResource(R.string.sync_last_success),
            status.lastSuccessAt?.let { stringResource(R.string.sync_when, formatAgo(it, readAt), formatDateTime(it)) }
                ?: stringResource(R.string.sync_never),
        )
        status.lastAttemptAt?.let {
            Fact(stringResource(R.string.sync_last_attempt), stringResource(R.string.sync_when, formatAgo(it, readAt), formatDateTime(it)))
        }
        status.lastError?.let {
            Fact(stringResource(R.string.sync_last_error), it, valueColor = MaterialTheme.colorScheme.error)
        }
        if (status.consecutiveFailures > 0) {
            Fact(
                stringResource(R.string.sync_failures),
                status.consecutiveFailures.toString(),
                valueColor = MaterialTheme.colorScheme.error,
            )
        }
    }
}

@Composable
private fun ProfileCard(profile: Profile) {
    NoticeCard(
        icon = Icons.Filled.Person,
        title = profile.userName,
        text = stringResource(profile.role.labelRes()),
    )
}
